package artifacts_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

func write(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestFileDigestIsSha256sum(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "hello\n", 0o644)
	d, err := artifacts.HashPath(p, artifacts.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != artifacts.ID("sha256:"+sum("hello\n")) || d.Dir || d.Size != 6 || d.Files != 1 || d.BytesRead != 6 {
		t.Fatalf("got %+v", d)
	}
	if out, err := exec.Command("sha256sum", p).Output(); err == nil && !strings.HasPrefix(string(out), d.ID.Hex()) {
		t.Fatalf("sha256sum says %s, we say %s", out, d.ID)
	}
}

func TestTreeDigestFormat(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b", "x.bin"), "x", 0o644)
	write(t, filepath.Join(dir, "a.sh"), "#!/bin/sh\n", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	listing := "llmops-tree-v1\n" +
		"755 " + sum("#!/bin/sh\n") + " \"a.sh\"\n" +
		"644 " + sum("x") + " \"b/x.bin\"\n"
	d, err := artifacts.HashPath(dir, artifacts.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := artifacts.ID("sha256:" + sum(listing)); d.ID != want || !d.Dir || d.Files != 2 || d.Size != 11 {
		t.Fatalf("got %+v, want id %s (the documented listing format)", d, want)
	}
}

func TestTreeDigestSensitivity(t *testing.T) {
	base := func(t *testing.T) string {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "config.json"), `{"a":1}`, 0o644)
		write(t, filepath.Join(dir, "w", "model.bin"), "weights", 0o644)
		return dir
	}
	ref, err := artifacts.HashPath(base(t), artifacts.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(t *testing.T, dir string)
		same   bool
	}{
		{"nothing", func(*testing.T, string) {}, true},
		{"timestamps", func(t *testing.T, dir string) {
			_ = os.Chtimes(filepath.Join(dir, "config.json"), time.Unix(1, 0), time.Unix(1, 0))
		}, true},
		{"write bits", func(t *testing.T, dir string) { _ = os.Chmod(filepath.Join(dir, "config.json"), 0o444) }, true},
		{"empty directory", func(t *testing.T, dir string) { _ = os.Mkdir(filepath.Join(dir, "e"), 0o755) }, true},
		{"one byte", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "w", "model.bin"), "weightS", 0o644) }, false},
		{"rename", func(t *testing.T, dir string) {
			_ = os.Rename(filepath.Join(dir, "w", "model.bin"), filepath.Join(dir, "w", "model2.bin"))
		}, false},
		{"execute bit", func(t *testing.T, dir string) { _ = os.Chmod(filepath.Join(dir, "config.json"), 0o744) }, false},
		{"new file", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "extra"), "", 0o644) }, false},
		{"moved between dirs", func(t *testing.T, dir string) {
			_ = os.Rename(filepath.Join(dir, "config.json"), filepath.Join(dir, "w", "config.json"))
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := base(t)
			c.change(t, dir)
			d, err := artifacts.HashPath(dir, artifacts.HashOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if (d.ID == ref.ID) != c.same {
				t.Fatalf("same digest = %v, want %v", d.ID == ref.ID, c.same)
			}
		})
	}
}

func TestSymlinksAreFollowed(t *testing.T) {
	plain := t.TempDir()
	write(t, filepath.Join(plain, "model.bin"), "w", 0o644)
	write(t, filepath.Join(plain, "sub", "c.json"), "{}", 0o644)

	// A Hugging Face style snapshot: files are links to blobs elsewhere.
	root := t.TempDir()
	write(t, filepath.Join(root, "blobs", "b1"), "w", 0o644)
	write(t, filepath.Join(root, "blobs", "b2"), "{}", 0o644)
	snap := filepath.Join(root, "snap")
	_ = os.MkdirAll(filepath.Join(snap, "sub"), 0o755)
	_ = os.Symlink("../blobs/b1", filepath.Join(snap, "model.bin"))
	_ = os.Symlink("../../blobs/b2", filepath.Join(snap, "sub", "c.json"))
	a, err := artifacts.HashPath(plain, artifacts.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := artifacts.HashPath(snap, artifacts.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Fatalf("a linked snapshot must hash like a copy: %s vs %s", a.ID, b.ID)
	}
	// CheckLink can refuse links.
	_, err = artifacts.HashPath(snap, artifacts.HashOptions{CheckLink: func(link, target string) error {
		return fmt.Errorf("link %s escapes", link)
	}})
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("CheckLink not applied: %v", err)
	}
	// Loops are errors, not hangs.
	loop := t.TempDir()
	_ = os.Symlink(".", filepath.Join(loop, "self"))
	if _, err := artifacts.HashPath(loop, artifacts.HashOptions{}); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("want a loop error, got %v", err)
	}
	// Broken links and special files are refused.
	broken := t.TempDir()
	_ = os.Symlink("nowhere", filepath.Join(broken, "x"))
	if _, err := artifacts.HashPath(broken, artifacts.HashOptions{}); err == nil {
		t.Fatalf("a broken link must be an error")
	}
	fifo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, "p"), 0o644); err == nil {
		if _, err := artifacts.HashPath(fifo, artifacts.HashOptions{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("a fifo must be refused, got %v", err)
		}
	}
}

