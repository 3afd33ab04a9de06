package remote_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/llmops/llmops/internal/testenv"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// backends returns a fresh remote store of each kind (a bucket of the AWS
// emulator, a repository of the registry); each runs as a subtest.
func backends(t *testing.T, run func(t *testing.T, cfg remote.Config)) {
	t.Run("dir", func(t *testing.T) {
		run(t, remote.Config{URL: t.TempDir()})
	})
	t.Run("s3", func(t *testing.T) {
		a := testenv.NeedAWS(t)
		a.Setenv(t)
		run(t, remote.Config{URL: "s3://" + a.NewBucket(t) + "/llmops", PathStyle: true})
	})
	t.Run("oci", func(t *testing.T) {
		o := testenv.NeedOCI(t)
		run(t, remote.Config{URL: o.NewRepository()})
	})
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// counting wraps a backend to count uploads and to corrupt downloads.
type counting struct {
	backend.Backend
	puts    atomic.Int64
	corrupt atomic.Int64 // downloads still to corrupt
}

func (c *counting) PutBlob(ctx context.Context, id artifacts.ID, p string, size int64, n backend.Counter) error {
	if ok, _ := c.HasBlob(ctx, id); !ok {
		c.puts.Add(1)
	}
	return c.Backend.PutBlob(ctx, id, p, size, n)
}

func (c *counting) GetBlob(ctx context.Context, id artifacts.ID, dst string, n backend.Counter) error {
	if err := c.Backend.GetBlob(ctx, id, dst, n); err != nil {
		return err
	}
	if c.corrupt.Add(-1) >= 0 {
		os.Remove(dst)
		return &backend.Error{URL: c.URL(), Op: "fetch " + string(id), Reason: backend.Corrupt, Detail: "test"}
	}
	return nil
}

func open(t *testing.T, cfg remote.Config) (*artifacts.Store, *counting, *[]remote.Event) {
	t.Helper()
	b, err := remote.OpenBackend(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := artifacts.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cb := &counting{Backend: b}
	var mu sync.Mutex
	events := &[]remote.Event{}
	s.SetRemote(remote.New(cb, remote.Options{Progress: func(e remote.Event) {
		mu.Lock()
		*events = append(*events, e)
		mu.Unlock()
	}}))
	return s, cb, events
}

// Two machines share a remote store: what one stores is pushed; the other,
// with an empty cache, sees it exist, fetches it by digest (files, modes
// and digest intact, read-only), and then uses it without the remote.
func TestPushFetchShare(t *testing.T) {
	backends(t, func(t *testing.T, cfg remote.Config) {
		ctx := context.Background()
		a, ab, events := open(t, cfg)
		tree := writeTree(t, map[string]string{
			"config.json": `{"layers": 2}`, "weights/a.bin": strings.Repeat("a", 70000), "weights/b.bin": "same",
			"copy.bin": "same", "run.sh": "#!/bin/sh\n", "tokenizer/vocab.txt": "x y z",
		})
		dir, err := a.PutContext(ctx, tree, artifacts.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		file, err := a.PutBytesContext(ctx, []byte("a single file artifact"))
		if err != nil {
			t.Fatal(err)
		}
		if n := ab.puts.Load(); n != 6 { // five distinct files, one file artifact
			t.Errorf("blobs uploaded: %d, want 6", n)
		}
		if last := (*events)[len(*events)-1]; !last.Done || last.Op != "push" || last.ID != file.ID || last.Bytes != file.Size || last.URL != strings.TrimSuffix(cfg.URL, "/") {
			t.Errorf("last progress event: %+v", last)
		}
		// Pushing again uploads nothing.
		if err := a.Push(ctx, dir.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.PutContext(ctx, tree, artifacts.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := ab.puts.Load(); n != 6 {
			t.Errorf("pushing again uploaded: %d blobs in all", n)
		}

		b, _, _ := open(t, cfg)
		for _, id := range []artifacts.ID{dir.ID, file.ID} {
			if ok, err := b.Exists(ctx, id); !ok || err != nil {
				t.Fatalf("the second machine does not see %s: %v %v", id, ok, err)
			}
			if b.Has(id) {
				t.Fatalf("%s is cached before it was fetched", id)
			}
			p, err := b.Ensure(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if p != b.Path(id) {
				t.Errorf("path %s, want %s", p, b.Path(id))
			}
			if err := b.Verify(id); err != nil {
				t.Fatal(err)
			}
		}
		fi, err := os.Stat(filepath.Join(b.Path(dir.ID), "run.sh"))
		if err != nil || fi.Mode().Perm() != 0o555 {
			t.Errorf("run.sh: %v %v, want read-only and executable", fi.Mode(), err)
		}
		fi, _ = os.Stat(filepath.Join(b.Path(dir.ID), "weights", "a.bin"))
		if fi.Mode().Perm() != 0o444 {
			t.Errorf("a.bin mode %v, want read-only", fi.Mode())
		}
		// Cached: hashing it again reads nothing, and it is used offline.
		if d, err := b.Digest(b.Path(dir.ID)); err != nil || d.BytesRead != 0 || d.ID != dir.ID {
			t.Errorf("re-hash of a fetched tree: %+v %v, want no bytes read", d, err)
		}
		b.SetRemote(remote.New(&counting{Backend: brokenBackend{}}, remote.Options{}))
		if _, err := b.Ensure(ctx, dir.ID); err != nil {
			t.Errorf("a cached artifact needs the remote: %v", err)
		}
	})
}

// A corrupt download is refused and fetched again; twice corrupt, the
// error names the store, the digest and what to do.
func TestCorruptFetchIsRetried(t *testing.T) {
	backends(t, func(t *testing.T, cfg remote.Config) {
		ctx := context.Background()
		a, _, _ := open(t, cfg)
		info, err := a.PutBytesContext(ctx, bytes.Repeat([]byte("w"), 5000))
		if err != nil {
			t.Fatal(err)
		}
		b, bb, _ := open(t, cfg)
		bb.corrupt.Store(1)
		if _, err := b.Ensure(ctx, info.ID); err != nil {
			t.Fatalf("one corrupt download was not fetched again: %v", err)
		}
		c, cb, _ := open(t, cfg)
		cb.corrupt.Store(2)
		_, err = c.Ensure(ctx, info.ID)
		if backend.ReasonOf(err) != backend.Corrupt || !strings.Contains(err.Error(), "fetch "+string(info.ID)) || !strings.Contains(err.Error(), "llmops artifacts push") {
			t.Fatalf("twice corrupt: %v", err)
		}
		if c.Has(info.ID) {
			t.Fatal("a corrupt artifact entered the cache")
		}
	})
}

// An artifact in neither store: the error says where it looked.
func TestMissingEverywhere(t *testing.T) {
	backends(t, func(t *testing.T, cfg remote.Config) {
		s, _, _ := open(t, cfg)
		id := artifacts.ID("sha256:" + strings.Repeat("ab", 32))
		if ok, err := s.Exists(context.Background(), id); ok || err != nil {
			t.Fatalf("exists: %v %v", ok, err)
		}
		_, err := s.Resolve(string(id))
		if !backend.IsNotFound(err) || !strings.Contains(err.Error(), s.Root()) || !strings.Contains(err.Error(), "llmops artifacts push") {
			t.Fatalf("%v", err)
		}
	})
}

// Two machines pushing one artifact at once both succeed, and the store
// holds it once.
func TestConcurrentPush(t *testing.T) {
	backends(t, func(t *testing.T, cfg remote.Config) {
		ctx := context.Background()
		tree := writeTree(t, map[string]string{"a": strings.Repeat("x", 100000), "b/c": "y"})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			s, _, _ := open(t, cfg)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.PutContext(ctx, tree, artifacts.PutOptions{})
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		b, err := remote.OpenBackend(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		b.List(ctx, func(o backend.Object) error { n++; return nil })
		want := 3 // s3, dir: two files and the listing
		if strings.HasPrefix(cfg.URL, "oci://") {
			want = 1 // one manifest
		}
		if n != want {
			t.Fatalf("%d objects after two concurrent pushes, want %d", n, want)
		}
	})
}

// Collect removes what the kept artifacts do not reference, including the
// files only an unkept tree had, and keeps files kept trees share.
func TestCollect(t *testing.T) {
	backends(t, func(t *testing.T, cfg remote.Config) {
		ctx := context.Background()
		s, _, _ := open(t, cfg)
		v1, _ := s.PutContext(ctx, writeTree(t, map[string]string{"shared.bin": "shared", "w.bin": "version 1"}), artifacts.PutOptions{})
		v2, _ := s.PutContext(ctx, writeTree(t, map[string]string{"shared.bin": "shared", "w.bin": "version 2"}), artifacts.PutOptions{})
		stray, _ := s.PutBytesContext(ctx, []byte("stray"))
		b := s.Remote().(*remote.Cache).Backend()
		dry, err := remote.Collect(ctx, b, map[artifacts.ID]bool{v2.ID: true}, remote.CollectOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		removed, err := remote.Collect(ctx, b, map[artifacts.ID]bool{v2.ID: true}, remote.CollectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := 3 // s3, dir: v1's listing, its w.bin, the stray file
		if strings.HasPrefix(cfg.URL, "oci://") {
			want = 2 // the manifests of v1 and of the stray file
		}
		if len(dry) != want || len(removed) != want {
			t.Fatalf("dry run %d, removed %d, want %d: %+v", len(dry), len(removed), want, removed)
		}
		fresh, _, _ := open(t, cfg)
		if _, err := fresh.Ensure(ctx, v2.ID); err != nil {
			t.Fatalf("the kept version cannot be fetched: %v", err)
		}
		for _, id := range []artifacts.ID{v1.ID, stray.ID} {
			if ok, _ := fresh.Exists(ctx, id); ok {
				t.Errorf("%s survived", id)
			}
		}
	})
}

// The job contract: what a runner on remote compute does with
// LLMOPS_ARTIFACTS_URL and LLMOPS_INPUTS.
func TestJobRunnerHelpers(t *testing.T) {
	backends(t, func(t *testing.T, cfg remote.Config) {
		ctx := context.Background()
		s, _, _ := open(t, cfg)
		ds, err := s.PutContext(ctx, writeTree(t, map[string]string{"data.jsonl": "{}\n", "splits/train.jsonl": "{}\n"}), artifacts.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		env := cfg.Env()
		env["LLMOPS_INPUTS"] = `{"LLMOPS_TRAIN_PATH": "` + string(ds.ID) + `/splits/train.jsonl"}`
		cache := t.TempDir()
		paths, err := remote.Localize(ctx, func(k string) string { return env[k] }, cache, remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(paths["LLMOPS_TRAIN_PATH"]); err != nil || string(b) != "{}\n" {
			t.Fatalf("localized train path %q: %v", paths["LLMOPS_TRAIN_PATH"], err)
		}
		out := writeTree(t, map[string]string{"model/weights.bin": "trained"})
		id, err := remote.Push(ctx, cfg, cache, filepath.Join(out, "model"), true, remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := remote.Fetch(ctx, cfg, t.TempDir(), id, remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(p, "weights.bin")); string(b) != "trained" {
			t.Fatalf("fetched %q", b)
		}
	})
}

// brokenBackend fails everything: it stands for a store that is offline.
type brokenBackend struct{ backend.Backend }

func (brokenBackend) URL() string { return "s3://offline" }
func (brokenBackend) Stat(context.Context, artifacts.ID) (backend.Object, error) {
	return backend.Object{}, &backend.Error{URL: "s3://offline", Op: "look up", Reason: backend.Unreachable}
}

// A store that does not exist (a misspelt bucket, an unmounted shared
// directory) is an error, never an empty store in which every recorded
// artifact would look gone.
func TestMissingStoreIsAnError(t *testing.T) {
	ctx := context.Background()
	id := artifacts.ID("sha256:" + strings.Repeat("cd", 32))
	cases := map[string]func(t *testing.T) remote.Config{
		"dir": func(t *testing.T) remote.Config { return remote.Config{URL: filepath.Join(t.TempDir(), "not-mounted")} },
		"s3": func(t *testing.T) remote.Config {
			a := testenv.NeedAWS(t)
			a.Setenv(t)
			return remote.Config{URL: "s3://no-such-bucket-" + strings.ToLower(t.Name()[len(t.Name())-2:]) + "x/llmops", PathStyle: true}
		},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			c := cfg(t)
			s, err := remote.OpenStore(ctx, t.TempDir(), c, remote.Options{})
			if err == nil {
				_, err = s.Exists(ctx, id)
			}
			if backend.ReasonOf(err) != backend.NoStore || !strings.Contains(err.Error(), c.URL) {
				t.Fatalf("%v", err)
			}
		})
	}
}
