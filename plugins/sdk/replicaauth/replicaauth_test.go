package replicaauth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/replicaauth"
)

// A replica wrapped in Require answers 401 to anyone without its token,
// but its health path answers without one.
func TestRequire(t *testing.T) {
	tok, err := replicaauth.NewToken()
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q: %v", tok, err)
	}
	replica := httptest.NewServer(replicaauth.Require(tok, []string{"/health"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"text_completion","choices":[{"text":"ok"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	})))
	t.Cleanup(replica.Close)

	// Around the gateway: refused, health excepted.
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"POST", "/v1/completions", "", 401},
		{"POST", "/v1/completions", "wrong", 401},
		{"POST", "/v1/completions", tok[:63], 401},
		{"GET", "/v1/models", "", 401},
		{"POST", "/health", "", 401},
		{"GET", "/health", "", 200},
		{"POST", "/v1/completions", tok, 200},
	} {
		req, _ := http.NewRequest(c.method, replica.URL+c.path, strings.NewReader(`{"prompt":"x"}`))
		if c.token != "" {
			req.Header.Set(replicaauth.TokenHeader, c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s with token %q: %d %s, want %d", c.method, c.path, c.token, resp.StatusCode, b, c.want)
		}
		if resp.StatusCode == 401 && !strings.Contains(string(b), "invalid_replica_token") {
			t.Errorf("401 without an OpenAI-style error: %s", b)
		}
	}

	// Without a token (started by hand), the program requires nothing.
	open := httptest.NewServer(replicaauth.Require("", []string{"/health"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	t.Cleanup(open.Close)
	if resp, err := http.Post(open.URL+"/v1/completions", "application/json", strings.NewReader("{}")); err != nil || resp.StatusCode != 200 {
		t.Errorf("no token configured: %v %v", resp, err)
	}
}
