package dir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// Store is a directory holding artifacts.
type Store struct{ root string }

// New opens the store at root, an absolute path to a directory that must
// exist (a shared directory that is not mounted must not pass for an
// empty store), creating its layout inside.
func New(root string) (*Store, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("%q: a directory store needs an absolute path", root)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, &backend.Error{URL: root, Op: "open", Reason: backend.NoStore, Detail: "no such directory",
			Hint: "Mount the shared directory, or create it (mkdir), or fix artifacts.url"}
	}
	for _, d := range []string{"blobs/sha256", "trees/sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, &backend.Error{URL: root, Op: "open", Reason: backend.NoStore, Detail: err.Error(),
				Hint: "Mount the shared directory, or fix artifacts.url"}
		}
	}
	return &Store{root: root}, nil
}

// URL returns the directory.
func (s *Store) URL() string { return s.root }

func (s *Store) blob(id artifacts.ID) string {
	return filepath.Join(s.root, "blobs", "sha256", id.Hex())
}
func (s *Store) tree(id artifacts.ID) string {
	return filepath.Join(s.root, "trees", "sha256", id.Hex())
}

func (s *Store) fail(op string, err error) error {
	e := &backend.Error{URL: s.root, Op: op, Reason: backend.Failed, Detail: err.Error(), Err: err}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Reason, e.Detail = backend.NotFound, ""
	case errors.Is(err, fs.ErrPermission):
		e.Reason = backend.Denied
	}
	return e
}

// Stat describes the artifact id.
func (s *Store) Stat(_ context.Context, id artifacts.ID) (backend.Object, error) {
	if fi, err := os.Stat(s.tree(id)); err == nil {
		return backend.Object{ID: id, Kind: backend.Tree, Size: fi.Size(), Modified: fi.ModTime()}, nil
	}
	fi, err := os.Stat(s.blob(id))
	if err != nil {
		return backend.Object{}, s.fail("look up "+string(id), err)
	}
	return backend.Object{ID: id, Kind: backend.File, Size: fi.Size(), Modified: fi.ModTime()}, nil
}

// HasBlob reports whether the blob id is stored.
func (s *Store) HasBlob(_ context.Context, id artifacts.ID) (bool, error) {
	_, err := os.Stat(s.blob(id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// BlobSize returns the size of the blob id.
func (s *Store) BlobSize(_ context.Context, id artifacts.ID) (int64, error) {
	fi, err := os.Stat(s.blob(id))
	if err != nil {
		return 0, s.fail("look up "+string(id), err)
	}
	return fi.Size(), nil
}

// PutBlob copies the file in, hashing it; it appears under id only if it
// hashes to id.
func (s *Store) PutBlob(ctx context.Context, id artifacts.ID, path string, _ int64, c backend.Counter) error {
	if ok, err := s.HasBlob(ctx, id); err != nil || ok {
		return err
	}
	return s.write(ctx, "push "+string(id), id, path, s.blob(id), c)
}

func (s *Store) write(ctx context.Context, op string, id artifacts.ID, src, dst string, c backend.Counter) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := filepath.Join(s.root, "tmp", "put-"+randHex())
	got, err := copyHashed(ctx, in, tmp, c)
	if err != nil {
		os.Remove(tmp)
		return s.fail(op, err)
	}
	if got != id {
		os.Remove(tmp)
		return &backend.Error{URL: s.root, Op: op, Reason: backend.Corrupt, Detail: "the local copy hashes to " + string(got),
			Hint: "Nothing was published under the digest: llmops artifacts verify " + string(id)}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return s.fail(op, err)
	}
	return nil
}

// GetBlob copies the blob id to dst, hashing it.
func (s *Store) GetBlob(ctx context.Context, id artifacts.ID, dst string, c backend.Counter) error {
	op := "fetch " + string(id)
	in, err := os.Open(s.blob(id))
	if err != nil {
		return s.fail(op, err)
	}
	defer in.Close()
	got, err := copyHashed(ctx, in, dst, c)
	if err == nil && got != id {
		err = &backend.Error{URL: s.root, Op: op, Reason: backend.Corrupt, Detail: "its bytes hash to " + string(got)}
	}
	if err != nil {
		os.Remove(dst)
		var be *backend.Error
		if errors.As(err, &be) {
			return be
		}
		return s.fail(op, err)
	}
	return nil
}

// Commit writes a tree's listing (a file's blob is its artifact).
func (s *Store) Commit(ctx context.Context, obj backend.Object, listing []byte, _ []artifacts.TreeFile, _ map[artifacts.ID]int64) error {
	if obj.Kind != backend.Tree {
		return nil
	}
	tmp := filepath.Join(s.root, "tmp", "listing-"+randHex())
	if err := os.WriteFile(tmp, listing, 0o444); err != nil {
		return s.fail("push "+string(obj.ID), err)
	}
	return s.write(ctx, "push "+string(obj.ID), obj.ID, tmp, s.tree(obj.ID), nil)
}

// Listing reads a tree's listing.
func (s *Store) Listing(_ context.Context, obj backend.Object) ([]byte, error) {
	b, err := os.ReadFile(s.tree(obj.ID))
	if err != nil {
		return nil, s.fail("fetch "+string(obj.ID), err)
	}
	return b, nil
}

// List calls fn for every listing and every blob.
func (s *Store) List(_ context.Context, fn func(backend.Object) error) error {
	for _, k := range []backend.Kind{backend.Tree, backend.File} {
		sub := "blobs"
		if k == backend.Tree {
			sub = "trees"
		}
		des, err := os.ReadDir(filepath.Join(s.root, sub, "sha256"))
		if err != nil {
			return s.fail("list", err)
		}
		for _, de := range des {
			id, err := artifacts.ParseID(artifacts.Prefix + de.Name())
			if err != nil {
				continue
			}
			fi, err := de.Info()
			if err != nil {
				continue
			}
			if err := fn(backend.Object{ID: id, Kind: k, Size: fi.Size(), Modified: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes what List returned.
func (s *Store) Delete(_ context.Context, obj backend.Object) error {
	p := s.blob(obj.ID)
	if obj.Kind == backend.Tree {
		p = s.tree(obj.ID)
	}
	if err := os.Remove(p); err != nil {
		return s.fail("delete "+string(obj.ID), err)
	}
	return nil
}

// copyHashed copies r to a new read-only file at dst and returns the id
// of what it copied.
func copyHashed(ctx context.Context, r io.Reader, dst string, c backend.Counter) (artifacts.ID, error) {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	if c == nil {
		c = backend.Discard{}
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			out.Close()
			return "", err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return "", err
			}
			h.Write(buf[:n])
			c.Add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return "", rerr
		}
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return artifacts.IDFromSum(h.Sum(nil)), os.Chmod(dst, 0o444)
}

func randHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
