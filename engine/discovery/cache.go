package discovery

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CacheDir is where a configuration's provider binaries are copied, each
// under the hash of its contents, to be run from there (see Cache), unless
// $LLMOPS_PROVIDER_CACHE names another directory (CacheDirFor).
const CacheDir = ".llmops/providers"

// EnvCacheDir names the provider cache directory instead of CacheDir, for a
// configuration whose .llmops lives on a small filesystem.
const EnvCacheDir = "LLMOPS_PROVIDER_CACHE"

// CacheDirFor is the provider cache of the configuration in configDir.
func CacheDirFor(configDir string) string {
	if d := os.Getenv(EnvCacheDir); d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join(configDir, d)
		}
		return d
	}
	return filepath.Join(configDir, CacheDir)
}

// PruneCache removes the cached binaries whose hash keep does not hold
// (those of providers no longer locked, after an upgrade). A process that
// runs one keeps running: only its file goes.
func PruneCache(dir string, keep map[string]bool) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 64 && !keep[e.Name()] {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// CacheLocked is Cache for a binary the lock file says hashes to locked.
// When the cache holds a copy under that hash, one pass over both files
// hashes the copy and compares the binary with it byte for byte; if the
// copy hashes to locked and the binary is the same bytes, the copy is
// used (what runs is still bytes whose hash was checked, and the binary is
// known to be the locked one, at the price of one hash instead of two),
// and a record of the check lets later runs skip it while neither file
// changed (verified.go). Otherwise it is Cache: b's bytes are hashed as
// they are copied, and the caller's check against the lock file reports a
// changed binary.
func CacheLocked(b *Binary, dir, locked string) error {
	locked = hexDigest(locked)
	if len(locked) == 64 {
		exe := filepath.Join(dir, locked, filepath.Base(b.Path))
		if isVerified(b.Path, exe) {
			b.SHA256, b.Exec = locked, exe
			return nil
		}
		forgetVerified(exe)
		if ok, err := sameAndHashes(b.Path, exe, locked); err == nil && ok {
			recordVerified(b.Path, exe)
			b.SHA256, b.Exec = locked, exe
			return nil
		}
	}
	return Cache(b, dir)
}

// sameAndHashes reports whether the file at path has the same bytes as
// the file at copyPath, and copyPath's bytes hash to want.
func sameAndHashes(path, copyPath, want string) (bool, error) {
	a, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer a.Close()
	c, err := os.Open(copyPath)
	if err != nil {
		return false, err
	}
	defer c.Close()
	ai, err := a.Stat()
	if err != nil {
		return false, err
	}
	ci, err := c.Stat()
	if err != nil {
		return false, err
	}
	if ai.Size() != ci.Size() {
		return false, nil
	}
	h := sha256.New()
	bufA, bufC := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(c, bufC)
		if n > 0 {
			h.Write(bufC[:n])
			if m, aerr := io.ReadFull(a, bufA[:n]); m != n || aerr != nil || !bytes.Equal(bufA[:n], bufC[:n]) {
				return false, nil
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	if n, _ := a.Read(bufA[:1]); n != 0 {
		return false, nil // the binary grew meanwhile
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
}

// Cache copies b's executable into dir (created mode 0700) as
// dir/<sha256>/<name>, hashing the bytes as it copies them, and sets
// b.SHA256 to that hash and b.Exec to the copy. The copy, never b.Path,
// is what llmops runs: swapping the file at b.Path after it was hashed
// cannot make llmops run bytes it did not hash (and check against the lock
// file), and a provider that runs itself again through os.Executable (a
// job supervisor, a gateway) runs the same copy. When b.SHA256 (Find's
// hash of the file) names a copy that is there already and still hashes to
// it, that copy is used without copying again: what runs is still bytes
// whose hash was checked.
func Cache(b *Binary, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("provider %q: creating the provider cache: %w", b.Type, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("provider %q: %w", b.Type, err)
	}
	if h := b.SHA256; len(h) == 64 {
		exe := filepath.Join(dir, h, filepath.Base(b.Path))
		if got, err := HashFile(exe); err == nil && got == h {
			b.Exec = exe
			return nil
		}
	}
	src, err := os.Open(b.Path)
	if err != nil {
		return fmt.Errorf("provider %q: %w", b.Type, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".copy-*")
	if err != nil {
		return fmt.Errorf("provider %q: %w", b.Type, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		tmp.Close()
		return fmt.Errorf("provider %q: copying %s: %w", b.Type, b.Path, err)
	}
	if err := tmp.Chmod(0o700); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	entry := filepath.Join(dir, sum)
	exe := filepath.Join(entry, filepath.Base(b.Path))
	if got, err := HashFile(exe); err == nil && got == sum {
		b.SHA256, b.Exec = sum, exe
		return nil
	}
	if err := os.MkdirAll(entry, 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), exe); err != nil {
		// Another llmops stored the same bytes meanwhile.
		if got, herr := HashFile(exe); herr == nil && got == sum {
			b.SHA256, b.Exec = sum, exe
			return nil
		}
		return errors.Join(fmt.Errorf("provider %q: storing the copy", b.Type), err)
	}
	b.SHA256, b.Exec = sum, exe
	return nil
}
