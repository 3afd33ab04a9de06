package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// `make build` in two copies of the source at different paths gives
// byte-identical binaries (docs/security.md: a committed lock file then
// matches a teammate's build of the same commit).
func TestReproducibleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary twice; run without -short")
	}
	for _, tool := range []string{"git", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	files, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	tmp := t.TempDir()
	sums := map[string][]string{}
	for _, clone := range []string{filepath.Join(tmp, "a"), filepath.Join(tmp, "another", "deeper", "clone")} {
		for _, f := range strings.Split(strings.TrimSpace(string(files)), "\n") {
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				continue // deleted in the work tree
			}
			fi, _ := os.Stat(filepath.Join(root, f))
			p := filepath.Join(clone, f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, b, fi.Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("make", "build")
		cmd.Dir = clone
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make build in %s: %v\n%s", clone, err, out)
		}
		bins, _ := filepath.Glob(filepath.Join(clone, "bin", "*"))
		if len(bins) < 4 {
			t.Fatalf("make build made %v", bins)
		}
		for _, b := range bins {
			data, _ := os.ReadFile(b)
			sum := sha256.Sum256(data)
			sums[filepath.Base(b)] = append(sums[filepath.Base(b)], hex.EncodeToString(sum[:]))
		}
	}
	for name, s := range sums {
		if len(s) != 2 || s[0] != s[1] {
			t.Errorf("%s differs between two builds of the same source: %v", name, s)
		}
	}
}
