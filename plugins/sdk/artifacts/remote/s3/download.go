package s3

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// GetBlob downloads the blob id into dst: the first part by one ranged
// GET (which tells the size), the rest by parallel ranged GETs written in
// place. The file is hashed in order as the parts land, so the digest is
// known when the last byte is; a blob whose bytes are not id, or that
// ends early, is refused (dst removed).
func (s *Store) GetBlob(ctx context.Context, id artifacts.ID, dst string, c backend.Counter) (err error) {
	op := "fetch " + string(id)
	if c == nil {
		c = backend.Discard{}
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	ps := s.partSize
	h := sha256.New()
	// The first part, hashed as it is written.
	total, n, err := s.getRange(ctx, id, f, 0, ps, io.MultiWriter(h, counterWriter{c}))
	if err != nil {
		return s.fail(op, err)
	}
	if total < 0 { // the server ignored the range: n is the whole blob
		total = n
	}
	if n != min(ps, total) {
		return truncated(s.url, op, n, min(ps, total))
	}
	if total > n {
		if err := s.getRest(ctx, id, f, ps, total, h, c); err != nil {
			if backend.ReasonOf(err) == backend.Corrupt {
				return err
			}
			return s.fail(op, err)
		}
	}
	if got := artifacts.IDFromSum(h.Sum(nil)); got != id {
		return &backend.Error{URL: s.url, Op: op, Reason: backend.Corrupt, Detail: "its bytes hash to " + string(got)}
	}
	return nil
}

// getRest downloads [ps, total) in parts of ps bytes, concurrently, while
// one goroutine hashes the file in order behind them.
func (s *Store) getRest(ctx context.Context, id artifacts.ID, f *os.File, ps, total int64, h io.Writer, c backend.Counter) error {
	type rng struct {
		off, size int64
		done      chan struct{}
	}
	var parts []*rng
	for off := ps; off < total; off += ps {
		parts = append(parts, &rng{off: off, size: min(ps, total-off), done: make(chan struct{})})
	}
	g, gctx := errgroup.WithContext(ctx)
	todo := make(chan *rng)
	g.Go(func() error {
		defer close(todo)
		for _, p := range parts {
			select {
			case todo <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for w := 0; w < s.concurrency; w++ {
		g.Go(func() error {
			for p := range todo {
				var err error
				for try := 0; try < 3; try++ { // a body cut mid-way is asked for again
					var n int64
					_, n, err = s.getRange(gctx, id, f, p.off, p.size, counterWriter{c})
					if err == nil && n != p.size {
						err = truncated(s.url, "fetch "+string(id), p.off+n, p.off+p.size)
					}
					if err == nil || gctx.Err() != nil {
						break
					}
				}
				if err != nil {
					return err
				}
				close(p.done)
			}
			return nil
		})
	}
	g.Go(func() error {
		buf := make([]byte, 1<<20)
		for _, p := range parts {
			select {
			case <-p.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if _, err := io.CopyBuffer(h, onlyReader{io.NewSectionReader(f, p.off, p.size)}, buf); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// getRange GETs [off, off+size) of the blob into f at off (also writing
// what it reads to also), and returns the blob's total size from
// Content-Range (-1 when the server sent the whole blob) and the bytes
// written.
func (s *Store) getRange(ctx context.Context, id artifacts.ID, f *os.File, off, size int64, also io.Writer) (total, n int64, err error) {
	if !s.acquire(ctx) {
		return 0, 0, ctx.Err()
	}
	defer s.release()
	in := &awss3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(id)), Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+size-1))}
	out, err := s.client.GetObject(ctx, in)
	if err != nil && off == 0 && strings.Contains(err.Error(), "InvalidRange") {
		in.Range = nil // an empty blob has no byte 0
		out, err = s.client.GetObject(ctx, in)
	}
	if err != nil {
		return 0, 0, err
	}
	defer out.Body.Close()
	total = -1
	if cr := aws.ToString(out.ContentRange); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if t, perr := strconv.ParseInt(cr[i+1:], 10, 64); perr == nil {
				total = t
			}
		}
	}
	w := io.MultiWriter(io.NewOffsetWriter(f, off), also)
	body := io.LimitReader(out.Body, size)
	if total < 0 && off == 0 {
		body = out.Body // the whole blob came (no range): take it all
	}
	buf := make([]byte, 1<<20)
	n, err = io.CopyBuffer(w, onlyReader{body}, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // a short body: the caller sees n
	}
	return total, n, err
}

func truncated(url, op string, got, want int64) error {
	return &backend.Error{URL: url, Op: op, Reason: backend.Corrupt, Detail: fmt.Sprintf("truncated: %d of %d bytes", got, want)}
}

type counterWriter struct{ c backend.Counter }

func (w counterWriter) Write(p []byte) (int, error) {
	w.c.Add(int64(len(p)))
	return len(p), nil
}
