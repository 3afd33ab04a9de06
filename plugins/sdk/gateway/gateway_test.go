package gateway

import (
	"bufio"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestKeysAndAuth(t *testing.T) {
	be, hits := fakeReplica(t, 1)
	g := startGateway(t, Config{Revision: 1, Backends: []Backend{{URL: be.URL, Revision: 1}}})
	if h := g.cfg.KeyHashes[0]; strings.Contains(h, testKey) || !KeyMatches(h, testKey) || KeyMatches(h, testKey+"x") {
		t.Fatalf("hash %q: must not contain the key and must match it only", h)
	}
	h2, _ := HashKey(testKey)
	if h2 == g.cfg.KeyHashes[0] {
		t.Fatalf("two hashes of one key are equal: the salt is missing")
	}
	for _, c := range []struct{ name, key, hdr string }{
		{"no key", "", ""},
		{"wrong key", "sk-wrong", ""},
		{"empty bearer", "", "Bearer "},
		{"basic auth", "", "Basic c2stdGVzdDp4"},
		{"key prefix", testKey[:10], ""},
	} {
		var r reply
		if c.hdr != "" {
			r = call(t, "POST", completion(g), "", prompt, "Authorization", c.hdr)
		} else {
			r = call(t, "POST", completion(g), c.key, prompt)
		}
		if r.code != 401 || errCode(r) != "invalid_api_key" || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") || r.hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: got %d %s %v, want 401 with an OpenAI-style JSON error", c.name, r.code, r.raw, r.hdr)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("refused requests reached the replica")
	}
	r := call(t, "POST", completion(g), testKey, prompt)
	if r.code != 200 || r.body["object"] != "text_completion" || r.hdr.Get("X-LLMOps-Revision") != "1" || !strings.HasPrefix(r.hdr.Get("X-Request-Id"), "req-") || len(r.hdr.Values("X-Request-Id")) != 1 {
		t.Fatalf("with the key: %d %s %v", r.code, r.raw, r.hdr)
	}
	if r.body["auth"] != "" {
		t.Fatalf("the caller's Authorization reached the replica: %v", r.body["auth"])
	}
	// lower-case scheme works too
	if r := call(t, "GET", g.url+"/v1/models", "", "", "Authorization", "bearer "+testKey); r.code != 200 {
		t.Fatalf("bearer in lower case: %d", r.code)
	}
}

