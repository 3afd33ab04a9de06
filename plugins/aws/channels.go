package aws

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

// viewDone marks a complete view: written last, so a view is used only
// once every file of it was copied.
const viewDone = ".llmops-view-complete"

// view lays an artifact of the store out under PREFIX/views/<hex>/ as the
// files it holds, with their names (the store keeps blobs by their hash),
// by server-side copies of its blobs: nothing is downloaded or uploaded
// again. It returns the view's S3 URI (a prefix ending in "/"), for an
// input channel or a model's data. A file artifact is laid out as one
// file named name.
func (m *meta) view(ctx context.Context, id, name string) (string, error) {
	pid, err := artifacts.ParseID(id)
	if err != nil {
		return "", err
	}
	local, err := m.store.Ensure(ctx, pid)
	if err != nil {
		return "", err
	}
	if err := m.store.Push(ctx, pid); err != nil {
		return "", fmt.Errorf("uploading %s to the artifact store: %w", pid.Short(), err)
	}
	prefix := m.prefix + "views/" + pid.Hex() + "/"
	uri := m.s3URI(m.bucket, prefix)
	if _, err := m.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(prefix + viewDone)}); err == nil {
		return uri, nil
	}
	files := []artifacts.TreeFile{{Path: name, ID: pid}}
	if info, err := m.store.Stat(pid); err == nil && info.Dir {
		if _, files, err = m.store.Listing(pid); err != nil {
			return "", fmt.Errorf("reading the listing of %s (%s): %w", pid.Short(), local, err)
		}
	}
	dir := len(files) != 1 || files[0].ID != pid
	for _, f := range files {
		src := local
		if dir {
			src = filepath.Join(local, filepath.FromSlash(f.Path))
		}
		var size int64 = -1
		if fi, err := os.Stat(src); err == nil {
			size = fi.Size()
		}
		if err := m.copyObject(ctx, m.prefix+"sha256/"+f.ID.Hex(), prefix+f.Path, size); err != nil {
			return "", &callError{op: err.op, what: fmt.Sprintf("laying out %s for SageMaker (%s)", pid.Short(), path.Join(uri, f.Path)), err: err.err}
		}
	}
	_, err = m.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(prefix + viewDone), Body: bytes.NewReader(nil)})
	if err != nil {
		return "", &callError{op: "S3 PutObject", what: "marking the view of " + pid.Short() + " complete", err: err}
	}
	return uri, nil
}

// callError is a failed AWS call with what it was for; diags renders it.
type callError struct {
	op, what string
	err      error
}

func (e *callError) Error() string { return e.what + ": " + e.op + ": " + shortErr(e.err) }
func (e *callError) Unwrap() error { return e.err }

// errDiags renders an error from the provider's helpers: an AWS call's
// with its operation, code and advice; others as they are.
func errDiags(summary string, err error) sdk.Diagnostics {
	if ce, ok := err.(*callError); ok {
		return opError(ce.op, ce.what, ce.err)
	}
	var d sdk.Diagnostics
	d.FromError(summary, err)
	return d
}

// maxSingleCopy is the largest object one CopyObject copies (S3's limit,
// 5 GiB); copyPartSize is the part size of a multipart copy above it.
// Variables so that tests can exercise the multipart path on small files.
var (
	maxSingleCopy int64 = 5 << 30
	copyPartSize  int64 = 1 << 30
)

// copyErr is a failed S3 call of copyObject.
type copyErr struct {
	op  string
	err error
}

// copyObject copies key src of the bucket to dst on the server: one
// CopyObject up to maxSingleCopy, a multipart copy (UploadPartCopy, parts
// of copyPartSize) above it, aborted if a part fails so that no partial
// object is left. size < 0: unknown, read with HeadObject.
func (m *meta) copyObject(ctx context.Context, src, dst string, size int64) *copyErr {
	source := m.bucket + "/" + src
	if size < 0 {
		h, err := m.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(src)})
		if err != nil {
			return &copyErr{"S3 HeadObject", err}
		}
		size = awssdk.ToInt64(h.ContentLength)
	}
	if size <= maxSingleCopy {
		if _, err := m.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(dst), CopySource: awssdk.String(source)}); err != nil {
			return &copyErr{"S3 CopyObject", err}
		}
		return nil
	}
	up, err := m.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(dst)})
	if err != nil {
		return &copyErr{"S3 CreateMultipartUpload", err}
	}
	abort := func(op string, err error) *copyErr {
		_, _ = m.s3.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(dst), UploadId: up.UploadId})
		return &copyErr{op, err}
	}
	var parts []s3types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+copyPartSize {
		end := min(off+copyPartSize, size) - 1
		r, err := m.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(dst), UploadId: up.UploadId,
			PartNumber: awssdk.Int32(n), CopySource: awssdk.String(source), CopySourceRange: awssdk.String(fmt.Sprintf("bytes=%d-%d", off, end))})
		if err != nil {
			return abort("S3 UploadPartCopy", err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: awssdk.Int32(n), ETag: r.CopyPartResult.ETag})
	}
	if _, err := m.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: awssdk.String(m.bucket), Key: awssdk.String(dst), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return abort("S3 CompleteMultipartUpload", err)
	}
	return nil
}
