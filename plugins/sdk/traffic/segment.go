package traffic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Segment file names: seg-<8 digits>.jsonl sealed, with ".open" while it
// is written.
const (
	segPrefix  = "seg-"
	segSuffix  = ".jsonl"
	openSuffix = ".open"
)

// Writer defaults.
const (
	DefaultSegmentRows = 1000
	DefaultSealAfter   = time.Minute
)

// ErrFull: the capture holds max_rows exchanges; nothing more is written.
var ErrFull = errors.New("the capture holds max_rows rows")

// WriterOptions tune a Writer.
type WriterOptions struct {
	// SegmentRows seals a segment once it holds this many records
	// (default DefaultSegmentRows).
	SegmentRows int
	// SealAfter seals a segment once its first record is this old, at the
	// next Append or Tick (default DefaultSealAfter).
	SealAfter time.Duration
	// MaxRows is the most exchanges the capture holds (0: no limit):
	// past it, Append refuses exchanges with ErrFull (feedback is still
	// written).
	MaxRows int64
}

// Writer appends records to a deployment's open segment. It is not safe
// for concurrent use: the gateway has one writer goroutine.
type Writer struct {
	dir       string
	opts      WriterOptions
	f         *os.File
	bw        *bufio.Writer
	seq       int
	rows      int
	first     time.Time
	exchanges int64
}

// OpenWriter opens the traffic directory dir for appending (creating it,
// mode 0700). A segment left open by a gateway that died is sealed first,
// without its last line if that is partial.
func OpenWriter(dir string, opts WriterOptions) (*Writer, error) {
	if opts.SegmentRows <= 0 {
		opts.SegmentRows = DefaultSegmentRows
	}
	if opts.SealAfter <= 0 {
		opts.SealAfter = DefaultSealAfter
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, opts: opts}
	segs, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	for _, s := range segs {
		if s.Seq > w.seq {
			w.seq = s.Seq
		}
		if !s.Sealed {
			if err := sealLeftover(filepath.Join(dir, s.Name)); err != nil {
				return nil, err
			}
		}
	}
	recs, err := ReadRecords(dir, true)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Type == TypeExchange {
			w.exchanges++
		}
	}
	return w, nil
}

// sealLeftover cuts a dead writer's segment after its last complete line
// and seals it.
func sealLeftover(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 != len(b) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return err
		}
	}
	return seal(path)
}

func seal(open string) error {
	if err := os.Chmod(open, 0o400); err != nil {
		return err
	}
	return os.Rename(open, strings.TrimSuffix(open, openSuffix))
}

// Exchanges is the number of exchanges the capture holds.
func (w *Writer) Exchanges() int64 { return w.exchanges }

// Append writes one record (already redacted) to the open segment,
// opening one if needed, and seals it when it is full or old.
func (w *Writer) Append(rec Record) error {
	if rec.Type == TypeExchange && w.opts.MaxRows > 0 && w.exchanges >= w.opts.MaxRows {
		return ErrFull
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if w.f == nil {
		w.seq++
		name := filepath.Join(w.dir, fmt.Sprintf("%s%08d%s%s", segPrefix, w.seq, segSuffix, openSuffix))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		w.f, w.bw, w.rows, w.first = f, bufio.NewWriter(f), 0, time.Now()
	}
	if _, err := w.bw.Write(append(b, '\n')); err != nil {
		return err
	}
	w.rows++
	if rec.Type == TypeExchange {
		w.exchanges++
	}
	if w.rows >= w.opts.SegmentRows {
		return w.Seal()
	}
	return w.Tick()
}

// Flush writes buffered records to the open segment's file.
func (w *Writer) Flush() error {
	if w.bw == nil {
		return nil
	}
	return w.bw.Flush()
}

// Tick seals the open segment once its first record is SealAfter old.
func (w *Writer) Tick() error {
	if w.f != nil && time.Since(w.first) >= w.opts.SealAfter {
		return w.Seal()
	}
	return nil
}

// Seal completes the open segment (if any): flushed, synced, renamed to
// its sealed name and made read-only.
func (w *Writer) Seal() error {
	if w.f == nil {
		return nil
	}
	f := w.f
	err := w.bw.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	w.f, w.bw = nil, nil
	if err != nil {
		return err
	}
	return seal(f.Name())
}

// Close seals the open segment.
func (w *Writer) Close() error { return w.Seal() }

// Segment is one segment file.
type Segment struct {
	Name   string `json:"name"`
	Seq    int    `json:"seq"`
	Sealed bool   `json:"sealed"`
	Bytes  int64  `json:"bytes"`
}

// Segments lists a traffic directory's segments in order (none when the
// directory does not exist).
func Segments(dir string) ([]Segment, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Segment
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, segPrefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		sealed := !strings.HasSuffix(rest, openSuffix)
		rest = strings.TrimSuffix(strings.TrimSuffix(rest, openSuffix), segSuffix)
		seq, err := strconv.Atoi(rest)
		if err != nil || seq <= 0 {
			continue
		}
		var size int64
		if fi, err := e.Info(); err == nil {
			size = fi.Size()
		}
		out = append(out, Segment{Name: name, Seq: seq, Sealed: sealed, Bytes: size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// ReadRecords reads the records of a traffic directory in order: the
// sealed segments' and, unless sealedOnly, the open segment's complete
// lines.
func ReadRecords(dir string, sealedOnly bool) ([]Record, error) {
	segs, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, s := range segs {
		if sealedOnly && !s.Sealed {
			continue
		}
		p := filepath.Join(dir, s.Name)
		recs, err := readSegment(p, !s.Sealed)
		if errors.Is(err, os.ErrNotExist) && !s.Sealed {
			// Sealed (renamed) since the listing.
			recs, err = readSegment(strings.TrimSuffix(p, openSuffix), false)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func readSegment(path string, open bool) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var out []Record
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(bytes.TrimSpace(line)) > 0 && !open {
				return nil, fmt.Errorf("%s:%d: the last line is incomplete", path, n)
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		out = append(out, r)
	}
}
