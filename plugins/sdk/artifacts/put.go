package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// PutMode says how Put brings a path into the store.
type PutMode int

const (
	// Copy copies the files; the source is left alone. The default.
	Copy PutMode = iota
	// Link hard-links the files where the filesystem allows (else copies).
	// Only for sources that are never modified in place (a model hub
	// cache's blobs): a stored file shares its inode with the source.
	Link
	// Move renames the source into the store (else copies and removes it):
	// for outputs the caller owns, e.g. a finished job's model directory.
	// The source is gone afterwards.
	Move
	// Import brings a user's files in without a second copy where the
	// filesystem allows: a reflink (a copy-on-write clone, on btrfs, XFS,
	// ...), else a hard link, after which the file is read-only (store and
	// source share it: write a new file to change the model, do not edit
	// it in place), else copy_file_range (a copy the kernel makes, on one
	// filesystem), else a plain copy.
	Import
)

// PutOptions adjust Put.
type PutOptions struct {
	Mode PutMode
	// CheckLink is passed to hashing (see HashOptions).
	CheckLink func(link, target string) error
	// Private makes the stored files readable by their owner only (0600):
	// for a job's log, which is nobody else's business. An object stored
	// before with the same content becomes private too.
	Private bool
}

// Put stores a file or directory tree and returns the stored artifact.
// When the store already holds the same content, nothing is copied. With a
// remote store, the artifact is then pushed (see PutContext).
func (s *Store) Put(src string, opts PutOptions) (Info, error) {
	return s.PutContext(context.Background(), src, opts)
}

// PutContext is Put with a context for the push to the remote store. When
// the push fails, the artifact stays stored locally, and the error (a
// *PushError) says so.
func (s *Store) PutContext(ctx context.Context, src string, opts PutOptions) (Info, error) {
	info, err := s.put(src, opts)
	if err != nil {
		return info, err
	}
	return info, s.pushNew(ctx, info.ID)
}

// PushError is a failed push of an artifact that is stored locally.
type PushError struct {
	ID  ID
	Err error
}

func (e *PushError) Error() string {
	return fmt.Sprintf("%s is stored locally, but pushing it to the remote store failed: %v", e.ID, e.Err)
}

func (e *PushError) Unwrap() error { return e.Err }

func (s *Store) pushNew(ctx context.Context, id ID) error {
	if s.Remote() == nil {
		return nil
	}
	if err := s.Push(ctx, id); err != nil {
		return &PushError{ID: id, Err: err}
	}
	return nil
}

func (s *Store) put(src string, opts PutOptions) (Info, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return Info{}, err
	}
	d, err := HashPath(src, HashOptions{Cache: s.cache, CheckLink: opts.CheckLink})
	if err != nil {
		return Info{}, err
	}
	defer func() { _ = s.cache.Save() }()
	if s.Has(d.ID) {
		if opts.Mode == Move {
			_ = removeAll(src)
		}
		if opts.Private {
			if err := makePrivate(s.Path(d.ID)); err != nil {
				return Info{}, err
			}
		}
		return s.Stat(d.ID)
	}
	stage := filepath.Join(s.root, "tmp", "put-"+randHex(8))
	id := d.ID
	switch opts.Mode {
	case Move:
		if hasSymlinks(src) {
			// Links would dangle once moved: store what they point at.
			err = os.ErrInvalid
		} else {
			err = os.Rename(src, stage)
		}
		if err != nil && (isCrossDevice(err) || errors.Is(err, os.ErrInvalid)) {
			id, err = copyTree(src, stage, Copy, s.cache)
			if err == nil {
				_ = removeAll(src)
			}
		} else if err == nil {
			err = makeReadOnly(stage)
		}
	default:
		id, err = copyTree(src, stage, opts.Mode, s.cache)
	}
	if err == nil && opts.Private {
		err = makePrivate(stage)
	}
	if err != nil {
		_ = removeAll(stage)
		return Info{}, fmt.Errorf("storing %s: %w", src, err)
	}
	if id != d.ID && opts.Mode != Move {
		// The source changed while it was copied: what is stored is what
		// was read during the copy, and it is named by that.
		s.cache.Forget(src)
	}
	if err := s.commit(stage, id); err != nil {
		return Info{}, err
	}
	return s.Stat(id)
}

// PutBytes stores data as a file artifact (and pushes it, as Put does).
func (s *Store) PutBytes(data []byte) (Info, error) {
	return s.PutBytesContext(context.Background(), data)
}

// PutBytesContext is PutBytes with a context for the push.
func (s *Store) PutBytesContext(ctx context.Context, data []byte) (Info, error) {
	sum := sha256.Sum256(data)
	id := IDFromSum(sum[:])
	if !s.Has(id) {
		stage := filepath.Join(s.root, "tmp", "put-"+randHex(8))
		if err := os.WriteFile(stage, data, 0o444); err != nil {
			return Info{}, err
		}
		if err := s.commit(stage, id); err != nil {
			return Info{}, err
		}
	}
	info, err := s.Stat(id)
	if err != nil {
		return info, err
	}
	return info, s.pushNew(ctx, id)
}

