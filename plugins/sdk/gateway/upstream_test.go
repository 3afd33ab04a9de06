package gateway

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An upstream deployment: a gateway process (launched with its upstream
// key through a pipe) in front of another gateway acting as the hosted
// API, which accepts only the upstream key. The caller's key never goes
// upstream, the upstream key goes nowhere else (not the configuration,
// the log, the arguments or the environment), the model is checked and
// replaced, and a refused upstream key is the gateway's 502.
func TestUpstreamDeployment(t *testing.T) {
	const upstreamKey = "sk-upstream-9f8e7d6c5b4a39281706"
	var gotModel atomic.Value
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Model string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		gotModel.Store(body.Model)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"text_completion","auth":"` + r.Header.Get("Authorization") + `","usage":{"prompt_tokens":1,"completion_tokens":2}}`))
	}))
	t.Cleanup(be.Close)
	uh, _ := HashKey(upstreamKey)
	hosted := startGateway(t, Config{Deployment: "dep-hosted", Revision: 1, KeyHashes: []string{uh}, Backends: []Backend{{URL: be.URL, Revision: 1}}})

	exe, err := os.Executable()
	must(t, err)
	dir := t.TempDir()
	h, _ := HashKey(testKey)
	cfg := &Config{Generation: 1, Deployment: "dep-gpt", Revision: 1, KeyHashes: []string{h}, Models: []string{"gpt-4o-mini"},
		Backends: []Backend{{URL: hosted.url + "/v1", Revision: 1, Upstream: true, Model: "gpt-4o-mini", KeyRef: "upstream"}}}
	must(t, WriteConfig(dir, cfg))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	base := "http://" + ln.Addr().String()
	p, err := LaunchWithSecrets(exe, dir, ln.(*net.TCPListener), os.Environ(), map[string]string{"upstream": upstreamKey})
	ln.Close()
	must(t, err)
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	must(t, WaitGeneration(t.Context(), client, base, 1, p, 20*time.Second))

	r := call(t, "POST", base+"/v1/completions", testKey, `{"model":"gpt-4o-mini","prompt":"hi"}`)
	if r.code != 200 || r.body["object"] != "text_completion" || r.body["auth"] != "" {
		t.Fatalf("through the upstream: %d %s", r.code, r.raw)
	}
	// A body without a model gets the upstream's.
	if r := call(t, "POST", base+"/v1/completions", testKey, `{"prompt":"hi"}`); r.code != 200 || gotModel.Load() != "gpt-4o-mini" {
		t.Fatalf("without a model: %d %s, the upstream got model %v", r.code, r.raw, gotModel.Load())
	}
	if r := call(t, "POST", base+"/v1/completions", testKey, `{"model":"gpt-5","prompt":"hi"}`); r.code != 404 || errCode(r) != "model_not_found" {
		t.Fatalf("an unknown model: %d %s", r.code, r.raw)
	}
	if r := call(t, "GET", base+"/v1/models", testKey, ""); r.code != 200 || !strings.Contains(r.raw, `"gpt-4o-mini"`) {
		t.Fatalf("models: %d %s", r.code, r.raw)
	}
	if r := call(t, "POST", base+"/v1/completions", "wrong", `{"model":"gpt-4o-mini","prompt":"hi"}`); r.code != 401 {
		t.Fatalf("a wrong key: %d", r.code)
	}
	// The hosted API's keys change: its refusal is the gateway's 502.
	hosted.reload(func(c *Config) { h2, _ := HashKey("sk-other"); c.KeyHashes = []string{h2} })
	if r := call(t, "POST", base+"/v1/completions", testKey, `{"model":"gpt-4o-mini","prompt":"hi"}`); r.code != 502 || errCode(r) != "upstream_auth" {
		t.Fatalf("a refused upstream key: %d %s", r.code, r.raw)
	}
	// Nowhere on disk, nor in the process's arguments or environment.
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), upstreamKey) {
			t.Errorf("the upstream key is in %s", f)
		}
	}
	for _, f := range []string{"cmdline", "environ"} {
		b, _ := os.ReadFile(filepath.Join("/proc", itoa(p.PID), f))
		if len(b) == 0 || strings.Contains(string(b), upstreamKey) {
			t.Errorf("/proc/%d/%s: %d bytes, holds the key: %v", p.PID, f, len(b), strings.Contains(string(b), upstreamKey))
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
