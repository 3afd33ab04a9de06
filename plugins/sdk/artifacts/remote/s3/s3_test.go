package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/llmops/llmops/internal/testenv"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// countingClient counts the requests that upload a part, by part number.
type countingClient struct {
	mu    sync.Mutex
	parts map[string]int
	puts  atomic.Int64
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		c.puts.Add(1)
		if n := r.URL.Query().Get("partNumber"); n != "" {
			c.mu.Lock()
			c.parts[n]++
			c.mu.Unlock()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func newStore(t *testing.T, partSize int64) (*Store, *countingClient) {
	t.Helper()
	a := testenv.NeedAWS(t)
	a.Setenv(t)
	bucket := a.NewBucket(t)
	cc := &countingClient{parts: map[string]int{}}
	s, err := New(context.Background(), Options{URL: "s3://" + bucket + "/team/llmops", PathStyle: true, PartSize: partSize, MultipartThreshold: partSize, Concurrency: 3, HTTPClient: cc})
	if err != nil {
		t.Fatal(err)
	}
	return s, cc
}

func randomFile(t *testing.T, size int) (string, artifacts.ID, []byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, artifacts.IDFromSum(sum[:]), b
}

type count struct{ n atomic.Int64 }

func (c *count) Add(n int64) { c.n.Add(n) }

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix, err string }{
		{in: "s3://team-llm/llmops", bucket: "team-llm", prefix: "llmops"},
		{in: "s3://team-llm", bucket: "team-llm"},
		{in: "s3://team-llm/a/b/", bucket: "team-llm", prefix: "a/b"},
		{in: "s3://key:secret@team-llm/x", err: "credentials never go in the URL"},
		{in: "s3:///x", err: "not an S3 URL"},
		{in: "https://team-llm/x", err: "not an S3 URL"},
	} {
		b, p, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: error %v, want %q (and no secret)", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("%s: %q %q %v", tc.in, b, p, err)
		}
	}
}

// A multipart upload (three parts) and a parallel ranged download give the
// same bytes; pushing again is a HEAD, not an upload.
func TestMultipartRoundTrip(t *testing.T) {
	s, cc := newStore(t, 5<<20)
	ctx := context.Background()
	p, id, data := randomFile(t, 12<<20+123)
	var up count
	if err := s.PutBlob(ctx, id, p, int64(len(data)), &up); err != nil {
		t.Fatal(err)
	}
	if up.n.Load() != int64(len(data)) {
		t.Errorf("progress counted %d bytes of %d", up.n.Load(), len(data))
	}
	if len(cc.parts) != 3 {
		t.Errorf("parts uploaded: %v, want 3", cc.parts)
	}
	obj, err := s.Stat(ctx, id)
	if err != nil || obj.Size != int64(len(data)) || obj.Kind != backend.File {
		t.Fatalf("stat: %+v %v", obj, err)
	}
	before := cc.puts.Load()
	if err := s.PutBlob(ctx, id, p, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	if cc.puts.Load() != before {
		t.Errorf("pushing an existing blob uploaded again")
	}
	dst := filepath.Join(t.TempDir(), "got")
	var down count
	if err := s.GetBlob(ctx, id, dst, &down); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, data) || down.n.Load() != int64(len(data)) {
		t.Fatalf("downloaded %d bytes (counted %d), want the %d uploaded", len(got), down.n.Load(), len(data))
	}
}