func TestPutCopyLinkMove(t *testing.T) {
	s, err := artifacts.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	write(t, filepath.Join(src, "m", "model.bin"), "weights", 0o644)
	write(t, filepath.Join(src, "m", "run.sh"), "#!/bin/sh", 0o755)
	info, err := s.Put(filepath.Join(src, "m"), artifacts.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := artifacts.HashPath(filepath.Join(src, "m"), artifacts.HashOptions{})
	if info.ID != want.ID || !info.Dir || info.Files != 2 || info.Size != 16 || info.Path != s.Path(info.ID) || !s.Has(info.ID) {
		t.Fatalf("Put = %+v, want id %s", info, want.ID)
	}
	if err := s.Verify(info.ID); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(info.Path, "model.bin"))
	if err != nil || fi.Mode().Perm()&0o222 != 0 {
		t.Fatalf("stored files must be read-only: %v %v", fi.Mode(), err)
	}
	if fi, _ := os.Stat(filepath.Join(info.Path, "run.sh")); fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("execute bits must be kept: %v", fi.Mode())
	}
	// The source is untouched and can change without changing the artifact.
	write(t, filepath.Join(src, "m", "model.bin"), "changed", 0o644)
	if err := s.Verify(info.ID); err != nil {
		t.Fatalf("editing the source changed the stored artifact: %v", err)
	}
	// Putting the same content again stores nothing new.
	write(t, filepath.Join(src, "m", "model.bin"), "weights", 0o644)
	before, _ := os.Stat(info.Path)
	again, err := s.Put(filepath.Join(src, "m"), artifacts.PutOptions{})
	if err != nil || again.ID != info.ID {
		t.Fatalf("second Put = %+v, %v", again, err)
	}
	if after, _ := os.Stat(info.Path); !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("the object was rewritten")
	}

	// Move: the source is consumed.
	out := filepath.Join(t.TempDir(), "out")
	write(t, filepath.Join(out, "model.bin"), "trained", 0o644)
	moved, err := s.Put(out, artifacts.PutOptions{Mode: artifacts.Move})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("Move left the source: %v", err)
	}
	if err := s.Verify(moved.ID); err != nil {
		t.Fatal(err)
	}

	// Link: the stored file shares the source's inode.
	blob := filepath.Join(t.TempDir(), "blob")
	write(t, blob, "immutable blob", 0o444)
	linked, err := s.Put(blob, artifacts.PutOptions{Mode: artifacts.Link})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(blob)
	b, _ := os.Stat(linked.Path)
	if !os.SameFile(a, b) {
		t.Fatalf("Link mode copied instead of linking")
	}
	if linked.ID != artifacts.ID("sha256:"+sum("immutable blob")) {
		t.Fatalf("linked id %s", linked.ID)
	}
	// Link through symbolic links (a hub snapshot): the files, not the
	// links, are linked, so nothing dangles in the store.
	snap := filepath.Join(t.TempDir(), "snap")
	_ = os.MkdirAll(snap, 0o755)
	write(t, filepath.Join(filepath.Dir(snap), "blobs", "b"), "blob in a hub cache", 0o444)
	_ = os.Symlink("../blobs/b", filepath.Join(snap, "model.safetensors"))
	ls, err := s.Put(snap, artifacts.PutOptions{Mode: artifacts.Link})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(ls.Path, "model.safetensors")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("stored a link instead of the file: %v %v", fi, err)
	}

	// PutBytes, List, Remove.
	pb, err := s.PutBytes([]byte("prompt {{x}}"))
	if err != nil || pb.ID != artifacts.ID("sha256:"+sum("prompt {{x}}")) {
		t.Fatalf("PutBytes = %+v, %v", pb, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 5 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].ID >= list[i].ID {
			t.Fatalf("List not sorted")
		}
	}
	if err := s.Remove(info.ID); err != nil {
		t.Fatal(err)
	}
	if s.Has(info.ID) {
		t.Fatalf("Remove left the artifact")
	}
	if _, err := s.Resolve(string(info.ID)); err == nil || !strings.Contains(err.Error(), "not in the artifact store") {
		t.Fatalf("Resolve of a removed artifact: %v", err)
	}
	if _, err := s.Resolve("sha256:nope"); err == nil {
		t.Fatalf("Resolve accepted a bad id")
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(ents) != 0 {
		t.Fatalf("staging left behind: %v", ents)
	}
}

func TestConcurrentPutsOfTheSameContent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	src := t.TempDir()
	for i := 0; i < 20; i++ {
		write(t, filepath.Join(src, "f"+strconv.Itoa(i)), strings.Repeat("x", i*1000), 0o644)
	}
	var wg sync.WaitGroup
	ids := make([]artifacts.ID, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := artifacts.Open(root) // separate Store values, as separate processes would have
			if err != nil {
				errs[i] = err
				return
			}
			info, err := s.Put(src, artifacts.PutOptions{})
			ids[i], errs[i] = info.ID, err
		}(i)
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("put %d: %s %v", i, ids[i], errs[i])
		}
	}
	s, _ := artifacts.Open(root)
	if err := s.Verify(ids[0]); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Fatalf("staging left behind: %v", ents)
	}
}

func TestParseID(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	if id, err := artifacts.ParseID(good); err != nil || id.Hex() != strings.Repeat("ab", 32) || id.Short() != "abababababab" {
		t.Fatalf("ParseID(%q) = %q, %v", good, id, err)
	}
	for _, bad := range []string{"", "sha256:", "md5:" + strings.Repeat("ab", 32), good + "a", strings.ToUpper(good), "sha256:" + strings.Repeat("zz", 32)} {
		if _, err := artifacts.ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}
