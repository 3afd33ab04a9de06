package gateway

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary methods, paths, headers and bodies through
// the gateway's handler: it must answer every one with a status code and
// never panic, never forward a request without a valid key, and never
// echo a request header back.
func FuzzRequest(f *testing.F) {
	backend, hits := fakeReplica(f, 1)
	h, err := HashKey(testKey)
	if err != nil {
		f.Fatal(err)
	}
	cfg := &Config{Deployment: "dep-fuzz", Revision: 1, Backends: []Backend{{URL: backend.URL, Revision: 1}}, KeyHashes: []string{h}, MaxBodyBytes: 1 << 12}
	s, err := NewServer(cfg, func(string, ...any) {})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	f.Add("POST", "/v1/completions", "Bearer "+testKey, "application/json", []byte(`{"prompt":"hi","max_tokens":3}`))
	f.Add("POST", "/v1/chat/completions", "Bearer wrong", "application/json", []byte(`{"messages":[{"role":"user","content":"x"}]}`))
	f.Add("GET", "/metrics", "", "", []byte(nil))
	f.Add("POST", "/v1/completions", "Bearer "+testKey, "text/plain", []byte("{not json"))
	f.Add("DELETE", "/../../etc/passwd", "Basic abc", "x\r\nInjected: 1", bytes.Repeat([]byte("A"), 5000))
	f.Fuzz(func(t *testing.T, method, path, auth, ctype string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://gw"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-Probe", "probe-value-7f3a")
		before := hits.Load()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if !carriesKey(auth) && hits.Load() != before && !strings.HasPrefix(req.URL.Path, "/health") && req.URL.Path != "/metrics" {
			t.Fatalf("a request without the key reached the backend: %s %s (auth %q) -> %d", method, path, auth, rec.Code)
		}
		for k, vs := range rec.Header() {
			for _, v := range vs {
				if strings.Contains(v, "probe-value-7f3a") || k == "X-Probe" {
					t.Fatalf("the request header was echoed back: %s: %s", k, v)
				}
			}
		}
	})
}

// carriesKey says whether an Authorization header holds the test key: the
// scheme is case-insensitive (RFC 9110 section 11.1) and spaces around
// the credentials do not count.
func carriesKey(auth string) bool {
	scheme, key, ok := strings.Cut(auth, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(key) == testKey
}
