package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/replicaauth"
)

// The gateway sends each replica its own token: a replica that requires
// it is served through the gateway, and not through a gateway that does
// not know it.
func TestReplicaToken(t *testing.T) {
	tok, err := NewReplicaToken()
	if err != nil {
		t.Fatal(err)
	}
	replica := httptest.NewServer(replicaauth.Require(tok, []string{"/health"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"text_completion","choices":[{"text":"ok"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	})))
	t.Cleanup(replica.Close)
	g := startGateway(t, Config{Backends: []Backend{{URL: replica.URL, Revision: 1, Token: tok}}})
	if c := call(t, "POST", completion(g), testKey, prompt); c.code != 200 {
		t.Fatalf("through the gateway: %d %s", c.code, c.raw)
	}
	g2 := startGateway(t, Config{Backends: []Backend{{URL: replica.URL, Revision: 1}}})
	if c := call(t, "POST", completion(g2), testKey, prompt); c.code == 200 {
		t.Errorf("a gateway without the token was served")
	}
}
