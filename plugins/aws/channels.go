package aws

import (
	"bytes"
	"context"
	"fmt"
	"path"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	for _, f := range files {
		_, err := m.s3.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:     awssdk.String(m.bucket),
			Key:        awssdk.String(prefix + f.Path),
			CopySource: awssdk.String(m.bucket + "/" + m.prefix + "sha256/" + f.ID.Hex()),
		})
		if err != nil {
			return "", &callError{op: "S3 CopyObject", what: fmt.Sprintf("laying out %s for SageMaker (%s)", pid.Short(), path.Join(uri, f.Path)), err: err}
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