func TestPublicNeedsNoKey(t *testing.T) {
	be, _ := fakeReplica(t, 1)
	g := startGateway(t, Config{Public: true, Backends: []Backend{{URL: be.URL, Revision: 1}}})
	if r := call(t, "POST", completion(g), "", prompt); r.code != 200 {
		t.Fatalf("public: %d %s", r.code, r.raw)
	}
	if err := (&Config{}).Check(); err == nil {
		t.Fatalf("a configuration with no keys that is not public must be refused")
	}
	for u, ok := range map[string]bool{"http://127.0.0.1:1": true, "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/e": true,
		"ftp://h/x": false, "http://u:p@h:1": false, "http://h:1/?a=b": false, "127.0.0.1:1": false} {
		err := (&Config{Public: true, Backends: []Backend{{URL: u}}}).Check()
		if (err == nil) != ok {
			t.Errorf("backend %q: %v", u, err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	be, _ := fakeReplica(t, 1)
	g := startGateway(t, Config{RequestsPerMinute: 3, Backends: []Backend{{URL: be.URL, Revision: 1}}})
	for i := 0; i < 3; i++ {
		if r := call(t, "POST", completion(g), testKey, prompt); r.code != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.code, r.raw)
		}
	}
	r := call(t, "POST", completion(g), testKey, prompt)
	if r.code != 429 || errCode(r) != "rate_limit_exceeded" || r.hdr.Get("Retry-After") == "" || r.hdr.Get("Retry-After") == "0" {
		t.Fatalf("past the limit: %d %s Retry-After=%q", r.code, r.raw, r.hdr.Get("Retry-After"))
	}
	// Another key has its own bucket.
	k2 := "sk-second-key-abcdefgh"
	h2, _ := HashKey(k2)
	g.reload(func(c *Config) { c.KeyHashes = append(c.KeyHashes, h2) })
	if r := call(t, "POST", completion(g), k2, prompt); r.code != 200 {
		t.Fatalf("second key: %d", r.code)
	}
	l := newLimiter()
	now := time.Now()
	for i := 0; i < 60; i++ {
		l.allow("a", 60, now)
	}
	if ok, wait := l.allow("a", 60, now); ok || wait > time.Second || wait <= 0 {
		t.Fatalf("61st of 60/min: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.allow("a", 60, now.Add(1100*time.Millisecond)); !ok {
		t.Fatalf("a token must be back after a second at 60/min")
	}
}

func TestHostileRequests(t *testing.T) {
	be, hits := fakeReplica(t, 1)
	g := startGateway(t, Config{MaxBodyBytes: 1024, Backends: []Backend{{URL: be.URL, Revision: 1}}})
	big := `{"prompt":"` + strings.Repeat("a", 2000) + `"}`
	if r := call(t, "POST", completion(g), testKey, big); r.code != 413 || errCode(r) != "request_too_large" {
		t.Errorf("oversize body: %d %s", r.code, r.raw)
	}
	// Without a Content-Length (chunked), the limit holds while reading.
	req, _ := http.NewRequest("POST", completion(g), &slowReader{data: []byte(big)})
	req.Header.Set("Authorization", "Bearer "+testKey)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("oversize chunked body: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, body := range []string{`{"prompt": `, `not json`, ` `} {
		if r := call(t, "POST", completion(g), testKey, body); r.code != 400 || errCode(r) != "invalid_json" {
			t.Errorf("body %q: %d %s", body, r.code, r.raw)
		}
	}
	if r := call(t, "DELETE", completion(g), testKey, ""); r.code != 405 || r.hdr.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE: %d", r.code)
	}
	if r := call(t, "GET", g.url+"/admin", "", ""); r.code != 404 {
		t.Errorf("unknown path: %d", r.code)
	}
	if hits.Load() != 0 {
		t.Fatalf("hostile requests reached the replica")
	}
	// Headers: nothing of the caller's is forwarded but Accept, nothing is
	// reflected, nothing of the replica's leaks but Content-Type.
	r := call(t, "POST", completion(g), testKey, prompt, "Cookie", "session=1", "X-Evil", "injected", "X-Forwarded-For", "10.0.0.1", "Accept", "application/json")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.raw)
	}
	got := strings.ToLower(strings.Join(toStrings(r.body["headers"]), ","))
	for _, h := range []string{"cookie", "x-evil", "authorization", "x-forwarded-for"} {
		if strings.Contains(got, h) {
			t.Errorf("the caller's %s reached the replica (it got: %s)", h, got)
		}
	}
	for k, v := range r.hdr {
		if strings.Contains(strings.ToLower(k), "evil") || strings.Contains(strings.Join(v, ""), "injected") || k == "X-Backend-Secret" {
			t.Errorf("response header %s: %v must not be there", k, v)
		}
	}
	// A header value with a line break never gets through: Go's server
	// refuses it (400) before the gateway sees it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rSet-Cookie: b\r\n\r\n"))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(line, "400") {
		t.Errorf("a bare CR in a header: %q", line)
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

type slowReader struct {
	data []byte
	pos  int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.pos >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 100)], r.data[r.pos:])
	r.pos += n
	return n, nil
}

func TestSlowClientsAreCut(t *testing.T) {
	be, _ := fakeReplica(t, 1)
	g := startGateway(t, Config{ReadTimeout: "300ms", Backends: []Backend{{URL: be.URL, Revision: 1}}})
	for _, c := range []struct{ name, send string }{
		{"headers never end", "POST /v1/completions HTTP/1.1\r\nHost: x\r\n"},
		{"body never comes", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey + "\r\nContent-Length: 100\r\n\r\n{"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(c.send))
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				break
			}
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: the connection stayed open %s", c.name, took)
		}
		conn.Close()
	}
}

func TestRetriesAnotherReplicaWhenOneIsDown(t *testing.T) {
	be, _ := fakeReplica(t, 1)
	dead := httpDeadURL(t)
	g := startGateway(t, Config{Backends: []Backend{{URL: dead, Revision: 1}, {URL: be.URL, Revision: 1}}})
	for i := 0; i < 6; i++ {
		if r := call(t, "POST", completion(g), testKey, prompt); r.code != 200 {
			t.Fatalf("request %d with one replica down: %d %s", i, r.code, r.raw)
		}
	}
	g.reload(func(c *Config) { c.Backends = []Backend{{URL: dead, Revision: 1}} })
	if r := call(t, "POST", completion(g), testKey, prompt); r.code != 502 && r.code != 503 {
		t.Fatalf("only a dead replica: %d %s", r.code, r.raw)
	}
	g.reload(func(c *Config) { c.Backends = nil })
	if r := call(t, "POST", completion(g), testKey, prompt); r.code != 503 || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("no replica: %d %s", r.code, r.raw)
	}
	if r := call(t, "GET", g.url+"/health", "", ""); r.code != 503 {
		t.Fatalf("/health without replicas: %d", r.code)
	}
}