// commit renames a staged object into place. Losing a race to another
// process storing the same content is fine: the content is the same.
func (s *Store) commit(stage string, id ID) error {
	err := os.Rename(stage, s.Path(id))
	if err != nil && s.Has(id) {
		_ = removeAll(stage)
		return nil
	}
	if err != nil {
		_ = removeAll(stage)
		return fmt.Errorf("storing %s: %w", id, err)
	}
	now := time.Now()
	_ = os.Chtimes(s.Path(id), now, now)
	return nil
}

// copyTree copies src (a file or a tree, following links) to dst, hashing
// what it copies, and returns the id of the copy. With Link or Import,
// files are linked or cloned where possible (and not hashed again when
// the digest cache vouches for the source).
func copyTree(src, dst string, mode PutMode, cache *Cache) (ID, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		e := &entry{abs: src, st: statOf(fi)}
		if err := copyFile(e, dst, mode, cache); err != nil {
			return "", err
		}
		return ID(Prefix + e.hex), nil
	}
	entries, err := walk(src, nil)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	for _, e := range entries {
		target := filepath.Join(dst, filepath.FromSlash(e.rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", err
		}
		if err := copyFile(e, target, mode, cache); err != nil {
			return "", err
		}
	}
	return treeID(entries), nil
}

// copyFile brings one file into dst by mode, setting e.hex to the digest
// of what dst holds, and makes dst read-only.
func copyFile(e *entry, dst string, mode PutMode, cache *Cache) error {
	perm := os.FileMode(0o444)
	if e.st.mode&0o111 != 0 {
		perm = 0o555
	}
	if mode == Import {
		if err := cloneFile(e.abs, dst); err == nil {
			return finishCopy(e, dst, perm, cache)
		}
		os.Remove(dst)
	}
	if mode == Link || mode == Import {
		target := e.abs
		if real, err := filepath.EvalSymlinks(e.abs); err == nil {
			target = real // link the file, not a symbolic link to it
		}
		if err := os.Link(target, dst); err == nil {
			if mode == Import {
				// Source and store share the inode: read-only for both.
				if err := os.Chmod(dst, perm); err != nil {
					return err
				}
			}
			// Linking changed the source's ctime; its content did not.
			if h, ok := cache.lookup(e.abs, e.st); ok {
				e.hex = h
				if fi, err := os.Stat(e.abs); err == nil {
					cache.putTrusted(e.abs, statOf(fi), h)
				}
				if fi, err := os.Stat(dst); err == nil {
					cache.putTrusted(dst, statOf(fi), h)
				}
				return nil
			}
			d, err := HashPath(dst, HashOptions{Cache: cache})
			if err != nil {
				return err
			}
			e.hex = d.ID.Hex()
			return nil
		}
	}
	if mode == Import {
		if err := copyRange(e.abs, dst); err == nil {
			return finishCopy(e, dst, perm, cache)
		}
		os.Remove(dst)
	}
	in, err := os.Open(e.abs)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	_, err = io.CopyBuffer(io.MultiWriter(out, h), onlyReader{in}, *bp)
	bufPool.Put(bp)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	e.hex = hex.EncodeToString(h.Sum(nil))
	return os.Chmod(dst, perm)
}

// finishCopy sets e.hex for a file cloned or copied by the kernel (which
// did not pass through a hasher): the source's cached digest when the
// source is unchanged since it was hashed, else the copy's hash.
func finishCopy(e *entry, dst string, perm os.FileMode, cache *Cache) error {
	if err := os.Chmod(dst, perm); err != nil {
		return err
	}
	if h, ok := cache.lookup(e.abs, e.st); ok {
		if fi, err := os.Stat(e.abs); err == nil && statOf(fi).same(e.st) {
			e.hex = h
			if fi, err := os.Stat(dst); err == nil {
				cache.putTrusted(dst, statOf(fi), h)
			}
			return nil
		}
	}
	d, err := HashPath(dst, HashOptions{Cache: cache})
	if err != nil {
		return err
	}
	e.hex = d.ID.Hex()
	return nil
}

// copyRange copies src to a new file dst with the kernel's in-filesystem
// copy (os.File.ReadFrom uses copy_file_range on Linux, where it may share
// extents, and falls back to a copy elsewhere).
func copyRange(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = out.ReadFrom(in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// makeReadOnly removes the write bits of the files under p.
func makeReadOnly(p string) error {
	return filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(q, fi.Mode().Perm()&^0o222)
	})
}

// makePrivate makes the files under p readable and writable by their owner
// only, and its directories 0700.
func makePrivate(p string) error {
	return filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Chmod(q, 0o700)
		case d.Type().IsRegular():
			return os.Chmod(q, 0o600)
		}
		return nil
	})
}

func isCrossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }

// hasSymlinks reports whether the tree at p contains symbolic links.
func hasSymlinks(p string) bool {
	found := false
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
