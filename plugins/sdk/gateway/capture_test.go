package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// echoReplica answers completions and chat completions with the text it
// was sent (so a prompt's email would come back in the completion), as
// JSON or as a stream of server-sent events.
func echoReplica(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Prompt   string `json:"prompt"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &req)
		text := "echo: " + req.Prompt
		chat := strings.HasSuffix(r.URL.Path, "/chat/completions")
		if chat && len(req.Messages) > 0 {
			text = "echo: " + req.Messages[len(req.Messages)-1].Content
		}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, part := range []string{text[:len(text)/2], text[len(text)/2:]} {
				ev := map[string]any{"choices": []any{map[string]any{"text": part}}}
				if chat {
					ev = map[string]any{"choices": []any{map[string]any{"delta": map[string]any{"content": part}}}}
				}
				eb, _ := json.Marshal(ev)
				fmt.Fprintf(w, "data: %s\n\n", eb)
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		choice := map[string]any{"text": text}
		if chat {
			choice = map[string]any{"message": map[string]any{"role": "assistant", "content": text}}
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{choice}, "usage": map[string]any{"prompt_tokens": 2, "completion_tokens": 3}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func captureGateway(t *testing.T, capture *CaptureConfig) (*testGateway, string) {
	t.Helper()
	rep := echoReplica(t)
	dir := filepath.Join(t.TempDir(), "traffic", "dep-test")
	if capture != nil {
		capture.Dir = dir
	}
	g := startGateway(t, Config{Generation: 1, Revision: 3, Backends: []Backend{{URL: rep.URL, Revision: 3}}, Capture: capture})
	return g, dir
}

var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

func TestCaptureNoEmailReachesDisk(t *testing.T) {
	g, dir := captureGateway(t, &CaptureConfig{Sample: 1, Redact: traffic.Detectors, RedactPatterns: []string{`ACCT-[0-9]{8}`}})
	bodies := []struct{ path, body string }{
		{"/v1/completions", `{"model":"m","prompt":"Mail me at jane.doe@example.com about ACCT-12345678","max_tokens":4}`},
		{"/v1/completions", `{"model":"m","prompt":"stream to bob@corp.io please","stream":true}`},
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"I am eve@x.org, call +1 415 555 0134"}]}`},
		{"/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"parts from al@b.co"}]}]}`},
	}
	var ids []string
	for i, b := range bodies {
		r := call(t, "POST", g.url+b.path, testKey, b.body)
		if r.code != 200 {
			t.Fatalf("%s: %d %s", b.path, r.code, r.raw)
		}
		if i < 3 && !emailRe.MatchString(r.raw) {
			t.Fatalf("the client's response lost its content (redaction is for the disk only): %s", r.raw)
		}
		ids = append(ids, r.hdr.Get("X-Request-Id"))
	}
	fb := call(t, "POST", g.url+"/v1/feedback", testKey, fmt.Sprintf(`{"request_id":%q,"rating":5,"correction":"write to support@example.com"}`, ids[0]))
	if fb.code != 200 {
		t.Fatalf("feedback: %d %s", fb.code, fb.raw)
	}
	g.srv.Close() // seals the open segment

	var files int
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		files++
		b, _ := os.ReadFile(p)
		if m := emailRe.Find(b); m != nil {
			t.Errorf("%s holds an email address: %s", p, m)
		}
		if strings.Contains(string(b), "ACCT-12345678") || strings.Contains(string(b), "555 0134") {
			t.Errorf("%s holds a pattern or phone match:\n%s", p, b)
		}
		return nil
	})
	if files == 0 {
		t.Fatal("nothing was captured")
	}
	recs, err := traffic.ReadRecords(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := traffic.Join(recs)
	if len(rows) != 4 {
		t.Fatalf("%d rows captured, want 4: %+v", len(rows), rows)
	}
	want := []struct{ input, completion string }{
		{"Mail me at [REDACTED:email] about [REDACTED:pattern]", "echo: Mail me at [REDACTED:email] about [REDACTED:pattern]"},
		{"stream to [REDACTED:email] please", "echo: stream to [REDACTED:email] please"},
		{"be brief\nI am [REDACTED:email], call [REDACTED:phone]", "echo: I am [REDACTED:email], call [REDACTED:phone]"},
		{"parts from [REDACTED:email]", ""},
	}
	for i, w := range want {
		r := rows[i]
		if r.Input() != w.input || w.completion != "" && r.Completion != w.completion {
			t.Errorf("row %d: input %q completion %q, want %q %q", i, r.Input(), r.Completion, w.input, w.completion)
		}
		if r.RequestID != ids[i] || r.Revision != 3 || r.Status != 200 || r.Model != "m" || r.LatencyMS <= 0 {
			t.Errorf("row %d: %+v", i, r.Record)
		}
	}
	if !rows[1].Stream || rows[0].PromptTokens != 2 || rows[0].CompletionTokens != 3 {
		t.Errorf("stream flag or tokens: %+v %+v", rows[0].Record, rows[1].Record)
	}
	if f := rows[0].Feedback; f == nil || *f.Rating != 5 || f.Correction != "write to [REDACTED:email]" {
		t.Errorf("feedback not joined (redacted): %+v", f)
	}
}

func TestCaptureSamplingAndPaths(t *testing.T) {
	g, dir := captureGateway(t, &CaptureConfig{Sample: 0.5, Redact: []string{}})
	for i := 0; i < 200; i++ {
		if r := call(t, "POST", completion(g), testKey, prompt); r.code != 200 {
			t.Fatalf("%d %s", r.code, r.raw)
		}
	}
	call(t, "GET", g.url+"/v1/models", testKey, "")
	g.srv.Close()
	recs, _ := traffic.ReadRecords(dir, true)
	if n := len(recs); n < 60 || n > 140 {
		t.Errorf("sample 0.5 of 200 requests kept %d", n)
	}
	for _, r := range recs {
		if r.Path != "/v1/completions" {
			t.Errorf("captured %s", r.Path)
		}
	}
}