// httpDeadURL returns a URL where nothing listens.
func httpDeadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func TestMetricsAndWindow(t *testing.T) {
	be, _ := fakeReplica(t, 7)
	g := startGateway(t, Config{Revision: 7, Backends: []Backend{{URL: be.URL, Revision: 7}}})
	for i := 0; i < 4; i++ {
		call(t, "POST", completion(g), testKey, prompt)
	}
	call(t, "POST", completion(g), "bad", prompt)
	samples, err := Scrape(t.Context(), client, g.url)
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string, lbl ...string) float64 {
		for _, s := range samples {
			if s.Name != name {
				continue
			}
			ok := true
			for i := 0; i+1 < len(lbl); i += 2 {
				ok = ok && s.Labels[lbl[i]] == lbl[i+1]
			}
			if ok {
				return s.Value
			}
		}
		return -1
	}
	checks := []struct {
		got, want float64
		what      string
	}{
		{find(MetricRequests, "deployment", "dep-test", "revision", "7", "code", "200"), 4, "requests 200"},
		{find(MetricRequests, "revision", "7", "code", "401"), 1, "requests 401"},
		{find(MetricErrors, "code", "401", "reason", "unauthorized"), 1, "errors 401"},
		{find(MetricDuration+"_count", "revision", "7"), 4, "histogram count"},
		{find(MetricDuration+"_bucket", "revision", "7", "le", "+Inf"), 4, "histogram +Inf"},
		{find(MetricTokens, "revision", "7", "type", "completion"), 20, "completion tokens"},
		{find(MetricTokens, "revision", "7", "type", "prompt"), 12, "prompt tokens"},
		{find(MetricGeneration), 0, "generation"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	snap := SnapshotOf(samples, 7, time.Now())
	st := Window(nil, snap)
	if st.Requests != 5 || st.Errors != 0 || math.IsNaN(st.P95) || st.P95 <= 0 || st.P50 > st.P95 {
		t.Fatalf("window since start: %+v", st)
	}
	prev := snap
	call(t, "POST", completion(g), testKey, prompt)
	g.reload(func(c *Config) { c.Backends = []Backend{{URL: httpDeadURL(t), Revision: 7}} })
	call(t, "POST", completion(g), testKey, prompt) // 502
	samples, _ = Scrape(t.Context(), client, g.url)
	st = Window(&prev, SnapshotOf(samples, 7, time.Now()))
	if st.Requests != 2 || st.Errors != 1 || st.ErrorRate() != 0.5 || st.Minutes <= 0 {
		t.Fatalf("window since the previous reading: %+v", st)
	}
}

func TestQuantile(t *testing.T) {
	cum := make([]float64, len(Buckets)+1)
	// 100 requests, all between 10 and 25 ms.
	for i := range cum {
		if Buckets[min(i, len(Buckets)-1)] >= 0.025 || i == len(Buckets) {
			cum[i] = 100
		}
	}
	if q := quantile(0.5, cum); math.Abs(q-0.0175) > 1e-9 {
		t.Fatalf("p50 = %v, want 0.0175", q)
	}
	if !math.IsNaN(quantile(0.5, make([]float64, len(Buckets)+1))) {
		t.Fatalf("no data must be NaN")
	}
	samples, err := Parse(strings.NewReader("# HELP x\nx{a=\"q\\\"uote\",b=\"2\"} 3.5\ny 1e3 1700000000\n"))
	if err != nil || len(samples) != 2 || samples[0].Labels["a"] != `q"uote` || samples[1].Value != 1000 {
		t.Fatalf("parse: %+v %v", samples, err)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	h, _ := HashKey(testKey)
	c := &Config{Generation: 3, Deployment: "d", KeyHashes: []string{h}, Backends: []Backend{{URL: "http://127.0.0.1:1", Revision: 2}}}
	if err := WriteConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir + "/" + ConfigFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode %v %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(dir + "/" + ConfigFile)
	if strings.Contains(string(b), testKey) {
		t.Fatalf("the key is in the config file")
	}
	got, err := ReadConfig(dir)
	if err != nil || got.Generation != 3 || got.Backends[0].Revision != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	bad := *c
	bad.Backends = []Backend{{URL: "file:///etc/passwd"}}
	if WriteConfig(dir, &bad) == nil {
		t.Fatalf("a non-http backend must be refused")
	}
}
