package scrub

import (
	"io"
	"sync"
)

// Writer scrubs a stream: what is written to it reaches the underlying
// writer with every secret of its Set replaced by Mask. It holds back only
// a tail that could be the beginning of a secret, until the next write
// shows it is not (or Flush or Close). The set may grow while the Writer
// is in use. Writer is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	set    *Set
	held   string
	closed bool
}

// NewWriter returns a Writer that scrubs what it writes to w with set.
func NewWriter(w io.Writer, set *Set) *Writer {
	return &Writer{w: w, set: set}
}

// Write scrubs p and writes what is certain to w. It reports len(p) on
// success: the caller's bytes are all accepted, even those held back.
func (sw *Writer) Write(p []byte) (int, error) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed {
		return 0, ErrClosed
	}
	if sw.set.Len() == 0 && sw.held == "" {
		if _, err := sw.w.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	text := sw.set.String(sw.held + string(p))
	k := sw.set.holdBack(text)
	out := text[:len(text)-k]
	sw.held = text[len(text)-k:]
	if out != "" {
		if _, err := io.WriteString(sw.w, out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what is held back (scrubbed as it stands).
func (sw *Writer) Flush() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.flushLocked()
}

func (sw *Writer) flushLocked() error {
	if sw.held == "" {
		return nil
	}
	out := sw.set.String(sw.held)
	sw.held = ""
	_, err := io.WriteString(sw.w, out)
	return err
}

// Close flushes; it does not close the underlying writer. Later writes
// fail with ErrClosed.
func (sw *Writer) Close() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed {
		return nil
	}
	sw.closed = true
	return sw.flushLocked()
}
