package slurm

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

// listingEntry is one file of a job's collected tree, as the batch script
// hashed it: "<mode> <sha256 hex> <slash-separated relative path>".
type listingEntry struct {
	mode string // "644" or "755"
	hex  string
	rel  string
}

// readListing reads the NUL-separated listing a batch script wrote.
func readListing(path string) ([]listingEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []listingEntry
	for _, rec := range bytes.Split(data, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		parts := strings.SplitN(string(rec), " ", 3)
		if len(parts) != 3 || (parts[0] != "644" && parts[0] != "755") || len(parts[1]) != 64 || parts[2] == "" {
			return nil, fmt.Errorf("%s: malformed entry %q", path, clip(string(rec), 100))
		}
		if _, err := artifacts.ParseID(artifacts.Prefix + parts[1]); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, listingEntry{mode: parts[0], hex: parts[1], rel: parts[2]})
	}
	return out, nil
}

// treeIDFromListing computes the artifact store's digest of a tree from
// the digests of its files (artifacts package doc: "llmops-tree-v1\n" then
// one "<mode> <hex> <Go-quoted path>\n" per file, sorted by path), without
// reading the files.
func treeIDFromListing(entries []listingEntry) artifacts.ID {
	sorted := append([]listingEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].rel < sorted[j].rel })
	h := sha256.New()
	h.Write([]byte("llmops-tree-v1\n"))
	for _, e := range sorted {
		h.Write([]byte(e.mode + " " + e.hex + " " + strconv.Quote(e.rel) + "\n"))
	}
	return artifacts.IDFromSum(h.Sum(nil))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
