package s3

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// PutBlob uploads the file at path under id: nothing when the bucket has
// it (a HEAD), one PUT up to the multipart threshold, else a multipart upload of
// parallel parts read straight from the file (memory does not grow with
// the size). The file is hashed while it is uploaded; the upload is
// completed (made visible) only when the hash is id. An upload killed
// half-way is resumed by the next push of the same blob: the parts
// already uploaded (same size, same MD5) are kept.
func (s *Store) PutBlob(ctx context.Context, id artifacts.ID, path string, size int64, c backend.Counter) error {
	op := "push " + string(id)
	if err := s.checkBucket(ctx, op); err != nil {
		return err
	}
	if ok, err := s.HasBlob(ctx, id); err != nil || ok {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if c == nil {
		c = backend.Discard{}
	}
	if size <= max(s.threshold, s.partSizeFor(size)) {
		return s.putSingle(ctx, op, id, f, size, c)
	}
	return s.putMultipart(ctx, op, id, f, size, c)
}

// partSizeFor is the part size for a blob of size bytes.
func (s *Store) partSizeFor(size int64) int64 {
	ps := s.partSize
	if need := (size + maxParts - 1) / maxParts; need > ps {
		ps = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps
}

func (s *Store) putSingle(ctx context.Context, op string, id artifacts.ID, f *os.File, size int64, c backend.Counter) error {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		return err
	}
	if got := artifacts.IDFromSum(h.Sum(nil)); got != id {
		return corruptLocal(s.url, op, id, got)
	}
	if !s.acquire(ctx) {
		return s.fail(op, ctx.Err())
	}
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.key(id)), ContentLength: aws.Int64(size),
		Body: &countingSection{SectionReader: io.NewSectionReader(f, 0, size), c: c},
	})
	s.release()
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

type part struct {
	num       int32
	off, size int64
	etag      string
}

func (s *Store) putMultipart(ctx context.Context, op string, id artifacts.ID, f *os.File, size int64, c backend.Counter) error {
	ps := s.partSizeFor(size)
	var parts []*part
	for off, n := int64(0), int32(1); off < size; off, n = off+ps, n+1 {
		parts = append(parts, &part{num: n, off: off, size: min(ps, size-off)})
	}
	key := s.key(id)
	uploadID, err := s.resume(ctx, key, f, parts, c)
	if err != nil {
		return s.fail(op, err)
	}
	if uploadID == "" {
		out, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
		if err != nil {
			return s.fail(op, err)
		}
		uploadID = aws.ToString(out.UploadId)
	}
	g, gctx := errgroup.WithContext(ctx)
	// The hash of the whole file, read in order beside the parallel parts
	// (which read it out of order): the upload completes only if it is id.
	var sum artifacts.ID
	g.Go(func() error {
		h := sha256.New()
		buf := make([]byte, 1<<20)
		if _, err := io.CopyBuffer(h, onlyReader{io.NewSectionReader(f, 0, size)}, buf); err != nil {
			return err
		}
		sum = artifacts.IDFromSum(h.Sum(nil))
		return nil
	})
	todo := make(chan *part)
	g.Go(func() error {
		defer close(todo)
		for _, p := range parts {
			if p.etag != "" {
				continue
			}
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
				if !s.acquire(gctx) {
					return gctx.Err()
				}
				out, err := s.client.UploadPart(gctx, &awss3.UploadPartInput{
					Bucket: &s.bucket, Key: &key, UploadId: &uploadID, PartNumber: aws.Int32(p.num),
					ContentLength: aws.Int64(p.size), Body: &countingSection{SectionReader: io.NewSectionReader(f, p.off, p.size), c: c},
				})
				s.release()
				if err != nil {
					return err
				}
				p.etag = aws.ToString(out.ETag)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		// The parts stay for a resumed push; nothing is visible under id.
		return s.fail(op, err)
	}
	if sum != id {
		_, _ = s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID})
		return corruptLocal(s.url, op, id, sum)
	}
	done := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(p.num), ETag: aws.String(p.etag)}
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	if err != nil {
		// Another machine pushing the same blob may have completed this
		// upload first: then the blob is there, and all is well.
		if ok, herr := s.HasBlob(ctx, id); herr == nil && ok {
			return nil
		}
		return s.fail(op, err)
	}
	return nil
}

// resume looks for an unfinished upload of key and keeps the parts that
// match the file (same size and MD5 as ours); it returns "" when there is
// none to resume.
func (s *Store) resume(ctx context.Context, key string, f *os.File, parts []*part, c backend.Counter) (string, error) {
	ups, err := s.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &key})
	if err != nil {
		return "", err
	}
	var uploadID string
	for _, u := range ups.Uploads {
		if aws.ToString(u.Key) == key {
			uploadID = aws.ToString(u.UploadId)
			break
		}
	}
	if uploadID == "" {
		return "", nil
	}
	byNum := map[int32]*part{}
	for _, p := range parts {
		byNum[p.num] = p
	}
	pg := awss3.NewListPartsPaginator(s.client, &awss3.ListPartsInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID})
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(s.concurrency)
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			if backend.IsNotFound(s.fail("", err)) || strings.Contains(err.Error(), "NoSuchUpload") {
				return "", nil // completed or aborted meanwhile
			}
			return "", err
		}
		for _, up := range page.Parts {
			p := byNum[aws.ToInt32(up.PartNumber)]
			if p == nil || aws.ToInt64(up.Size) != p.size {
				continue
			}
			etag := aws.ToString(up.ETag)
			g.Go(func() error {
				h := md5.New()
				if _, err := io.Copy(h, io.NewSectionReader(f, p.off, p.size)); err != nil {
					return err
				}
				if strings.Trim(etag, `"`) == hex.EncodeToString(h.Sum(nil)) {
					mu.Lock()
					p.etag = etag
					mu.Unlock()
					c.Add(p.size)
				}
				return nil
			})
		}
	}
	return uploadID, g.Wait()
}

func corruptLocal(url, op string, id, got artifacts.ID) error {
	return &backend.Error{URL: url, Op: op, Reason: backend.Corrupt, Detail: fmt.Sprintf("the local copy hashes to %s", got),
		Hint: "Nothing was published under the digest. The local artifact changed since it was stored: llmops artifacts verify " + string(id)}
}

// countingSection counts the bytes read for progress, once each: a retry
// that seeks back and reads again is not counted twice.
type countingSection struct {
	*io.SectionReader
	c         backend.Counter
	pos, high int64
}

func (r *countingSection) Read(p []byte) (int, error) {
	n, err := r.SectionReader.Read(p)
	r.pos += int64(n)
	if r.pos > r.high {
		r.c.Add(r.pos - r.high)
		r.high = r.pos
	}
	return n, err
}

func (r *countingSection) Seek(off int64, whence int) (int64, error) {
	n, err := r.SectionReader.Seek(off, whence)
	if err == nil {
		r.pos = n
	}
	return n, err
}

// onlyReader hides WriterTo so that io.CopyBuffer uses the buffer given.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
