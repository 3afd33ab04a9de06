package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files: expected.txt of testdata/diagnostics, plan.txt of testdata/plans")

// TestDiagnostics runs each scenario of testdata/diagnostics through the
// CLI (`llmops validate`, or the command in its `cmd` file) and compares
// what it prints on stderr with expected.txt beside the input.
func TestDiagnostics(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/diagnostics/*")
	if len(dirs) == 0 {
		t.Fatal("no scenarios found")
	}
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
				if err == nil && !e.IsDir() && (strings.HasSuffix(e.Name(), ".llmops.hcl") || strings.HasSuffix(e.Name(), ".llmops.vars")) {
					b, _ := os.ReadFile(p)
					rel, _ := filepath.Rel(dir, p)
					files[rel] = string(b)
				}
				return nil
			})
			w := newWorkspace(t, files)
			args := []string{"validate"}
			if b, err := os.ReadFile(filepath.Join(dir, "cmd")); err == nil {
				args = strings.Fields(string(b))
			}
			args = append(args[:1], append([]string{"-no-color"}, args[1:]...)...)
			init := w.run("init", "-no-color")
			r := init
			if init.code == 0 {
				r = w.run(args...)
			}
			if r.code != 1 {
				t.Fatalf("want exit 1 (an error)\n%s", r)
			}
			got := r.stderr
			expPath := filepath.Join(dir, "expected.txt")
			if *update {
				os.WriteFile(expPath, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatalf("no expected.txt (run go test -run TestDiagnostics -update): %v", err)
			}
			if got != string(want) {
				t.Fatalf("diagnostics differ\n--- want\n%s\n--- got\n%s", want, got)
			}
		})
	}
}

// The same errors print the same way on every run, sorted by file, line
// and column. The engine finds them in parallel, in an order that varies:
// before the CLI sorted them, five runs of this configuration printed
// three or four different orders.
func TestDiagnosticsSameOnEveryRun(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"a", "b"} {
		var b strings.Builder
		for i := 0; i < 12; i++ {
			fmt.Fprintf(&b, "resource \"null_value\" \"%s%d\" {\n  input = 1\n  bogus = 2\n}\n", f, i)
		}
		files[f+".llmops.hcl"] = b.String()
	}
	w := newWorkspace(t, files)
	w.must(0, "init")
	var first string
	for i := 0; i < 4; i++ {
		r := w.must(1, "validate", "-no-color")
		if i == 0 {
			first = r.stderr
			continue
		}
		if r.stderr != first {
			t.Fatalf("run %d printed the diagnostics differently:\n--- first\n%s\n--- now\n%s", i+1, first, r.stderr)
		}
	}
	var locs []string
	for _, line := range strings.Split(first, "\n") {
		if strings.HasPrefix(line, "  on ") {
			locs = append(locs, line)
		}
	}
	if len(locs) != 24 {
		t.Fatalf("want 24 located diagnostics, got %d:\n%s", len(locs), first)
	}
	for i, l := range locs {
		file := "a"
		if i >= 12 {
			file = "b"
		}
		if want := fmt.Sprintf("  on %s.llmops.hcl:%d:3:", file, 3+4*(i%12)); l != want {
			t.Fatalf("diagnostic %d is %q, want %q (sorted by file, line, column):\n%s", i, l, want, first)
		}
	}
}
