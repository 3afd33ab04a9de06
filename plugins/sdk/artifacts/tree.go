package artifacts

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// TreeHeader starts the canonical listing of a directory artifact.
const TreeHeader = "llmops-tree-v1\n"

// TreeFile is one file of a directory artifact as its listing names it.
type TreeFile struct {
	// Path is slash-separated, relative to the tree.
	Path string
	// ID is the file's own id (the sha256 of its bytes).
	ID ID
	// Exec is true for mode 755 (false: 644).
	Exec bool
}

// listing writes the canonical listing of entries (sorted by rel).
func listing(w io.Writer, entries []*entry) {
	_, _ = io.WriteString(w, TreeHeader)
	var line []byte
	for _, e := range entries {
		line = line[:0]
		if e.st.mode&0o111 != 0 {
			line = append(line, "755 "...)
		} else {
			line = append(line, "644 "...)
		}
		line = append(line, e.hex...)
		line = append(line, ' ')
		line = strconv.AppendQuote(line, e.rel)
		line = append(line, '\n')
		_, _ = w.Write(line)
	}
}

// treeID hashes the canonical listing of entries (sorted by rel).
func treeID(entries []*entry) ID {
	h := sha256.New()
	listing(h, entries)
	return IDFromSum(h.Sum(nil))
}

// Listing returns the canonical listing of the stored directory artifact
// id (the bytes whose sha256 is id) and its files. File digests come from
// the digest cache where it knows them.
func (s *Store) Listing(id ID) ([]byte, []TreeFile, error) {
	p := s.Path(id)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("artifact %s is a file, not a directory", id)
	}
	entries, err := walk(p, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := hashEntries(entries, HashOptions{Cache: s.cache}); err != nil {
		return nil, nil, err
	}
	_ = s.cache.Save()
	var b bytes.Buffer
	listing(&b, entries)
	sum := sha256.Sum256(b.Bytes())
	if got := IDFromSum(sum[:]); got != id {
		return nil, nil, fmt.Errorf("artifact %s is corrupt: its content hashes to %s (llmops artifacts verify %s)", id, got, id)
	}
	files := make([]TreeFile, len(entries))
	for i, e := range entries {
		files[i] = TreeFile{Path: e.rel, ID: ID(Prefix + e.hex), Exec: e.st.mode&0o111 != 0}
	}
	return b.Bytes(), files, nil
}

// ParseListing reads a canonical tree listing, refusing anything that is
// not one: a wrong header, a malformed line, paths out of order, repeated,
// absolute or climbing out of the tree (a listing from a remote store is
// not trusted).
func ParseListing(b []byte) ([]TreeFile, error) {
	rest, ok := bytes.CutPrefix(b, []byte(TreeHeader))
	if !ok {
		return nil, fmt.Errorf("not a tree listing: it does not start with %q", strings.TrimSpace(TreeHeader))
	}
	var out []TreeFile
	for n := 2; len(rest) > 0; n++ {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, fmt.Errorf("tree listing line %d: no final newline", n)
		}
		line := string(rest[:i])
		rest = rest[i+1:]
		mode, line, ok1 := strings.Cut(line, " ")
		hex, quoted, ok2 := strings.Cut(line, " ")
		if !ok1 || !ok2 || (mode != "644" && mode != "755") {
			return nil, fmt.Errorf("tree listing line %d: want <644|755> <sha256> <quoted path>", n)
		}
		id, err := ParseID(Prefix + hex)
		if err != nil {
			return nil, fmt.Errorf("tree listing line %d: %v", n, err)
		}
		p, err := strconv.Unquote(quoted)
		if err != nil || strconv.Quote(p) != quoted {
			return nil, fmt.Errorf("tree listing line %d: the path is not quoted canonically", n)
		}
		if !validRel(p) {
			return nil, fmt.Errorf("tree listing line %d: %q is not a relative path inside the tree", n, p)
		}
		if len(out) > 0 && out[len(out)-1].Path >= p {
			return nil, fmt.Errorf("tree listing line %d: %q is out of order or repeated", n, p)
		}
		out = append(out, TreeFile{Path: p, ID: id, Exec: mode == "755"})
	}
	return out, nil
}

// validRel reports whether p is a clean slash-separated relative path.
func validRel(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}
