package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// Options configure a store.
type Options struct {
	// URL is s3://BUCKET[/PREFIX].
	URL string
	// Endpoint, when set, is an S3-compatible server's URL (else
	// AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, else AWS).
	Endpoint string
	// PathStyle addresses the bucket in the path instead of the host name.
	PathStyle bool
	// Region and Profile override the standard configuration's.
	Region, Profile string
	// PartSize is the multipart part size (default 16 MiB, at least S3's
	// 5 MiB, grown so that a blob has at most 10,000 parts); Concurrency
	// the data requests in flight at once, over all transfers (default 8).
	PartSize    int64
	Concurrency int
	// MultipartThreshold is the size above which a blob is uploaded in
	// parts (default 64 MiB, at least PartSize): below it one PUT is
	// cheaper for the server (no parts to assemble) and as fast, files of
	// a tree moving in parallel.
	MultipartThreshold int64
	// HTTPClient, when set, replaces the SDK's (tests count requests).
	HTTPClient awss3.HTTPClient
}

const (
	minPartSize        = 5 << 20
	defaultPartSize    = 16 << 20
	defaultThreshold   = 64 << 20
	maxParts           = 10000
	defaultConcurrency = 8
	kindMeta           = "llmops-kind"
)

// Store is an S3 bucket (and key prefix) holding artifacts.
type Store struct {
	client      *awss3.Client
	bucket      string
	prefix      string // "" or "p/": keys are prefix + "sha256/<hex>"
	url         string
	partSize    int64
	threshold   int64
	concurrency int

	bucketMu sync.Mutex
	bucketOK bool
	// slots bounds the data requests (parts, ranges, single PUTs) in
	// flight across every transfer of the store: a tree's files move in
	// parallel without multiplying the connections.
	slots chan struct{}
}

// acquire takes a request slot (false when ctx ends first).
func (s *Store) acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Store) release() { <-s.slots }

// ParseURL splits s3://BUCKET[/PREFIX] into the bucket and the key prefix
// (without slashes at either end).
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an S3 URL: want s3://BUCKET or s3://BUCKET/PREFIX", redact(raw, u))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q: an S3 URL has no user, query or fragment (credentials never go in the URL)", redact(raw, u))
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// redact drops what could be a credential from a URL for a message.
func redact(raw string, u *url.URL) string {
	if u == nil {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			return "s3://...@" + raw[i+1:]
		}
		return raw
	}
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

// New opens the store: it loads the standard AWS configuration (the
// environment, the shared config and credentials files and their profiles,
// web identity, the instance role) and contacts nothing yet.
func New(ctx context.Context, o Options) (*Store, error) {
	bucket, prefix, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	opts := []func(*config.LoadOptions) error{
		// Blobs are verified by their sha256 at both ends: no CRC trailers,
		// which some S3-compatible servers refuse.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// The SDK's own warnings (e.g. on the instance metadata service)
		// would reach the user raw: errors say what matters instead.
		config.WithLogger(logging.Nop{}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &backend.Error{URL: o.URL, Op: "load the AWS configuration", Reason: backend.Failed,
			Detail: short(err), Hint: "Check AWS_PROFILE / `profile` (the profile must exist in ~/.aws/config or ~/.aws/credentials)", Err: err}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // S3-compatible servers ignore it; AWS redirects and says so
	}
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		if o.HTTPClient != nil {
			so.HTTPClient = o.HTTPClient
		} else {
			// Parts of 16 MiB through net/http's default 4 KiB socket
			// buffers cost thousands of writes each.
			so.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
				t.WriteBufferSize, t.ReadBufferSize = 256<<10, 256<<10
				t.MaxIdleConnsPerHost = 2 * max(o.Concurrency, defaultConcurrency)
			})
		}
		// No Expect: 100-continue: a round trip per part for nothing
		// (the bucket was checked, and a refused part is retried anyway).
		so.ContinueHeaderThresholdBytes = -1
	})
	s := &Store{client: client, bucket: bucket, url: strings.TrimSuffix(o.URL, "/"), partSize: o.PartSize, concurrency: o.Concurrency}
	if prefix != "" {
		s.prefix = prefix + "/"
	}
	if s.partSize == 0 {
		s.partSize = defaultPartSize
	}
	if s.partSize < minPartSize {
		s.partSize = minPartSize
	}
	s.threshold = o.MultipartThreshold
	if s.threshold == 0 {
		s.threshold = defaultThreshold
	}
	s.threshold = max(s.threshold, s.partSize)
	if s.concurrency <= 0 {
		s.concurrency = defaultConcurrency
	}
	s.slots = make(chan struct{}, s.concurrency)
	return s, nil
}

// URL returns s3://BUCKET[/PREFIX].
func (s *Store) URL() string { return s.url }

// Bucket returns the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

func (s *Store) key(id artifacts.ID) string { return s.prefix + "sha256/" + id.Hex() }

// checkBucket makes sure, once per process, that the bucket exists: a
// HEAD of a key in a missing bucket answers 404 like a missing key, and a
// misspelt bucket must not pass for an empty store (every artifact gone).
func (s *Store) checkBucket(ctx context.Context, op string) error {
	s.bucketMu.Lock()
	defer s.bucketMu.Unlock()
	if s.bucketOK {
		return nil
	}
	_, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &s.bucket})
	if err != nil {
		e := s.fail(op, err)
		if backend.IsNotFound(e) || strings.Contains(err.Error(), "NoSuchBucket") {
			return &backend.Error{URL: s.url, Op: op, Reason: backend.NoStore, Detail: fmt.Sprintf("bucket %s does not exist", s.bucket), Err: err}
		}
		return e
	}
	s.bucketOK = true
	return nil
}

