package discovery

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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

// CacheLocked checks a cached copy under the locked hash in one pass, and
// records the check so that the next run reads neither file; any write to
// the binary or the copy (same size included) voids the record, and what
// runs is still the locked bytes or a binary that fails the lock check.
func TestCacheLockedRecordsAndRevalidates(t *testing.T) {
	old := settleTime
	settleTime = 0 // files written by the test count as settled at once
	t.Cleanup(func() { settleTime = old })
	dir := t.TempDir()
	orig := filepath.Join(dir, "bin", BinaryName("null"))
	os.MkdirAll(filepath.Dir(orig), 0o755)
	locked := "#!/bin/sh\necho locked\n"
	if err := os.WriteFile(orig, []byte(locked), 0o755); err != nil {
		t.Fatal(err)
	}
	want, _ := HashFile(orig)
	cache := filepath.Join(dir, ".llmops", "providers")
	cacheLocked := func() *Binary {
		t.Helper()
		b := &Binary{Type: "null", Path: orig}
		if err := CacheLocked(b, cache, "sha256:"+want); err != nil {
			t.Fatal(err)
		}
		return b
	}
	record := filepath.Join(cache, want, verifiedName)

	// First run: no copy yet, so Cache copies; no record.
	b := cacheLocked()
	if b.SHA256 != want || b.Exec != filepath.Join(cache, want, BinaryName("null")) {
		t.Fatalf("first run: %+v", b)
	}
	// Second run: the one-pass check, and a record of it.
	if b = cacheLocked(); b.SHA256 != want {
		t.Fatalf("second run: %+v", b)
	}
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("no record after a full check: %v", err)
	}
	if !isVerified(orig, b.Exec) {
		t.Fatal("the record does not vouch for the files it was made for")
	}
	// Third run: the record vouches.
	if b = cacheLocked(); b.SHA256 != want || b.Exec == "" {
		t.Fatalf("third run: %+v", b)
	}

	// The binary rebuilt with other bytes of the same size: the record no
	// longer applies and the binary is hashed as it is, so the caller's
	// lock check fails.
	rewrite(t, orig, strings.Replace(locked, "locked", "LOCKED", 1))
	if isVerified(orig, filepath.Join(cache, want, BinaryName("null"))) {
		t.Fatal("a rewritten binary is still vouched for")
	}
	if b = cacheLocked(); b.SHA256 == want || b.Exec == filepath.Join(cache, want, BinaryName("null")) {
		t.Fatalf("a changed binary passed as the locked one: %+v", b)
	}

	// The binary restored, the record rebuilt, then the copy tampered
	// with (same size): the copy is checked again and replaced.
	if err := os.WriteFile(orig, []byte(locked), 0o755); err != nil {
		t.Fatal(err)
	}
	cacheLocked()
	if b = cacheLocked(); !isVerified(orig, b.Exec) {
		t.Fatal("no record after restoring the binary")
	}
	rewrite(t, b.Exec, strings.Replace(locked, "locked", "evil!!", 1))
	b = cacheLocked()
	if got, _ := HashFile(b.Exec); got != want || b.SHA256 != want {
		t.Fatalf("a tampered copy ran: hash %s, %+v", got, b)
	}
}

// rewrite writes content over path in place until the file's identity
// (statID) differs from before: two writes in one tick of the file
// system's clock can leave the times as they were, which is why records
// are only made for files older than settleTime.
func rewrite(t *testing.T, path, content string) {
	t.Helper()
	before, _ := statID(path)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := os.WriteFile(path, []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
		if now, _ := statID(path); now != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change time of %s did not move in 10 s of rewriting it", path)
		}
		runtime.Gosched()
	}
}
