package artifacts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

// makeDataset writes n files of size bytes each, then waits until they are
// old enough to be cached (files changed within the last second are not).
func makeDataset(t testing.TB, n, size int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("shard-%03d", i%100), fmt.Sprintf("part-%05d.jsonl", i))
		write(t, p, strings.Repeat(string(rune('a'+i%26)), size-8)+fmt.Sprintf("%08d", i), 0o644)
	}
	time.Sleep(1100 * time.Millisecond)
	return dir
}

func TestUnchangedTreeIsNotRead(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 files")
	}
	dir := makeDataset(t, 10000, 1024)
	root := filepath.Join(t.TempDir(), "store")
	s, err := artifacts.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Digest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.Files != 10000 || first.BytesRead != 10000*1024 {
		t.Fatalf("first digest: %+v", first)
	}
	start := time.Now()
	second, err := s.Digest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || second.BytesRead != 0 {
		t.Fatalf("second digest read %d bytes (want 0): %+v", second.BytesRead, second)
	}
	t.Logf("cached re-hash of 10,000 files: %s", time.Since(start))

	// The cache is persisted: a new process (a new Store) reads nothing.
	s2, err := artifacts.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	third, err := s2.Digest(dir)
	if err != nil || third.ID != first.ID || third.BytesRead != 0 {
		t.Fatalf("after reopening: %+v, %v", third, err)
	}

	// One byte changed, same size, mtime put back: found (ctime/inode), and
	// only that file is read again.
	p := filepath.Join(dir, "shard-007", "part-00007.jsonl")
	fi, _ := os.Stat(p)
	data, _ := os.ReadFile(p)
	data[0] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(p, fi.ModTime(), fi.ModTime())
	fourth, err := s2.Digest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fourth.ID == first.ID || fourth.BytesRead != 1024 {
		t.Fatalf("after a one-byte edit: %+v (want a new id and 1024 bytes read)", fourth)
	}
	// Replaced by a new file (new inode) with the same size and mtime: found too.
	q := filepath.Join(dir, "shard-008", "part-00008.jsonl")
	fi, _ = os.Stat(q)
	data, _ = os.ReadFile(q)
	data[1] ^= 1
	_ = os.Remove(q)
	write(t, q, string(data), 0o644)
	_ = os.Chtimes(q, fi.ModTime(), fi.ModTime())
	fifth, err := s2.Digest(dir)
	if err != nil || fifth.ID == fourth.ID {
		t.Fatalf("a replaced file went unnoticed: %+v %v", fifth, err)
	}
}

func TestRecentlyChangedFilesAreNotCached(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data.jsonl")
	write(t, p, "one\n", 0o644)
	c := artifacts.OpenCache(filepath.Join(dir, "cache"))
	d1, err := artifacts.HashPath(p, artifacts.HashOptions{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 {
		t.Fatalf("a file written just now was cached")
	}
	write(t, p, "two\n", 0o644) // same size, possibly the same timestamp tick
	d2, _ := artifacts.HashPath(p, artifacts.HashOptions{Cache: c})
	if d1.ID == d2.ID {
		t.Fatalf("a change within the same second was missed")
	}
}

func TestCacheFileIsRobust(t *testing.T) {
	dir := t.TempDir()
	cp := filepath.Join(dir, "digests.v1")
	for _, junk := range []string{"", "garbage", "llmops-digest-cache-v1\nnot a line\n" + strings.Repeat("f", 64) + " 1 2 x 4 5 6 /p\n"} {
		if err := os.WriteFile(cp, []byte(junk), 0o644); err != nil {
			t.Fatal(err)
		}
		if c := artifacts.OpenCache(cp); c.Len() != 0 {
			t.Fatalf("junk %q gave %d entries", junk, c.Len())
		}
	}
}