// Stat describes the artifact id by a HEAD of its blob.
func (s *Store) Stat(ctx context.Context, id artifacts.ID) (backend.Object, error) {
	if err := s.checkBucket(ctx, "look up "+string(id)); err != nil {
		return backend.Object{}, err
	}
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(id))})
	if err != nil {
		return backend.Object{}, s.fail("look up "+string(id), err)
	}
	obj := backend.Object{ID: id, Kind: backend.File, Size: aws.ToInt64(out.ContentLength), Modified: aws.ToTime(out.LastModified)}
	if out.Metadata[kindMeta] == string(backend.Tree) {
		obj.Kind = backend.Tree
	}
	return obj, nil
}

// HasBlob reports whether the blob id is stored.
func (s *Store) HasBlob(ctx context.Context, id artifacts.ID) (bool, error) {
	_, err := s.Stat(ctx, id)
	if backend.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// BlobSize returns the size of the blob id.
func (s *Store) BlobSize(ctx context.Context, id artifacts.ID) (int64, error) {
	o, err := s.Stat(ctx, id)
	return o.Size, err
}

// Commit stores a tree's listing (last, so that a tree is visible only
// once its files are); a file's blob is its artifact already.
func (s *Store) Commit(ctx context.Context, obj backend.Object, listing []byte, _ []artifacts.TreeFile, _ map[artifacts.ID]int64) error {
	if obj.Kind != backend.Tree {
		return nil
	}
	if sum := sha256.Sum256(listing); artifacts.IDFromSum(sum[:]) != obj.ID {
		return &backend.Error{URL: s.url, Op: "push " + string(obj.ID), Reason: backend.Corrupt, Detail: "the listing does not hash to the tree's id",
			Hint: "The local copy changed: llmops artifacts verify " + string(obj.ID)}
	}
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.key(obj.ID)), Body: bytes.NewReader(listing),
		ContentLength: aws.Int64(int64(len(listing))), ContentType: aws.String("text/plain; charset=utf-8"),
		Metadata: map[string]string{kindMeta: string(backend.Tree)},
	})
	if err != nil {
		return s.fail("push "+string(obj.ID), err)
	}
	return nil
}

// Listing reads a tree's listing.
func (s *Store) Listing(ctx context.Context, obj backend.Object) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(obj.ID))})
	if err != nil {
		return nil, s.fail("fetch "+string(obj.ID), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 256<<20))
	if err != nil {
		return nil, s.fail("fetch "+string(obj.ID), err)
	}
	return b, nil
}

// List calls fn for every blob under the prefix (their Kind is left
// empty: S3 lists no metadata).
func (s *Store) List(ctx context.Context, fn func(backend.Object) error) error {
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + "sha256/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.fail("list", err)
		}
		for _, o := range page.Contents {
			hex := strings.TrimPrefix(aws.ToString(o.Key), s.prefix+"sha256/")
			id, err := artifacts.ParseID(artifacts.Prefix + hex)
			if err != nil {
				continue // not ours
			}
			if err := fn(backend.Object{ID: id, Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes a blob.
func (s *Store) Delete(ctx context.Context, obj backend.Object) error {
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(obj.ID))})
	if err != nil {
		return s.fail("delete "+string(obj.ID), err)
	}
	return nil
}

// fail turns an SDK error into a *backend.Error: the reason, a short
// detail (the S3 error code and HTTP status), and what to do.
func (s *Store) fail(op string, err error) error {
	e := &backend.Error{URL: s.url, Op: op, Reason: backend.Failed, Err: err}
	var be *backend.Error
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	var se *smithyhttp.RequestSendError
	var ne net.Error
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case errors.As(err, &be):
		return be
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Reason = backend.Canceled
	case credentialsMissing(err):
		e.Reason = backend.NoCredentials
		e.Detail = "no credentials found in the environment, the shared files or an instance role"
	case errors.As(err, &ae):
		code := ae.ErrorCode()
		e.Detail = code
		if status != 0 {
			e.Detail = fmt.Sprintf("%s, HTTP %d", code, status)
		}
		switch code {
		case "NoSuchKey", "NotFound":
			e.Reason = backend.NotFound
		case "NoSuchBucket":
			e.Reason = backend.NoStore
			e.Detail = fmt.Sprintf("bucket %s does not exist", s.bucket)
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			e.Reason = backend.Denied
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
			e.Reason = backend.Denied
			e.Hint = "The credentials were refused (unknown key, wrong secret or an expired session): check AWS_ACCESS_KEY_ID/AWS_PROFILE and refresh the session"
		case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
			e.Hint = "The bucket is in another region: set `region` in the artifacts block (or AWS_REGION)"
		}
	case errors.As(err, &se) || errors.As(err, &ne):
		e.Reason = backend.Unreachable
		e.Detail = netDetail(err)
	}
	return e
}

func credentialsMissing(err error) bool {
	m := err.Error()
	return strings.Contains(m, "failed to retrieve credentials") || strings.Contains(m, "failed to refresh cached credentials") ||
		strings.Contains(m, "no EC2 IMDS role found") || strings.Contains(m, "static credentials are empty")
}

// netDetail says briefly why a connection failed (no addresses with
// credentials can appear: requests are signed in headers).
func netDetail(err error) string {
	m := err.Error()
	for _, s := range []string{"connection refused", "no such host", "i/o timeout", "connection reset by peer", "network is unreachable", "TLS handshake", "certificate"} {
		if strings.Contains(m, s) {
			return s
		}
	}
	return "cannot connect"
}

// short is a one-line cause of a configuration error.
func short(err error) string {
	m := err.Error()
	if i := strings.IndexByte(m, '\n'); i >= 0 {
		m = m[:i]
	}
	if len(m) > 160 {
		m = m[:160] + "..."
	}
	return m
}
