package aws

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/llmops/llmops/internal/testenv"
)

// A file above the single-copy limit (5 GiB on S3; lowered here) is laid
// out by a multipart copy against the real S3 emulator, byte for byte; at
// or below it, by one CopyObject; a failing part leaves no object.
func TestCopyObjectMultipart(t *testing.T) {
	a := testenv.NeedAWS(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(a.Region), config.WithBaseEndpoint(a.Endpoint),
		config.WithCredentialsProvider(awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
			return awssdk.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := a.NewBucket(t)
	m := &meta{s3: c, bucket: bucket}
	oldMax, oldPart := maxSingleCopy, copyPartSize
	maxSingleCopy, copyPartSize = 6<<20, 5<<20 // S3's smallest part is 5 MiB
	t.Cleanup(func() { maxSingleCopy, copyPartSize = oldMax, oldPart })

	data := bytes.Repeat([]byte("0123456789abcdef"), (13<<20)/16+7) // 13 MiB + 112 B: three parts
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: awssdk.String("src/big"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	small := []byte("small")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: awssdk.String("src/small"), Body: bytes.NewReader(small)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		size int64
		want []byte
	}{{"src/big", int64(len(data)), data}, {"src/big", -1, data}, {"src/small", int64(len(small)), small}} {
		dst := "views/" + strings.TrimPrefix(tc.src, "src/") + "-copy"
		if err := m.copyObject(ctx, tc.src, dst, tc.size); err != nil {
			t.Fatalf("copy %s (size %d): %s: %v", tc.src, tc.size, err.op, err.err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &dst})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, tc.want) {
			t.Fatalf("copy of %s: %d bytes, want %d, equal %v", tc.src, len(got), len(tc.want), bytes.Equal(got, tc.want))
		}
	}
	// A source that does not exist: the multipart copy is aborted and no
	// object is left at the destination.
	if err := m.copyObject(ctx, "src/missing", "views/missing", 13<<20); err == nil || err.op != "S3 UploadPartCopy" {
		t.Fatalf("want a failed UploadPartCopy, got %+v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: awssdk.String("views/missing")}); err == nil {
		t.Fatal("a failed multipart copy left an object")
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("multipart uploads left open: %v %v", ups, err)
	}
}
