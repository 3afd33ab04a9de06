package aws

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	s3store "github.com/llmops/llmops/plugins/sdk/artifacts/remote/s3"
)

// maxOutput bounds what is extracted from a job's output archive (a
// corrupt or hostile archive cannot fill the disk).
const maxOutput = 1 << 40

// fetchOutput downloads the job's output archive (SageMaker's
// model.tar.gz: everything the job wrote to LLMOPS_OUTPUT_DIR =
// /opt/ml/model) and extracts it into a fresh directory under the store's
// staging area, which the caller removes.
func (m *meta) fetchOutput(ctx context.Context, uri string) (string, error) {
	bucket, key, err := s3store.ParseURL(uri)
	if err != nil {
		return "", fmt.Errorf("the job's output location %q: %w", uri, err)
	}
	resp, err := m.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key)})
	if err != nil {
		return "", &callError{op: "S3 GetObject", what: "reading the job's output " + uri, err: err}
	}
	defer resp.Body.Close()
	dir, err := os.MkdirTemp(m.store.Root(), ".aws-output-")
	if err != nil {
		return "", err
	}
	if err := untar(resp.Body, dir); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("extracting the job's output %s: %w", uri, err)
	}
	return dir, nil
}

// untar extracts a gzip'd tar of regular files and directories into dir,
// refusing paths that leave it and anything else (links, devices).
func untar(r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." {
			continue
		}
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("the archive holds %q, outside its root", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > maxOutput {
				return fmt.Errorf("the archive is larger than %d bytes", int64(maxOutput))
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("the archive holds %q, which is not a regular file or directory", h.Name)
		}
	}
}