func TestNoCaptureWithoutBlock(t *testing.T) {
	g, dir := captureGateway(t, nil)
	if r := call(t, "POST", completion(g), testKey, prompt); r.code != 200 {
		t.Fatal(r.raw)
	}
	r := call(t, "POST", g.url+"/v1/feedback", testKey, `{"request_id":"req-0123456789abcdef01234567","rating":1}`)
	if r.code != 404 || errCode(r) != "capture_disabled" {
		t.Errorf("feedback without capture: %d %s", r.code, r.raw)
	}
	g.srv.Close()
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Errorf("a traffic directory exists without a capture block: %v", err)
	}
	if strings.Contains(scrapeText(t, g), MetricCaptured) {
		t.Error("capture metrics exist without a capture block")
	}
}

func TestFeedbackChecks(t *testing.T) {
	g, _ := captureGateway(t, &CaptureConfig{Sample: 1, Redact: traffic.Detectors})
	url := g.url + "/v1/feedback"
	for _, tc := range []struct {
		name, key, body string
		code            int
		errCode         string
	}{
		{"no key", "", `{"request_id":"req-0123456789abcdef01234567","rating":1}`, 401, "invalid_api_key"},
		{"wrong key", "nope", `{"request_id":"req-0123456789abcdef01234567","rating":1}`, 401, "invalid_api_key"},
		{"not json", testKey, `{`, 400, "invalid_json"},
		{"bad id", testKey, `{"request_id":"../x","rating":1}`, 400, "invalid_value"},
		{"nothing to say", testKey, `{"request_id":"req-0123456789abcdef01234567"}`, 400, "invalid_value"},
		{"rating only", testKey, `{"request_id":"req-0123456789abcdef01234567","rating":4}`, 200, ""},
		{"correction only", testKey, `{"request_id":"req-0123456789abcdef01234567","correction":"x"}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", url, tc.key, tc.body)
			if r.code != tc.code || tc.errCode != "" && errCode(r) != tc.errCode {
				t.Errorf("%d %s, want %d %s", r.code, r.raw, tc.code, tc.errCode)
			}
		})
	}
	if r := call(t, "GET", url, testKey, ""); r.code != 405 {
		t.Errorf("GET feedback: %d", r.code)
	}
}

func TestCaptureQueueFullDropsCounted(t *testing.T) {
	gate := make(chan struct{})
	testCaptureGate, captureQueueSize = gate, 2
	t.Cleanup(func() { testCaptureGate, captureQueueSize = nil, 4096 })
	g, dir := captureGateway(t, &CaptureConfig{Sample: 1, Redact: traffic.Detectors})
	// The writer is stuck on the gate: the first record waits in it, two
	// fill the queue, the rest are dropped, and no request waits.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 10; i++ {
		if r := call(t, "POST", completion(g), testKey, prompt); r.code != 200 {
			t.Fatalf("request %d: %d %s", i, r.code, r.raw)
		}
	}
	if time.Now().After(deadline) {
		t.Fatal("requests waited for the stuck capture writer")
	}
	text := scrapeText(t, g)
	dropped := metricValue(text, MetricCaptureDropped+`{deployment="dep-test",reason="queue_full"}`)
	if dropped < 7 {
		t.Errorf("queue_full drops = %v, want at least 7 of 10 with a queue of 2:\n%s", dropped, text)
	}
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	release()
	g.srv.Close()
	recs, _ := traffic.ReadRecords(dir, true)
	if int(dropped)+len(recs) != 10 {
		t.Errorf("%v dropped + %d written != 10 requests", dropped, len(recs))
	}
	if got := metricValue(scrapeText(t, g), MetricCaptured+`{deployment="dep-test"}`); int(got) != len(recs) {
		t.Errorf("%s = %v, want %d", MetricCaptured, got, len(recs))
	}
}

func TestCaptureMaxRows(t *testing.T) {
	g, dir := captureGateway(t, &CaptureConfig{Sample: 1, Redact: traffic.Detectors, MaxRows: 3})
	for i := 0; i < 5; i++ {
		call(t, "POST", completion(g), testKey, prompt)
	}
	g.srv.Close()
	recs, _ := traffic.ReadRecords(dir, true)
	if len(recs) != 3 {
		t.Errorf("max_rows 3 kept %d", len(recs))
	}
	if got := metricValue(scrapeText(t, g), MetricCaptureDropped+`{deployment="dep-test",reason="max_rows"}`); got != 2 {
		t.Errorf("max_rows drops = %v, want 2", got)
	}
}

func TestCaptureConfigCheck(t *testing.T) {
	for _, c := range []CaptureConfig{
		{Dir: "rel", Sample: 1},
		{Dir: "/x", Sample: 0},
		{Dir: "/x", Sample: 1.5},
		{Dir: "/x", Sample: 1, Redact: []string{"ssn"}},
		{Dir: "/x", Sample: 1, RedactPatterns: []string{"("}},
		{Dir: "/x", Sample: 1, SealAfter: "soon"},
	} {
		if err := c.Check(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	ok := CaptureConfig{Dir: "/x", Sample: 0.05, Redact: traffic.Detectors, RedactPatterns: []string{`ACCT-[0-9]{8}`}, MaxRows: 100000}
	if err := ok.Check(); err != nil {
		t.Error(err)
	}
}

func scrapeText(t *testing.T, g *testGateway) string {
	t.Helper()
	return call(t, "GET", g.url+"/metrics", "", "").raw
}

func metricValue(text, series string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}
