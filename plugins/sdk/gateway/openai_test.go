package gateway

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Every response carries X-Request-Id, refusals included, and every error
// has the one shape {"error": {"message", "type", "param", "code"}}.
func TestRequestIDAndErrorShapeEverywhere(t *testing.T) {
	be, _ := fakeReplica(t, 1)
	g := startGateway(t, Config{MaxBodyBytes: 64, RequestsPerMinute: 3, Backends: []Backend{{URL: be.URL, Revision: 1}}})
	big := `{"prompt":"` + strings.Repeat("a", 200) + `"}`
	for _, c := range []struct {
		name, method, path, key, body string
		code                          int
	}{
		{"ok", "POST", "/v1/completions", testKey, prompt, 200},
		{"401", "POST", "/v1/completions", "wrong", prompt, 401},
		{"404", "GET", "/nope", "", "", 404},
		{"405", "DELETE", "/v1/completions", testKey, "", 405},
		{"413", "POST", "/v1/completions", testKey, big, 413},
		{"400", "POST", "/v1/completions", testKey, "{", 400},
		{"429", "POST", "/v1/completions", testKey, prompt, 429},
		{"health", "GET", "/health", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
	} {
		r := call(t, c.method, g.url+c.path, c.key, c.body)
		if ids := r.hdr.Values("X-Request-Id"); r.code != c.code || len(ids) != 1 || !strings.HasPrefix(ids[0], "req-") {
			t.Errorf("%s: %d with X-Request-Id %q, want %d with exactly one", c.name, r.code, ids, c.code)
		}
		if r.code < 400 {
			continue
		}
		e, ok := r.body["error"].(map[string]any)
		if !ok || len(r.body) != 1 {
			t.Errorf("%s: body %s is not {\"error\": {...}}", c.name, r.raw)
			continue
		}
		for _, k := range []string{"message", "type", "param", "code"} {
			if _, ok := e[k]; !ok {
				t.Errorf("%s: error %s has no %q", c.name, r.raw, k)
			}
		}
	}
}

// Server-sent events pass through unbuffered: the client reads the first
// event while the replica still holds the rest back, and the usage of the
// last chunk is counted.
func TestStreamingIsUnbuffered(t *testing.T) {
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.Write([]byte("data: {\"choices\":[{\"text\":\"a\"}]}\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"))
	}))
	defer be.Close()
	defer close(release)
	g := startGateway(t, Config{Revision: 3, Backends: []Backend{{URL: be.URL, Revision: 3}}})
	req, _ := http.NewRequest("POST", completion(g), strings.NewReader(`{"prompt":"x","stream":true}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("headers %v", resp.Header)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() != "" {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if !strings.Contains(l, `"text":"a"`) {
			t.Fatalf("first event %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the first event did not arrive while the replica held the rest: the gateway buffers streams")
	}
	release <- struct{}{}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if len(rest) != 2 || rest[1] != "data: [DONE]" {
		t.Fatalf("rest of the stream %q", rest)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		samples, err := Scrape(t.Context(), client, g.url)
		if err != nil {
			t.Fatal(err)
		}
		if v := value(samples, MetricTokens, "revision", "3", "type", "completion"); v == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("completion tokens of the stream: %v, want 1", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func value(samples []Sample, name string, lbl ...string) float64 {
	for _, s := range samples {
		ok := s.Name == name
		for i := 0; ok && i+1 < len(lbl); i += 2 {
			ok = s.Labels[lbl[i]] == lbl[i+1]
		}
		if ok {
			return s.Value
		}
	}
	return -1
}

// The first scrape already has a zero series for each status code of the
// revision in force (and of each revision routed to later), so the first
// 429 or 503 is an increase, not a new series.
func TestSeriesExistFromTheFirstScrape(t *testing.T) {
	be, _ := fakeReplica(t, 1)
	g := startGateway(t, Config{Revision: 1, Backends: []Backend{{URL: be.URL, Revision: 1}}})
	samples, err := Scrape(t.Context(), client, g.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"200", "401", "429", "500", "502", "503", "504"} {
		if v := value(samples, MetricRequests, "deployment", "dep-test", "revision", "1", "code", c); v != 0 {
			t.Errorf("requests{code=%s} on the first scrape: %v, want 0", c, v)
		}
	}
	if v := value(samples, MetricErrors, "revision", "1", "code", "429", "reason", "rate_limited"); v != 0 {
		t.Errorf("errors{429, rate_limited}: %v, want 0", v)
	}
	g.reload(func(c *Config) { c.Revision = 2; c.Backends = []Backend{{URL: be.URL, Revision: 2}} })
	samples, _ = Scrape(t.Context(), client, g.url)
	if v := value(samples, MetricRequests, "revision", "2", "code", "503"); v != 0 {
		t.Errorf("requests{revision=2, code=503} after the switch: %v, want 0", v)
	}
}
