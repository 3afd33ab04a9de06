package discovery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cache copies the binary into a private directory named by the hash of
// the bytes it copied, and that copy is what runs: changing the original
// afterwards changes nothing that llmops runs.
func TestCacheRunsTheBytesItHashed(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "bin", BinaryName("null"))
	os.MkdirAll(filepath.Dir(orig), 0o755)
	if err := os.WriteFile(orig, []byte("#!/bin/sh\necho locked\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	want, _ := HashFile(orig)
	b := &Binary{Type: "null", Path: orig, SHA256: "stale"}
	cache := filepath.Join(dir, ".llmops", "providers")
	if err := Cache(b, cache); err != nil {
		t.Fatal(err)
	}
	if b.SHA256 != want || b.Exec != filepath.Join(cache, want, BinaryName("null")) || b.Executable() != b.Exec {
		t.Fatalf("cached %+v, want the copy under %s", b, want)
	}
	for _, p := range []string{cache, filepath.Dir(b.Exec), b.Exec} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", p, fi.Mode().Perm(), err)
		}
	}
	// The original swapped: the copy is untouched, and caching again
	// names the new bytes by their own hash.
	if err := os.WriteFile(orig, []byte("#!/bin/sh\necho swapped\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := HashFile(b.Exec); got != want {
		t.Fatal("the cached copy changed with the original")
	}
	b2 := &Binary{Type: "null", Path: orig}
	if err := Cache(b2, cache); err != nil {
		t.Fatal(err)
	}
	if b2.SHA256 == want || b2.Exec == b.Exec {
		t.Errorf("the swapped binary got the locked one's copy: %+v", b2)
	}
	// A damaged copy is replaced, not trusted.
	os.Chmod(b.Exec, 0o700)
	os.WriteFile(b.Exec, []byte("tampered"), 0o700)
	if err := os.WriteFile(orig, []byte("#!/bin/sh\necho locked\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b3 := &Binary{Type: "null", Path: orig}
	if err := Cache(b3, cache); err != nil {
		t.Fatal(err)
	}
	if got, _ := HashFile(b3.Exec); got != want || b3.SHA256 != want {
		t.Errorf("a tampered cache entry was reused: %s", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cache, ".copy-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary copies left: %v", leftovers)
	}
}

func TestCacheDirAndPrune(t *testing.T) {
	t.Setenv(EnvCacheDir, "")
	if got := CacheDirFor("/cfg"); got != filepath.Join("/cfg", CacheDir) {
		t.Errorf("default cache dir %s", got)
	}
	t.Setenv(EnvCacheDir, "/elsewhere/cache")
	if got := CacheDirFor("/cfg"); got != "/elsewhere/cache" {
		t.Errorf("LLMOPS_PROVIDER_CACHE: %s", got)
	}
	dir := t.TempDir()
	keep, gone := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for _, h := range []string{keep, gone} {
		os.MkdirAll(filepath.Join(dir, h), 0o700)
	}
	PruneCache(dir, map[string]bool{keep: true})
	if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
		t.Error("the locked binary's copy was removed")
	}
	if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
		t.Error("a copy no longer locked was kept")
	}
}

// A copy that is there under the hash Find computed is used as is (no copy
// each time llmops starts), but only while it still hashes to it.
func TestCacheReusesAnIntactCopy(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, BinaryName("null"))
	os.WriteFile(orig, []byte("#!/bin/sh\necho v1\n"), 0o755)
	sum, _ := HashFile(orig)
	cache := filepath.Join(dir, "cache")
	b := &Binary{Type: "null", Path: orig, SHA256: sum}
	if err := Cache(b, cache); err != nil {
		t.Fatal(err)
	}
	fi1, _ := os.Stat(b.Exec)
	b2 := &Binary{Type: "null", Path: orig, SHA256: sum}
	if err := Cache(b2, cache); err != nil || b2.Exec != b.Exec {
		t.Fatalf("%+v %v", b2, err)
	}
	fi2, _ := os.Stat(b2.Exec)
	if !os.SameFile(fi1, fi2) {
		t.Error("an intact copy was copied again")
	}
	os.WriteFile(b.Exec, []byte("tampered"), 0o700)
	b3 := &Binary{Type: "null", Path: orig, SHA256: sum}
	if err := Cache(b3, cache); err != nil {
		t.Fatal(err)
	}
	if got, _ := HashFile(b3.Exec); got != sum {
		t.Error("a tampered copy was used")
	}
}
