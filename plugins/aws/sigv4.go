package aws

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/llmops/llmops/plugins/sdk/gateway"
)

// endpointSigner is the transport of a deployment's gateway (run by this
// provider's binary) to SageMaker endpoints: a backend whose URL is
// https://runtime.sagemaker.REGION.amazonaws.com/endpoints/NAME gets each
// request as POST /endpoints/NAME/invocations with the OpenAI-shaped body
// as it came, signed with SigV4 (service sagemaker) by the credentials of
// the standard chain. Credentials stay in the gateway process: never in
// its configuration, records or logs. Other backends pass untouched.
type endpointSigner struct {
	next   http.RoundTripper
	creds  awssdk.CredentialsProvider
	region string
	signer *v4.Signer
	now    func() time.Time
}

func newEndpointSigner(next http.RoundTripper, creds awssdk.CredentialsProvider, region string) *endpointSigner {
	return &endpointSigner{next: next, creds: creds, region: region, signer: v4.NewSigner(), now: time.Now}
}

func (s *endpointSigner) RoundTrip(r *http.Request) (*http.Response, error) {
	i := strings.Index(r.URL.Path, "/endpoints/")
	if i < 0 {
		return s.next.RoundTrip(r)
	}
	name, _, _ := strings.Cut(r.URL.Path[i+len("/endpoints/"):], "/")
	if r.Method != http.MethodPost {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: http.StatusMethodNotAllowed, Status: "405 Method Not Allowed", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/json"}},
			Body:    io.NopCloser(strings.NewReader(`{"error":{"message":"A SageMaker endpoint serves POST requests only.","type":"invalid_request_error","code":"method_not_allowed"}}`)),
			Request: r}, nil
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	out := r.Clone(r.Context())
	out.URL.Path = r.URL.Path[:i] + "/endpoints/" + name + "/invocations"
	out.URL.RawPath, out.URL.RawQuery = "", ""
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.Header.Del(gateway.ReplicaTokenHeader)
	out.Header.Del("X-Idempotency-Key")
	out.Header.Set("Content-Type", "application/json")
	creds, err := s.creds.Retrieve(r.Context())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	if err := s.signer.SignHTTP(r.Context(), creds, out, hex.EncodeToString(sum[:]), "sagemaker", regionOf(out.URL.Hostname(), s.region), s.now()); err != nil {
		return nil, err
	}
	return s.next.RoundTrip(out)
}