// An upload killed after its first part is resumed: the part already
// there is kept (not uploaded again), a part with other bytes is redone,
// and nothing is visible under the digest until the upload completes.
func TestResumeUpload(t *testing.T) {
	s, cc := newStore(t, 5<<20)
	ctx := context.Background()
	p, id, data := randomFile(t, 11<<20)
	key := s.key(id)
	up, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	part := func(n int32, b []byte) {
		if _, err := s.client.UploadPart(ctx, &awss3.UploadPartInput{Bucket: &s.bucket, Key: &key, UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b)))}); err != nil {
			t.Fatal(err)
		}
	}
	part(1, data[:5<<20])
	wrong := bytes.Clone(data[5<<20 : 10<<20])
	wrong[0] ^= 0xff
	part(2, wrong)
	if ok, err := s.HasBlob(ctx, id); ok || err != nil {
		t.Fatalf("a half-done upload is visible under its digest: %v %v", ok, err)
	}
	clear(cc.parts)
	if err := s.PutBlob(ctx, id, p, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	if cc.parts["1"] != 0 || cc.parts["2"] != 1 || cc.parts["3"] != 1 {
		t.Errorf("parts uploaded on resume: %v, want 2 and 3 only", cc.parts)
	}
	dst := filepath.Join(t.TempDir(), "got")
	if err := s.GetBlob(ctx, id, dst, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("the resumed upload stored other bytes")
	}
}

// A local file that does not hash to the id it is pushed under is never
// published: single PUT and multipart alike.
func TestCorruptLocalIsNotPublished(t *testing.T) {
	s, _ := newStore(t, 5<<20)
	ctx := context.Background()
	for _, size := range []int{1000, 11 << 20} {
		p, _, _ := randomFile(t, size)
		_, claimed, _ := randomFile(t, 10)
		err := s.PutBlob(ctx, claimed, p, int64(size), nil)
		if backend.ReasonOf(err) != backend.Corrupt || !strings.Contains(err.Error(), "llmops artifacts verify") {
			t.Fatalf("size %d: %v", size, err)
		}
		if ok, _ := s.HasBlob(ctx, claimed); ok {
			t.Fatalf("size %d: a corrupt upload became visible", size)
		}
	}
}

// A blob whose bytes are not its name (or that ends early) is refused,
// and the partial file removed.
func TestCorruptRemoteIsRefused(t *testing.T) {
	s, _ := newStore(t, 5<<20)
	ctx := context.Background()
	for _, size := range []int{100, 11 << 20} {
		_, id, data := randomFile(t, size)
		bad := bytes.Clone(data)
		bad[len(bad)-1] ^= 1
		if _, err := s.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(id)), Body: bytes.NewReader(bad)}); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "got")
		err := s.GetBlob(ctx, id, dst, nil)
		if backend.ReasonOf(err) != backend.Corrupt || !strings.Contains(err.Error(), s.URL()) {
			t.Fatalf("size %d: %v", size, err)
		}
		if _, serr := os.Stat(dst); !os.IsNotExist(serr) {
			t.Fatalf("size %d: the corrupt download was left at %s", size, dst)
		}
	}
}

// Errors name the URL, the operation and what to do, and never carry a
// credential or a raw SDK dump.
func TestErrors(t *testing.T) {
	a := testenv.NeedAWS(t)
	a.Setenv(t)
	ctx := context.Background()
	_, id, _ := randomFile(t, 10)

	s, err := New(ctx, Options{URL: "s3://no-such-bucket-llmops/x", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	p, pid, _ := randomFile(t, 10)
	err = s.PutBlob(ctx, pid, p, 10, nil)
	checkErr(t, err, backend.NoStore, "s3://no-such-bucket-llmops/x", "push "+string(pid), "aws s3 mb")

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	s, err = New(ctx, Options{URL: "s3://b/x", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(ctx, id)
	checkErr(t, err, backend.NoCredentials, "s3://b/x", "look up "+string(id), "AWS_PROFILE")

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
	s, err = New(ctx, Options{URL: "s3://b/x", Endpoint: "http://127.0.0.1:1", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = s.Stat(c, id)
	checkErr(t, err, backend.Unreachable, "s3://b/x", "look up", "artifacts.endpoint")
}

func checkErr(t *testing.T, err error, want backend.Reason, parts ...string) {
	t.Helper()
	if backend.ReasonOf(err) != want {
		t.Fatalf("error %v: reason %q, want %q", err, backend.ReasonOf(err), want)
	}
	msg := err.Error()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not say %q", msg, p)
		}
	}
	for _, bad := range []string{"very-secret-value", "AKIAEXAMPLE", "operation error", "RequestID", "\n"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error %q holds %q", msg, bad)
		}
	}
}
