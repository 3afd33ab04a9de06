package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The gateway sends each replica its own token; a replica wrapped in
// RequireReplicaToken answers 401 to anyone else, but its health path
// answers without one.
func TestReplicaToken(t *testing.T) {
	tok, err := NewReplicaToken()
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q: %v", tok, err)
	}
	replica := httptest.NewServer(RequireReplicaToken(tok, []string{"/health"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			req.Header.Set(ReplicaTokenHeader, c.token)
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

	// Through the gateway: served.
	g := startGateway(t, Config{Backends: []Backend{{URL: replica.URL, Revision: 1, Token: tok}}})
	if c := call(t, "POST", completion(g), testKey, prompt); c.code != 200 {
		t.Fatalf("through the gateway: %d %s", c.code, c.raw)
	}
	// A gateway that does not know the token is refused too.
	g2 := startGateway(t, Config{Backends: []Backend{{URL: replica.URL, Revision: 1}}})
	if c := call(t, "POST", completion(g2), testKey, prompt); c.code == 200 {
		t.Errorf("a gateway without the token was served")
	}
	// Without a token (started by hand), the program requires nothing.
	open := httptest.NewServer(RequireReplicaToken("", []string{"/health"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	t.Cleanup(open.Close)
	if resp, err := http.Post(open.URL+"/v1/completions", "application/json", strings.NewReader("{}")); err != nil || resp.StatusCode != 200 {
		t.Errorf("no token configured: %v %v", resp, err)
	}
}
