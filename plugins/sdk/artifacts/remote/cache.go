package remote

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// Options adjust a Cache.
type Options struct {
	// Progress, when set, receives the transfers' events.
	Progress func(Event)
	// Workers bounds the files of a tree moved at once (default 4; each
	// large file is itself moved in parallel parts).
	Workers int
}

// Cache puts a local store in front of a Backend: it implements
// artifacts.Remote (set it with Store.SetRemote, or use OpenStore).
type Cache struct {
	b    backend.Backend
	opts Options
}

// New returns the cache of b.
func New(b backend.Backend, opts Options) *Cache {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	return &Cache{b: b, opts: opts}
}

// OpenStore opens the local store at dir and, when c names a remote
// store, makes it a cache of that store.
func OpenStore(ctx context.Context, dir string, c Config, opts Options) (*artifacts.Store, error) {
	s, err := artifacts.Open(dir)
	if err != nil || !c.Enabled() {
		return s, err
	}
	b, err := OpenBackend(ctx, c)
	if err != nil {
		return nil, err
	}
	s.SetRemote(New(b, opts))
	return s, nil
}

// URL names the remote store.
func (c *Cache) URL() string { return c.b.URL() }

// Backend returns the remote store.
func (c *Cache) Backend() backend.Backend { return c.b }

// Has reports whether the remote store holds id.
func (c *Cache) Has(ctx context.Context, id artifacts.ID) (bool, error) {
	_, err := c.b.Stat(ctx, id)
	if backend.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Push uploads the artifact id of s, unless the remote store has it.
func (c *Cache) Push(ctx context.Context, s *artifacts.Store, id artifacts.ID) error {
	if ok, err := c.Has(ctx, id); err != nil || ok {
		return err
	}
	info, err := s.Stat(id)
	if err != nil {
		return err
	}
	t := c.start("push", id, info.Size)
	err = c.push(ctx, s, info, t)
	t.finish(err)
	return err
}

func (c *Cache) push(ctx context.Context, s *artifacts.Store, info artifacts.Info, t *transfer) error {
	id := info.ID
	if !info.Dir {
		if err := c.b.PutBlob(ctx, id, info.Path, info.Size, t); err != nil {
			return err
		}
		return c.b.Commit(ctx, backend.Object{ID: id, Kind: backend.File, Size: info.Size}, nil, nil, nil)
	}
	listing, files, err := s.Listing(id)
	if err != nil {
		return err
	}
	sizes := map[artifacts.ID]int64{}
	paths := map[artifacts.ID]string{}
	for _, f := range files {
		p := filepath.Join(info.Path, filepath.FromSlash(f.Path))
		if _, dup := paths[f.ID]; dup {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		sizes[f.ID], paths[f.ID] = fi.Size(), p
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Workers)
	for fid, p := range paths {
		g.Go(func() error { return c.b.PutBlob(gctx, fid, p, sizes[fid], t) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return c.b.Commit(ctx, backend.Object{ID: id, Kind: backend.Tree, Size: int64(len(listing))}, listing, files, sizes)
}

// Fetch downloads the artifact id into s. A blob that does not hash to
// its name is refused and fetched once more before the error is reported.
func (c *Cache) Fetch(ctx context.Context, s *artifacts.Store, id artifacts.ID) error {
	obj, err := c.b.Stat(ctx, id)
	if backend.IsNotFound(err) {
		return &backend.Error{URL: c.b.URL(), Op: "fetch " + string(id), Reason: backend.NotFound, Err: err,
			Hint: fmt.Sprintf("It is in neither the local artifact store (%s) nor the remote one: push it from a machine that has it (llmops artifacts push %s), or apply again to recreate it", s.Root(), id)}
	}
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		err = c.fetchOnce(ctx, s, obj)
		if backend.ReasonOf(err) != backend.Corrupt || try == 1 {
			return err
		}
	}
}

func (c *Cache) fetchOnce(ctx context.Context, s *artifacts.Store, obj backend.Object) error {
	stage := s.NewStage()
	if obj.Kind != backend.Tree {
		t := c.start("fetch", obj.ID, obj.Size)
		err := c.b.GetBlob(ctx, obj.ID, stage, t)
		t.finish(err)
		if err != nil {
			return err
		}
		return s.CommitStaged(stage, obj.ID, nil)
	}
	op := "fetch " + string(obj.ID)
	listing, err := c.b.Listing(ctx, obj)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(listing); artifacts.IDFromSum(sum[:]) != obj.ID {
		return &backend.Error{URL: c.b.URL(), Op: op, Reason: backend.Corrupt, Detail: "its listing does not hash to its id"}
	}
	files, err := artifacts.ParseListing(listing)
	if err != nil {
		return &backend.Error{URL: c.b.URL(), Op: op, Reason: backend.Corrupt, Detail: err.Error()}
	}
	total, err := c.treeSize(ctx, files)
	if err != nil {
		return err
	}
	t := c.start("fetch", obj.ID, total)
	err = c.fetchTree(ctx, stage, files, t)
	t.finish(err)
	if err != nil {
		_ = os.RemoveAll(stage)
		return err
	}
	digests := make(map[string]artifacts.ID, len(files))
	for _, f := range files {
		digests[f.Path] = f.ID
	}
	return s.CommitStaged(stage, obj.ID, digests)
}

// treeSize adds up the sizes of a tree's distinct blobs (for progress;
// it also finds a missing blob before anything is downloaded).
func (c *Cache) treeSize(ctx context.Context, files []artifacts.TreeFile) (int64, error) {
	var mu sync.Mutex
	var total int64
	seen := map[artifacts.ID]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4 * c.opts.Workers)
	for _, f := range files {
		if seen[f.ID] {
			continue
		}
		seen[f.ID] = true
		g.Go(func() error {
			size, err := c.b.BlobSize(gctx, f.ID)
			if backend.IsNotFound(err) {
				return &backend.Error{URL: c.b.URL(), Op: "fetch " + string(f.ID), Reason: backend.Corrupt, Detail: "the tree's file " + f.Path + " is missing", Err: err}
			}
			if err != nil {
				return err
			}
			mu.Lock()
			total += size
			mu.Unlock()
			return nil
		})
	}
	return total, g.Wait()
}

// fetchTree downloads a tree's files into stage (each distinct blob once;
// a repeated one is hard-linked).
func (c *Cache) fetchTree(ctx context.Context, stage string, files []artifacts.TreeFile, t *transfer) error {
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	first := map[artifacts.ID]string{}
	exec := map[artifacts.ID]bool{}
	var dups []artifacts.TreeFile
	var uniq []artifacts.TreeFile
	for _, f := range files {
		dst := filepath.Join(stage, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if _, ok := first[f.ID]; ok {
			dups = append(dups, f)
			continue
		}
		first[f.ID], exec[f.ID] = dst, f.Exec
		uniq = append(uniq, f)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Workers)
	for _, f := range uniq {
		g.Go(func() error { return c.b.GetBlob(gctx, f.ID, first[f.ID], t) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, f := range dups {
		// A link shares the mode: copy a duplicate whose mode differs.
		dst := filepath.Join(stage, filepath.FromSlash(f.Path))
		if f.Exec != exec[f.ID] {
			if err := copyFile(first[f.ID], dst); err != nil {
				return err
			}
		} else if err := os.Link(first[f.ID], dst); err != nil {
			return err
		}
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Exec {
			mode = 0o755
		}
		if err := os.Chmod(filepath.Join(stage, filepath.FromSlash(f.Path)), mode); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
