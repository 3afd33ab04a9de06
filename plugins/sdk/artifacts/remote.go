package artifacts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Remote is a remote artifact store that a local Store caches (package
// remote implements it for s3:// and oci:// URLs). With a remote, the
// local store is a cache in front of it: what Put stores is pushed, what
// Ensure (and Resolve) misses is fetched by its id, and Exists asks the
// remote about what the cache lacks.
type Remote interface {
	// URL names the remote store in messages; it holds no credentials.
	URL() string
	// Has reports whether the remote store holds the artifact id.
	Has(ctx context.Context, id ID) (bool, error)
	// Push uploads the stored artifact id (a look-up, not an upload, when
	// the remote store already holds it).
	Push(ctx context.Context, s *Store, id ID) error
	// Fetch downloads the artifact id into s: it stages the content with
	// NewStage, verifies it against id while it is read, and commits it
	// with CommitStaged.
	Fetch(ctx context.Context, s *Store, id ID) error
}

// remoteState is the cache side of a store: its remote, and the fetches in
// flight (one per id in a process).
type remoteState struct {
	mu       sync.Mutex
	r        Remote
	inflight map[ID]*fetchCall
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// SetRemote makes the store a cache of r (nil: a plain local store).
func (s *Store) SetRemote(r Remote) {
	s.rs.mu.Lock()
	s.rs.r = r
	s.rs.mu.Unlock()
}

// Remote returns the remote store the store caches, or nil.
func (s *Store) Remote() Remote {
	s.rs.mu.Lock()
	defer s.rs.mu.Unlock()
	return s.rs.r
}

// Exists reports whether the artifact id is in the local store or, failing
// that, in the remote store. It fetches nothing.
func (s *Store) Exists(ctx context.Context, id ID) (bool, error) {
	if _, err := ParseID(string(id)); err != nil {
		return false, err
	}
	if s.Has(id) {
		return true, nil
	}
	r := s.Remote()
	if r == nil {
		return false, nil
	}
	return r.Has(ctx, id)
}

// Ensure returns the local path of the artifact id, fetching it from the
// remote store when the local one lacks it. Concurrent calls for one id
// in a process fetch it once.
func (s *Store) Ensure(ctx context.Context, id ID) (string, error) {
	if _, err := ParseID(string(id)); err != nil {
		return "", err
	}
	if s.Has(id) {
		return s.Path(id), nil
	}
	r := s.Remote()
	if r == nil {
		return "", fmt.Errorf("artifact %s is not in the artifact store %s (was the store moved, wiped or garbage-collected?)", id, s.root)
	}
	s.rs.mu.Lock()
	if s.rs.inflight == nil {
		s.rs.inflight = map[ID]*fetchCall{}
	}
	c, ok := s.rs.inflight[id]
	if !ok {
		c = &fetchCall{done: make(chan struct{})}
		s.rs.inflight[id] = c
		go func() {
			c.err = r.Fetch(context.WithoutCancel(ctx), s, id)
			s.rs.mu.Lock()
			delete(s.rs.inflight, id)
			s.rs.mu.Unlock()
			close(c.done)
		}()
	}
	s.rs.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if c.err != nil {
		return "", c.err
	}
	if !s.Has(id) {
		return "", fmt.Errorf("artifact %s: fetched from %s but not in the artifact store %s", id, r.URL(), s.root)
	}
	return s.Path(id), nil
}

// Push uploads the stored artifact id to the remote store (nothing to do
// without one).
func (s *Store) Push(ctx context.Context, id ID) error {
	r := s.Remote()
	if r == nil {
		return nil
	}
	if !s.Has(id) {
		return fmt.Errorf("cannot push %s to %s: it is not in the artifact store %s", id, r.URL(), s.root)
	}
	return r.Push(ctx, s, id)
}

// NewStage returns a fresh path in the store's staging directory (nothing
// exists there yet) for a Remote to download into.
func (s *Store) NewStage() string {
	return filepath.Join(s.root, "tmp", "fetch-"+randHex(8))
}

// CommitStaged moves a staged, already verified object into the store
// under id: its files are made read-only and recorded in the digest cache
// (so that hashing it later reads nothing). Whoever calls it vouches that
// the content hashes to id; a Remote does so by hashing while it
// downloads. The stage is removed on failure.
func (s *Store) CommitStaged(stage string, id ID, digests map[string]ID) error {
	if _, err := ParseID(string(id)); err != nil {
		_ = removeAll(stage)
		return err
	}
	if err := makeReadOnly(stage); err != nil {
		_ = removeAll(stage)
		return err
	}
	if err := s.commit(stage, id); err != nil {
		return err
	}
	s.remember(s.Path(id), id, digests)
	return nil
}

// remember records the digests of a just-committed object's files in the
// digest cache: the file itself for a file object, else every file of the
// tree by its relative path.
func (s *Store) remember(p string, id ID, digests map[string]ID) {
	fi, err := os.Stat(p)
	if err != nil {
		return
	}
	if !fi.IsDir() {
		s.cache.putTrusted(p, statOf(fi), id.Hex())
		_ = s.cache.Save()
		return
	}
	for rel, fid := range digests {
		q := filepath.Join(p, filepath.FromSlash(rel))
		if fi, err := os.Stat(q); err == nil {
			s.cache.putTrusted(q, statOf(fi), fid.Hex())
		}
	}
	_ = s.cache.Save()
}

// ErrNotFound is wrapped by remotes' errors for an artifact they do not
// hold.
var ErrNotFound = errors.New("not found")
