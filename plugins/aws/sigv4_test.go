package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The gateway's calls to a SageMaker endpoint are POST
// /endpoints/NAME/invocations, signed with SigV4 for the region and the
// sagemaker service; the replica token is not sent; the secret key is in
// no header.
func TestEndpointSigner(t *testing.T) {
	type seen struct {
		method, path, auth, date, token, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var all strings.Builder
		for k, v := range r.Header {
			all.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		if strings.Contains(all.String(), "SECRETKEY") {
			t.Errorf("the secret key is in a header:\n%s", all.String())
		}
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Llmops-Replica-Token"), string(b)}
		w.Write([]byte(`{"choices": []}`))
	}))
	defer srv.Close()
	creds := awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
		return awssdk.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRETKEY"}, nil
	})
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	s := newEndpointSigner(http.DefaultTransport, creds, "eu-west-1")
	s.now = func() time.Time { return at }
	body := `{"messages": [{"role": "user", "content": "hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/endpoints/llmops-dep-1-r2/v1/chat/completions?x=1", strings.NewReader(body))
	req.Header.Set("X-Llmops-Replica-Token", "tok")
	resp, err := s.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	g := <-got
	if g.method != http.MethodPost || g.path != "/endpoints/llmops-dep-1-r2/invocations" || g.body != body || g.token != "" {
		t.Fatalf("forwarded %+v", g)
	}
	if !strings.HasPrefix(g.auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/eu-west-1/sagemaker/aws4_request, SignedHeaders=") || g.date != "20261203T120000Z" {
		t.Fatalf("Authorization %q, X-Amz-Date %q", g.auth, g.date)
	}
	// The signature is the one SigV4 gives for this request.
	want, _ := http.NewRequest(http.MethodPost, srv.URL+"/endpoints/llmops-dep-1-r2/invocations", strings.NewReader(body))
	want.Header.Set("Content-Type", "application/json")
	c, _ := creds.Retrieve(context.Background())
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), c, want, hex.EncodeToString(sum[:]), "sagemaker", "eu-west-1", at); err != nil {
		t.Fatal(err)
	}
	if w := want.Header.Get("Authorization"); g.auth != w {
		t.Fatalf("Authorization\n got %s\nwant %s", g.auth, w)
	}

	// GET is refused locally; other backends pass untouched.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/endpoints/x/v1/models", nil)
	if resp, err := s.RoundTrip(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %v %v", resp, err)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v1/models", nil)
	resp, err = s.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("plain backend: %v %v", resp, err)
	}
	resp.Body.Close()
	if g := <-got; g.auth != "" || g.path != "/v1/models" {
		t.Fatalf("a plain backend's request was changed: %+v", g)
	}
}
