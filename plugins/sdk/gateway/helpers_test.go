package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "sk-test-0123456789abcdef"

// fakeReplica is a trivial OpenAI-like backend that says which revision it
// is and echoes the headers it received.
func fakeReplica(t testing.TB, rev int64) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/health" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		io.Copy(io.Discard, r.Body)
		var hdr []string
		for k := range r.Header {
			hdr = append(hdr, k)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend-Secret", "must-not-leak")
		json.NewEncoder(w).Encode(map[string]any{
			"object": "text_completion", "revision": rev, "headers": hdr, "auth": r.Header.Get("Authorization"),
			"choices": []any{map[string]any{"text": "ok"}},
			"usage":   map[string]any{"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

type testGateway struct {
	t    testing.TB
	srv  *Server
	http *http.Server
	url  string
	cfg  Config
}

func startGateway(t testing.TB, cfg Config) *testGateway {
	t.Helper()
	if cfg.Deployment == "" {
		cfg.Deployment = "dep-test"
	}
	if !cfg.Public && cfg.KeyHashes == nil {
		h, err := HashKey(testKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.KeyHashes = []string{h}
	}
	s, err := NewServer(&cfg, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(s, &cfg)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); s.Close() })
	return &testGateway{t: t, srv: s, http: hs, url: "http://" + ln.Addr().String(), cfg: cfg}
}

func (g *testGateway) reload(mut func(c *Config)) {
	g.t.Helper()
	c := g.cfg
	c.Backends = append([]Backend(nil), c.Backends...)
	mut(&c)
	c.Generation++
	if err := g.srv.Reload(&c); err != nil {
		g.t.Fatal(err)
	}
	g.cfg = c
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

type reply struct {
	code int
	hdr  http.Header
	body map[string]any
	raw  string
}

func call(t testing.TB, method, url, key, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{code: resp.StatusCode, hdr: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

func completion(g *testGateway) string { return g.url + "/v1/completions" }

const prompt = `{"model":"tinylm","prompt":"Hello","max_tokens":4}`

func errCode(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	return fmt.Sprint(e["code"])
}
