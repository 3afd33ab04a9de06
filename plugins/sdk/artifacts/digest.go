package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Digest describes a hashed file or directory tree.
type Digest struct {
	ID ID
	// Dir is true for a directory tree.
	Dir bool
	// Size is the total size of the files' contents; Files their number.
	Size  int64
	Files int
	// BytesRead is how much content was read to compute the digest: 0 when
	// every file's digest came from the cache.
	BytesRead int64
}

// HashOptions adjust how a path is hashed.
type HashOptions struct {
	// Cache, when set, is consulted and filled (see package doc).
	Cache *Cache
	// Workers bounds the files hashed in parallel (default GOMAXPROCS).
	Workers int
	// CheckLink, when set, is called with the resolved target of every
	// symbolic link met inside a tree; an error refuses the tree (e.g. a
	// link escaping the allowed roots).
	CheckLink func(link, target string) error
}

type fileStat struct {
	dev, ino           uint64
	size, mtime, ctime int64
	mode               os.FileMode
}

func (a fileStat) same(b fileStat) bool {
	return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
}

// entry is one regular file of a tree.
type entry struct {
	rel  string // slash-separated path within the tree; "" for a lone file
	abs  string
	st   fileStat
	hex  string
	read int64
}

// HashPath computes the digest of a file or directory tree.
func HashPath(path string, opts HashOptions) (Digest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Digest{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Digest{}, err
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return Digest{}, fmt.Errorf("%s is not a regular file or a directory (%s)", path, fi.Mode().Type())
	}
	var entries []*entry
	if fi.IsDir() {
		entries, err = walk(abs, opts.CheckLink)
		if err != nil {
			return Digest{}, err
		}
	} else {
		entries = []*entry{{abs: abs, st: statOf(fi)}}
	}
	if err := hashEntries(entries, opts); err != nil {
		return Digest{}, err
	}
	d := Digest{Dir: fi.IsDir(), Files: len(entries)}
	for _, e := range entries {
		d.Size += e.st.size
		d.BytesRead += e.read
	}
	if !fi.IsDir() {
		d.ID = ID(Prefix + entries[0].hex)
		return d, nil
	}
	d.ID = treeID(entries)
	return d, nil
}

// walk lists the regular files under root, following symbolic links, in
// sorted order of their slash-separated relative paths.
func walk(root string, checkLink func(link, target string) error) ([]*entry, error) {
	var out []*entry
	type dirID struct{ dev, ino uint64 }
	onStack := map[dirID]bool{}
	var visit func(dir, rel string, st fileStat) error
	visit = func(dir, rel string, st fileStat) error {
		id := dirID{st.dev, st.ino}
		if st.ino != 0 {
			if onStack[id] {
				return fmt.Errorf("%s: a symbolic link loop", dir)
			}
			onStack[id] = true
			defer delete(onStack, id)
		}
		des, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, de := range des {
			full := filepath.Join(dir, de.Name())
			r := de.Name()
			if rel != "" {
				r = rel + "/" + de.Name()
			}
			var fi os.FileInfo
			if de.Type()&os.ModeSymlink != 0 {
				target, err := filepath.EvalSymlinks(full)
				if err != nil {
					return fmt.Errorf("%s: broken symbolic link: %w", full, err)
				}
				if checkLink != nil {
					if err := checkLink(full, target); err != nil {
						return err
					}
				}
				fi, err = os.Stat(full)
				if err != nil {
					return err
				}
			} else {
				fi, err = de.Info()
				if err != nil {
					return err
				}
			}
			switch {
			case fi.IsDir():
				if err := visit(full, r, statOf(fi)); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				out = append(out, &entry{rel: r, abs: full, st: statOf(fi)})
			default:
				return fmt.Errorf("%s is not a regular file or a directory (%s); artifacts hold only files and directories", full, fi.Mode().Type())
			}
		}
		return nil
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if err := visit(root, "", statOf(fi)); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// bufSize is the read buffer of the hashers.
const bufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// hashEntries fills in the digest of every entry, from the cache when it
// can, otherwise by reading the files in parallel.
func hashEntries(entries []*entry, opts HashOptions) error {
	start := time.Now()
	var todo []*entry
	for _, e := range entries {
		if opts.Cache != nil {
			if h, ok := opts.Cache.lookup(e.abs, e.st); ok {
				e.hex = h
				continue
			}
		}
		todo = append(todo, e)
	}
	if len(todo) == 0 {
		return nil
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(todo) {
		workers = len(todo)
	}
	// Big files first, so that one large file at the end does not leave
	// the other workers idle.
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].st.size > todo[j].st.size })
	next := make(chan *entry)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			for e := range next {
				if err := hashOne(e, *bp, opts.Cache, start); err != nil {
					errs <- err
					for range next { // drain
					}
					return
				}
			}
		}()
	}
	for _, e := range todo {
		next <- e
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// errChanged reports a file that changed while it was read.
var errChanged = errors.New("changed while being hashed")

func hashOne(e *entry, buf []byte, cache *Cache, start time.Time) error {
	f, err := os.Open(e.abs)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, onlyReader{f}, buf)
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.abs, err)
	}
	e.read = n
	e.hex = hex.EncodeToString(h.Sum(nil))
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	after := statOf(fi)
	if !after.same(e.st) || n != e.st.size {
		// The digest is of the bytes read, but the file moved on: do not
		// cache it, and record what was read.
		e.st = after
		e.st.size = n
		return nil
	}
	if cache != nil {
		cache.put(e.abs, e.st, e.hex, start)
	}
	return nil
}

// onlyReader hides WriterTo/ReaderFrom so that io.CopyBuffer uses our buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
