package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func testServer(t *testing.T, key string) *httptest.Server {
	t.Helper()
	m, err := tinylm.Load("../base")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(newServer(m, "quickstart", nil, key, nil).routes())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, ts *httptest.Server, method, path, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: bad JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestRoutes(t *testing.T) {
	ts := testServer(t, "")

	code, body := do(t, ts, "GET", "/health", "", nil)
	if code != 200 || body["status"] != "ok" {
		t.Fatalf("health: %d %v", code, body)
	}

	code, body = do(t, ts, "GET", "/v1/models", "", nil)
	data, _ := body["data"].([]any)
	if code != 200 || body["object"] != "list" || len(data) != 1 || data[0].(map[string]any)["id"] != "quickstart" {
		t.Fatalf("models: %d %v", code, body)
	}
	if code, _ := do(t, ts, "GET", "/v1/models/quickstart", "", nil); code != 200 {
		t.Fatalf("model by id: %d", code)
	}

	code, body = do(t, ts, "POST", "/v1/completions", `{"prompt":"The old man","max_tokens":20,"temperature":0.8,"seed":7}`, nil)
	if code != 200 || body["object"] != "text_completion" || body["model"] != "quickstart" || body["id"] == "" {
		t.Fatalf("completions: %d %v", code, body)
	}
	choice := body["choices"].([]any)[0].(map[string]any)
	text := choice["text"].(string)
	usage := body["usage"].(map[string]any)
	if usage["prompt_tokens"].(float64) != 11 || usage["completion_tokens"].(float64) != float64(len([]rune(text))) ||
		usage["total_tokens"].(float64) != 11+float64(len([]rune(text))) {
		t.Fatalf("usage %v for text %q", usage, text)
	}
	if fr := choice["finish_reason"]; fr != "length" && fr != "stop" {
		t.Fatalf("finish_reason %v", fr)
	}
	if fr := choice["finish_reason"]; fr == "length" && len([]rune(text)) != 20 {
		t.Fatalf("finish_reason length but %d chars", len([]rune(text)))
	}
	// Same seed, same text.
	_, again := do(t, ts, "POST", "/v1/completions", `{"prompt":"The old man","max_tokens":20,"temperature":0.8,"seed":7}`, nil)
	if again["choices"].([]any)[0].(map[string]any)["text"] != text {
		t.Fatalf("seeded sampling is not reproducible")
	}

	code, body = do(t, ts, "POST", "/v1/chat/completions",
		`{"model":"quickstart","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Where are"}],"max_tokens":10,"temperature":0}`, nil)
	if code != 200 || body["object"] != "chat.completion" {
		t.Fatalf("chat: %d %v", code, body)
	}
	msg := body["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if msg["role"] != "assistant" || msg["content"] == nil {
		t.Fatalf("chat message %v", msg)
	}
	// The whole conversation, through the model's chat template: greedy chat
	// equals the greedy completion of the rendered prompt.
	rendered := "system: be brief\nuser: Where are\nassistant: "
	if body["usage"].(map[string]any)["prompt_tokens"].(float64) != float64(len(rendered)) {
		t.Fatalf("chat usage %v, want %d prompt tokens", body["usage"], len(rendered))
	}
	pj, _ := json.Marshal(rendered)
	_, comp := do(t, ts, "POST", "/v1/completions", `{"prompt":`+string(pj)+`,"max_tokens":10,"temperature":0}`, nil)
	if got := comp["choices"].([]any)[0].(map[string]any)["text"]; got != msg["content"] {
		t.Fatalf("chat %q != completion of the rendered conversation %q", msg["content"], got)
	}

	for _, c := range []struct{ path, body string }{
		{"/v1/completions", `{"prompt": `},
		{"/v1/chat/completions", `not json`},
		{"/v1/chat/completions", `{"messages":[]}`},
		{"/v1/completions", `{"prompt":"x","max_tokens":-1}`},
	} {
		code, body := do(t, ts, "POST", c.path, c.body, nil)
		e, _ := body["error"].(map[string]any)
		if code != 400 || e == nil || e["message"] == "" || e["type"] != "invalid_request_error" {
			t.Errorf("%s %s: got %d %v, want 400 with an error object", c.path, c.body, code, body)
		}
	}
	if code, body := do(t, ts, "GET", "/nope", "", nil); code != 404 || body["error"] == nil {
		t.Errorf("unknown route: %d %v", code, body)
	}
}

func TestAPIKey(t *testing.T) {
	ts := testServer(t, "sekret")
	if code, _ := do(t, ts, "GET", "/v1/models", "", nil); code != 401 {
		t.Fatalf("no key: %d, want 401", code)
	}
	if code, _ := do(t, ts, "GET", "/v1/models", "", map[string]string{"Authorization": "Bearer sekret"}); code != 200 {
		t.Fatalf("with key: %d, want 200", code)
	}
	if code, _ := do(t, ts, "GET", "/health", "", nil); code != 200 {
		t.Fatalf("health must not need a key: %d", code)
	}
}

// Started by llmops ($LLMOPS_REPLICA_TOKEN set), serve answers only
// requests that carry the token, as the deployment's gateway sends it; the
// health checks need none.
func TestReplicaToken(t *testing.T) {
	t.Setenv("LLMOPS_REPLICA_TOKEN", "replica-token-1234")
	ts := testServer(t, "")
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/v1/models", "", 401},
		{"POST", "/v1/completions", "wrong", 401},
		{"GET", "/health", "", 200},
		{"GET", "/healthz", "", 200},
		{"GET", "/v1/models", "replica-token-1234", 200},
	} {
		hdr := map[string]string{}
		if c.token != "" {
			hdr["X-LLMops-Replica-Token"] = c.token
		}
		if code, _ := do(t, ts, c.method, c.path, `{"prompt":"a"}`, hdr); code != c.want {
			t.Errorf("%s %s with token %q: %d, want %d", c.method, c.path, c.token, code, c.want)
		}
	}
}
