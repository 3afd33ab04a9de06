package artifacts

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Import brings a model in without a second copy: on one filesystem the
// stored files share the source's inodes (a reflink or a hard link), both
// read-only, and the stored tree has the source's digest.
func TestImportWithoutSecondCopy(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "model")
	os.MkdirAll(filepath.Join(src, "shards"), 0o755)
	for name, content := range map[string]string{"config.json": "{}", "shards/0.bin": "weights 0", "shards/1.bin": "weights 1"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Does this filesystem clone (btrfs, XFS)? Then the files are reflinks,
	// with inodes of their own; else hard links.
	probe := filepath.Join(root, "probe")
	os.WriteFile(probe, []byte("x"), 0o644)
	reflinks := cloneFile(probe, probe+".clone") == nil
	s, err := Open(filepath.Join(root, "store"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := HashPath(src, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(src, PutOptions{Mode: Import})
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != want.ID {
		t.Fatalf("imported as %s, the source hashes to %s", info.ID, want.ID)
	}
	for _, name := range []string{"config.json", "shards/0.bin", "shards/1.bin"} {
		a, _ := os.Stat(filepath.Join(src, name))
		b, _ := os.Stat(filepath.Join(info.Path, name))
		sa, sb := a.Sys().(*syscall.Stat_t), b.Sys().(*syscall.Stat_t)
		if !reflinks && sa.Ino != sb.Ino {
			t.Errorf("%s was copied: without reflinks (ext4) it must be a hard link", name)
		}
		if b.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable in the store: %v", name, b.Mode())
		}
	}
	if err := s.Verify(info.ID); err != nil {
		t.Fatal(err)
	}
	// Importing again stores nothing new.
	again, err := s.Put(src, PutOptions{Mode: Import})
	if err != nil || again.ID != info.ID {
		t.Fatalf("second import: %v %v", again.ID, err)
	}
}
