package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// mdRef matches a cited document: a path ending in .md, not part of a URL.
var mdRef = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./:-])((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-]+\.md)\b`)

func repoRoot(t *testing.T) string {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s", self)
	}
	return root
}

// Every .md a file cites is a file of the repository: relative to the
// citing file, to the repository root, or (for links between documents)
// to docs/. Eight files cited a design document kept outside the
// repository.
func TestCitedDocumentsExist(t *testing.T) {
	root := repoRoot(t)
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "node_modules", "proto":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".hcl", ".sh", ".txt":
		default:
			if d.Name() != "Makefile" {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range mdRef.FindAllStringSubmatch(line, -1) {
				ref := m[1]
				checked++
				if !exists(root, filepath.Dir(p), ref) {
					t.Errorf("%s:%d cites %s, which is not in the repository", rel, i+1, ref)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d citations found: the scan is broken", checked)
	}
}

func exists(root, dir, ref string) bool {
	for _, base := range []string{dir, root, filepath.Join(root, "docs")} {
		if _, err := os.Stat(filepath.Join(base, ref)); err == nil {
			return true
		}
	}
	return false
}
