package main

import (
	"flag"
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
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".llmops.hcl") || strings.HasSuffix(e.Name(), ".llmops.vars") {
					b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
					files[e.Name()] = string(b)
				}
			}
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
