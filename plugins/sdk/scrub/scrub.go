package scrub

import (
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Mask is what a secret is replaced with.
const Mask = "(sensitive)"

// MinLen is the length (in bytes) under which a value is not scrubbed.
const MinLen = 4

// Set is a set of secrets, safe for concurrent use. The zero value is an
// empty set, ready to use; a nil *Set scrubs nothing.
type Set struct {
	mu       sync.RWMutex
	secrets  map[string]bool
	dirty    bool     // secrets changed since variants and rep were built
	variants []string // every form of every secret, longest first
	rep      *strings.Replacer
	// byFirst indexes variants by their first byte, for holdBack;
	// newlines says whether a variant contains a line break (if none does,
	// text that ends a line holds nothing back).
	byFirst  map[byte][]string
	newlines bool
	maxLen   int
}

// New returns a set holding secrets.
func New(secrets ...string) *Set {
	s := &Set{}
	s.Add(secrets...)
	return s
}

// Add adds secrets to the set. Empty and short values are ignored.
func (s *Set) Add(secrets ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if len(v) < MinLen || strings.TrimSpace(v) == "" || s.secrets[v] {
			continue
		}
		if s.secrets == nil {
			s.secrets = map[string]bool{}
		}
		s.secrets[v] = true
		s.dirty = true // rebuilt when next used: adding many costs one build
	}
}

// built is what rebuild makes, for use without the lock.
type built struct {
	rep      *strings.Replacer
	byFirst  map[byte][]string
	newlines bool
	maxLen   int
}

// current returns the replacer and the index, rebuilding them first when
// secrets were added.
func (s *Set) current() built {
	s.mu.RLock()
	if !s.dirty {
		b := built{s.rep, s.byFirst, s.newlines, s.maxLen}
		s.mu.RUnlock()
		return b
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirty {
		s.rebuild()
		s.dirty = false
	}
	return built{s.rep, s.byFirst, s.newlines, s.maxLen}
}

// Merge adds every secret of o to s.
func (s *Set) Merge(o *Set) {
	if s == nil || o == nil || s == o {
		return
	}
	s.Add(o.List()...)
}

// List returns the secrets of the set (sorted), for handing them to
// another process.
func (s *Set) List() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.secrets))
	for v := range s.secrets {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Len is the number of secrets in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.secrets)
}

// Contains reports whether text holds a secret of the set.
func (s *Set) Contains(text string) bool {
	return s.String(text) != text
}

func (s *Set) rebuild() {
	seen := map[string]bool{}
	var vs []string
	for v := range s.secrets {
		for _, f := range forms(v) {
			if len(f) >= MinLen && !seen[f] {
				seen[f] = true
				vs = append(vs, f)
			}
		}
	}
	// Longest first: a secret that contains another is replaced whole.
	sort.Slice(vs, func(i, j int) bool {
		if len(vs[i]) != len(vs[j]) {
			return len(vs[i]) > len(vs[j])
		}
		return vs[i] < vs[j]
	})
	pairs := make([]string, 0, 2*len(vs))
	for _, v := range vs {
		pairs = append(pairs, v, Mask)
	}
	s.variants = vs
	s.rep = strings.NewReplacer(pairs...)
	s.byFirst = map[byte][]string{}
	s.newlines, s.maxLen = false, 0
	for _, v := range vs {
		s.maxLen = max(s.maxLen, len(v))
		s.byFirst[v[0]] = append(s.byFirst[v[0]], v)
		s.newlines = s.newlines || strings.ContainsAny(v, "\n\r")
	}
}

// forms are the ways a secret appears in text: as is, inside a JSON or Go
// string literal, inside shell single quotes, and URL-escaped.
func forms(v string) []string {
	out := []string{v}
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1])
	out = append(out, strings.ReplaceAll(v, `'`, `'\''`))
	out = append(out, url.QueryEscape(v), url.PathEscape(v))
	return out
}

// String returns text with every secret replaced by Mask.
func (s *Set) String(text string) string {
	if s == nil {
		return text
	}
	rep := s.current().rep
	if rep == nil {
		return text
	}
	return rep.Replace(text)
}

// Strings scrubs each element of texts (a new slice).
func (s *Set) Strings(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = s.String(t)
	}
	return out
}

// Error returns err with its message scrubbed. errors.Is and errors.As
// still see the original chain; only Error() changes.
func (s *Set) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := s.String(msg)
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

var _ interface{ Unwrap() error } = (*scrubbed)(nil)

// holdBack returns how many bytes at the end of text must wait for more
// input: the longest suffix that is the beginning of a secret (in any
// form) but not all of it.
func (s *Set) holdBack(text string) int {
	b := s.current()
	if text == "" || (!b.newlines && (text[len(text)-1] == '\n' || text[len(text)-1] == '\r')) {
		return 0 // no secret spans a line break
	}
	// From the earliest start (the longest suffix) on: the first suffix
	// that begins a secret is the longest one.
	for i := max(0, len(text)-b.maxLen+1); i < len(text); i++ {
		k := len(text) - i
		for _, v := range b.byFirst[text[i]] {
			if len(v) > k && strings.HasPrefix(v, text[i:]) {
				return k
			}
		}
	}
	return 0
}

// ErrClosed is returned by a Writer's Write after Close.
var ErrClosed = errors.New("scrub: write after close")
