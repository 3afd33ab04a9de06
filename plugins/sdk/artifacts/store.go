package artifacts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Store is an artifact store rooted at a directory. Several processes may
// use one store at once: objects appear by atomic rename and never change.
type Store struct {
	root  string
	cache *Cache
	rs    remoteState
}

// Info describes a stored artifact.
type Info struct {
	ID   ID
	Path string
	Dir  bool
	// Size is the total size of its files; Files their number.
	Size  int64
	Files int
	// Created is when the artifact was stored.
	Created time.Time
}

const staleTmp = 24 * time.Hour

// Open opens (creating if needed) the store at root.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"objects/sha256", "tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("artifact store %s: %w", abs, err)
		}
	}
	s := &Store{root: abs, cache: OpenCache(filepath.Join(abs, "cache", "digests.v1"))}
	s.cleanTmp()
	return s, nil
}

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// Cache returns the store's digest cache.
func (s *Store) Cache() *Cache { return s.cache }

// Path returns where artifact id lives (whether or not it exists).
func (s *Store) Path(id ID) string { return filepath.Join(s.root, "objects", "sha256", id.Hex()) }

// Has reports whether the local store holds id (see Exists for a store
// with a remote).
func (s *Store) Has(id ID) bool {
	if _, err := ParseID(string(id)); err != nil {
		return false
	}
	_, err := os.Lstat(s.Path(id))
	return err == nil
}

// Resolve returns the path of a stored artifact named by an id string, or
// an error saying it is not an id or not in the store. With a remote
// store, an artifact the local one lacks is fetched (see Ensure).
func (s *Store) Resolve(id string) (string, error) {
	return s.ResolveContext(context.Background(), id)
}

// ResolveContext is Resolve with a context for the fetch.
func (s *Store) ResolveContext(ctx context.Context, id string) (string, error) {
	pid, err := ParseID(id)
	if err != nil {
		return "", err
	}
	return s.Ensure(ctx, pid)
}

// Digest hashes a file or tree with the store's digest cache, and saves
// the cache.
func (s *Store) Digest(path string) (Digest, error) {
	d, err := HashPath(path, HashOptions{Cache: s.cache})
	if err == nil {
		err = s.cache.Save()
	}
	return d, err
}

// Stat describes a stored artifact.
func (s *Store) Stat(id ID) (Info, error) {
	p := s.Path(id)
	fi, err := os.Stat(p)
	if err != nil {
		return Info{}, err
	}
	info := Info{ID: id, Path: p, Dir: fi.IsDir(), Created: fi.ModTime()}
	if !fi.IsDir() {
		info.Size, info.Files = fi.Size(), 1
		return info, nil
	}
	err = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			info.Size += fi.Size()
			info.Files++
		}
		return nil
	})
	return info, err
}

// List returns every stored artifact, sorted by id.
func (s *Store) List() ([]Info, error) {
	des, err := os.ReadDir(filepath.Join(s.root, "objects", "sha256"))
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, de := range des {
		id, err := ParseID(Prefix + de.Name())
		if err != nil {
			continue
		}
		info, err := s.Stat(id)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			return nil, err
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Remove deletes an artifact. It is for garbage collection by the engine,
// which knows which artifacts state still references; providers never
// call it. The object is first renamed out of objects/, so it is never
// seen half-removed.
func (s *Store) Remove(id ID) error {
	if _, err := ParseID(string(id)); err != nil {
		return err
	}
	p := s.Path(id)
	trash := filepath.Join(s.root, "tmp", "rm-"+id.Hex()+"-"+randHex(4))
	if err := os.Rename(p, trash); err != nil {
		return err
	}
	return removeAll(trash)
}

// Verify re-hashes a stored artifact (reading it, without the cache) and
// reports an error when its content no longer matches its id.
func (s *Store) Verify(id ID) error {
	d, err := HashPath(s.Path(id), HashOptions{})
	if err != nil {
		return err
	}
	if d.ID != id {
		return fmt.Errorf("artifact %s is corrupt: its content hashes to %s", id, d.ID)
	}
	return nil
}

// cleanTmp removes staging leftovers of crashed processes.
func (s *Store) cleanTmp() {
	des, err := os.ReadDir(filepath.Join(s.root, "tmp"))
	if err != nil {
		return
	}
	for _, de := range des {
		fi, err := de.Info()
		if err == nil && time.Since(fi.ModTime()) > staleTmp {
			_ = removeAll(filepath.Join(s.root, "tmp", de.Name()))
		}
	}
}

// removeAll removes a tree, making read-only directories writable first.
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o755)
		}
		return nil
	})
	return os.RemoveAll(p)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
