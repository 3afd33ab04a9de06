package artifacts

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cache remembers the sha256 of files by path and stat (device, inode,
// size, mtime, ctime), so that an unchanged file is not read again. A
// Cache is safe for concurrent use; Save persists it.
type Cache struct {
	path string
	mu   sync.Mutex
	m    map[string]cacheEntry
	// dirty: entries added since the last load or save.
	dirty map[string]cacheEntry
}

type cacheEntry struct {
	st   fileStat
	hex  string
	seen int64 // unix seconds of the last use
}

const (
	cacheHeader = "llmops-digest-cache-v1"
	// racyWindow: files changed this recently are not cached.
	racyWindow = time.Second
	// cacheMaxAge: entries unused this long are dropped on save.
	cacheMaxAge = 60 * 24 * time.Hour
)

// OpenCache loads the cache persisted at path (a missing or unreadable
// file gives an empty cache: it is only a cache).
func OpenCache(path string) *Cache {
	c := &Cache{path: path, m: map[string]cacheEntry{}, dirty: map[string]cacheEntry{}}
	c.m = readCache(path)
	return c
}

func readCache(path string) map[string]cacheEntry {
	m := map[string]cacheEntry{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || sc.Text() != cacheHeader {
		return m
	}
	for sc.Scan() {
		// hex dev ino size mtime ctime seen path
		fields := strings.SplitN(sc.Text(), " ", 8)
		if len(fields) != 8 || len(fields[0]) != 64 {
			continue
		}
		var nums [6]int64
		ok := true
		for i := 0; i < 6; i++ {
			v, err := strconv.ParseInt(fields[i+1], 10, 64)
			if err != nil {
				ok = false
				break
			}
			nums[i] = v
		}
		if !ok {
			continue
		}
		m[fields[7]] = cacheEntry{
			st:  fileStat{dev: uint64(nums[0]), ino: uint64(nums[1]), size: nums[2], mtime: nums[3], ctime: nums[4]},
			hex: fields[0], seen: nums[5],
		}
	}
	return m
}

func (c *Cache) lookup(path string, st fileStat) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[path]
	if !ok || !e.st.same(st) {
		return "", false
	}
	now := time.Now().Unix()
	if now-e.seen > 3600 { // refresh the last-use time now and then
		e.seen = now
		c.m[path] = e
		c.dirty[path] = e
	}
	return e.hex, true
}

// put records a digest computed by a read that started at start, unless the
// file changed too shortly before (see racyWindow).
func (c *Cache) put(path string, st fileStat, hex string, start time.Time) {
	limit := start.Add(-racyWindow).UnixNano()
	if st.mtime >= limit || (st.ctime != 0 && st.ctime >= limit) || strings.ContainsAny(path, "\n\r") {
		return
	}
	e := cacheEntry{st: st, hex: hex, seen: time.Now().Unix()}
	c.mu.Lock()
	c.m[path] = e
	c.dirty[path] = e
	c.mu.Unlock()
}

// putTrusted records a digest known to be right without the racy check.
func (c *Cache) putTrusted(path string, st fileStat, hex string) {
	e := cacheEntry{st: st, hex: hex, seen: time.Now().Unix()}
	c.mu.Lock()
	c.m[path] = e
	c.dirty[path] = e
	c.mu.Unlock()
}

// Forget drops the entries of path and of every file under it.
func (c *Cache) Forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := path + string(filepath.Separator)
	for p := range c.m {
		if p == path || strings.HasPrefix(p, prefix) {
			delete(c.m, p)
			delete(c.dirty, p)
		}
	}
}

// Len returns the number of entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Save writes the cache back, merged with what other processes saved in
// the meantime, atomically (temporary file and rename). It does nothing
// when nothing changed.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dirty) == 0 || c.path == "" {
		return nil
	}
	merged := readCache(c.path)
	for p, e := range c.m {
		if old, ok := merged[p]; !ok || old.seen <= e.seen {
			merged[p] = e
		}
	}
	for p, e := range c.dirty {
		merged[p] = e
	}
	cutoff := time.Now().Add(-cacheMaxAge).Unix()
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".digests-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	fmt.Fprintln(w, cacheHeader)
	for p, e := range merged {
		if e.seen < cutoff {
			delete(merged, p)
			continue
		}
		fmt.Fprintf(w, "%s %d %d %d %d %d %d %s\n", e.hex, e.st.dev, e.st.ino, e.st.size, e.st.mtime, e.st.ctime, e.seen, p)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return err
	}
	c.m = merged
	c.dirty = map[string]cacheEntry{}
	return nil
}
