package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

// TestRefusedParameters: what the server does not do is refused with 400
// naming the parameter, never ignored; neutral values pass.
func TestRefusedParameters(t *testing.T) {
	ts := testServer(t, "")
	for _, c := range []struct {
		path, body string
		code       int
		param      string
		errCode    string
	}{
		{"/v1/completions", `{"prompt":"x","n":2}`, 400, "n", "unsupported_parameter"},
		{"/v1/completions", `{"prompt":"x","logprobs":3}`, 400, "logprobs", "unsupported_parameter"},
		{"/v1/completions", `{"prompt":"x","echo":true}`, 400, "echo", "unsupported_parameter"},
		{"/v1/completions", `{"prompt":"x","max_tokens":"ten"}`, 400, "max_tokens", "invalid_value"},
		{"/v1/completions", `{"prompt":"x","max_tokens":-1}`, 400, "max_tokens", "invalid_value"},
		{"/v1/completions", `{"prompt":"x","temperature":3}`, 400, "temperature", "invalid_value"},
		{"/v1/completions", `{"prompt":"x","bogus":1}`, 400, "bogus", "unknown_parameter"},
		{"/v1/completions", `{"prompt":"x","stream_options":{"include_usage":true}}`, 400, "stream_options", "invalid_value"},
		{"/v1/completions", `{"prompt":"x","model":"nope"}`, 404, "model", "model_not_found"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, 400, "tools", "unsupported_parameter"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`, 400, "response_format", "unsupported_parameter"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"logprobs":true}`, 400, "logprobs", "unsupported_parameter"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"top_p":0.5}`, 400, "top_p", "unsupported_parameter"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content[0].type", "unsupported_parameter"},
		{"/v1/chat/completions", `{"messages":[{"role":"wizard","content":"x"}]}`, 400, "messages[0].role", "invalid_value"},
		{"/v1/chat/completions", `{"messages":[]}`, 400, "messages", "invalid_value"},
		{"/v1/chat/completions", `{"messages":"hi"}`, 400, "messages", "invalid_value"},
		{"/v1/embeddings", `{"input":"x","encoding_format":"int8"}`, 400, "encoding_format", "invalid_value"},
		{"/v1/embeddings", `{"input":"x","dimensions":8}`, 400, "dimensions", "unsupported_parameter"},
		{"/v1/embeddings", `{"input":"x","model":"nope"}`, 404, "model", "model_not_found"},
		// Neutral values of unsupported features are no request for them.
		{"/v1/completions", `{"prompt":"x","n":1,"logprobs":null,"echo":false,"top_p":1,"presence_penalty":0,"user":"u"}`, 200, "", ""},
		{"/v1/chat/completions", `{"model":"quickstart","messages":[{"role":"user","content":"x"}],"tools":[],"tool_choice":"none","response_format":{"type":"text"},"logprobs":false}`, 200, "", ""},
	} {
		code, body := do(t, ts, "POST", c.path, c.body, nil)
		if code != c.code {
			t.Errorf("%s %s: %d %v, want %d", c.path, c.body, code, body, c.code)
			continue
		}
		if c.code == 200 {
			continue
		}
		e, _ := body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if e == nil || e["param"] != c.param || e["code"] != c.errCode || e["type"] != "invalid_request_error" || msg == "" {
			t.Errorf("%s %s: error %v, want param %q code %q", c.path, c.body, e, c.param, c.errCode)
		}
		for _, goish := range []string{"Go struct", "json:", "unmarshal", "*int", "float64"} {
			if strings.Contains(msg, goish) {
				t.Errorf("%s %s: message %q shows Go internals (%q)", c.path, c.body, msg, goish)
			}
		}
	}
}

// sse reads a server-sent event stream: the data of each event.
func sse(t *testing.T, ts *httptest.Server, path, body string) ([]string, http.Header) {
	t.Helper()
	resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	return data, resp.Header
}

func TestStreaming(t *testing.T) {
	ts := testServer(t, "")
	_, whole := do(t, ts, "POST", "/v1/completions", `{"prompt":"The old man","max_tokens":30,"temperature":0.8,"seed":3}`, nil)
	want := whole["choices"].([]any)[0].(map[string]any)["text"].(string)

	data, hdr := sse(t, ts, "/v1/completions", `{"prompt":"The old man","max_tokens":30,"temperature":0.8,"seed":3,"stream":true,"stream_options":{"include_usage":true}}`)
	if hdr.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id on a stream")
	}
	if n := len(data); n < 4 || data[n-1] != "[DONE]" {
		t.Fatalf("events %q: want chunks then [DONE]", data)
	}
	var text strings.Builder
	var usage map[string]any
	finish := ""
	for i, d := range data[:len(data)-1] {
		var c struct {
			Object  string         `json:"object"`
			Usage   map[string]any `json:"usage"`
			Choices []struct {
				Text         string  `json:"text"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil || c.Object != "text_completion" {
			t.Fatalf("event %d %q: %v", i, d, err)
		}
		if c.Usage != nil {
			if len(c.Choices) != 0 || i != len(data)-2 {
				t.Fatalf("usage in event %d of %d with choices %v", i, len(data), c.Choices)
			}
			usage = c.Usage
			continue
		}
		text.WriteString(c.Choices[0].Text)
		if c.Choices[0].FinishReason != nil {
			finish = *c.Choices[0].FinishReason
		}
	}
	if text.String() != want || finish == "" {
		t.Fatalf("streamed %q (finish %q), want %q as without streaming", text.String(), finish, want)
	}
	if usage == nil || usage["completion_tokens"].(float64) != float64(len([]rune(want))) || usage["prompt_tokens"].(float64) != 11 {
		t.Fatalf("usage chunk %v", usage)
	}

	// Chat: role first, then content deltas; no usage chunk unless asked.
	data, _ = sse(t, ts, "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8,"temperature":0,"stream":true}`)
	var first struct {
		Object  string `json:"object"`
		Choices []struct {
			Delta map[string]any `json:"delta"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(data[0]), &first); err != nil || first.Object != "chat.completion.chunk" || first.Choices[0].Delta["role"] != "assistant" {
		t.Fatalf("first chat chunk %q", data[0])
	}
	for _, d := range data {
		if strings.Contains(d, `"usage"`) {
			t.Fatalf("a usage chunk without stream_options: %q", d)
		}
	}
}

// The stop string is held back while streaming: no piece of it is sent.
func TestStreamingStop(t *testing.T) {
	m, err := tinylm.Load("../base")
	if err != nil {
		t.Fatal(err)
	}
	full := m.Generate("The old man", tinylm.GenerateOptions{MaxTokens: 40}).Text
	if len(full) < 12 {
		t.Fatalf("greedy text %q too short for the test", full)
	}
	stop := full[8:11]
	var pieces []string
	g := m.Generate("The old man", tinylm.GenerateOptions{MaxTokens: 40, Stop: []string{stop}, OnText: func(p string) { pieces = append(pieces, p) }})
	if strings.Join(pieces, "") != g.Text || strings.Contains(g.Text, stop) || g.FinishReason != "stop" {
		t.Fatalf("pieces %q text %q (stop %q, finish %s)", pieces, g.Text, stop, g.FinishReason)
	}
}

func TestEmbeddings(t *testing.T) {
	ts := testServer(t, "")
	code, body := do(t, ts, "POST", "/v1/embeddings", `{"model":"quickstart","input":["kes job list","kes job list","the weather"]}`, nil)
	if code != 200 || body["object"] != "list" {
		t.Fatalf("embeddings: %d %v", code, body)
	}
	data := body["data"].([]any)
	vec := func(i int) []float64 {
		var v []float64
		for _, x := range data[i].(map[string]any)["embedding"].([]any) {
			v = append(v, x.(float64))
		}
		return v
	}
	a, b, c := vec(0), vec(1), vec(2)
	if len(a) == 0 || !equal(a, b) || equal(a, c) {
		t.Fatalf("equal texts must give equal vectors, different ones different: %v %v %v", a[:3], b[:3], c[:3])
	}
	var norm float64
	for _, x := range a {
		norm += x * x
	}
	if math.Abs(norm-1) > 1e-4 {
		t.Fatalf("vector norm² %g, want 1", norm)
	}
	_, b64 := do(t, ts, "POST", "/v1/embeddings", `{"input":"kes job list","encoding_format":"base64"}`, nil)
	raw, err := base64.StdEncoding.DecodeString(b64["data"].([]any)[0].(map[string]any)["embedding"].(string))
	if err != nil || len(raw) != 4*len(a) {
		t.Fatalf("base64 embedding: %v (%d bytes for %d dims)", err, len(raw), len(a))
	}
	for i := range a {
		if f := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); f != float32(a[i]) {
			t.Fatalf("base64 dimension %d is %g, float gave %g", i, f, a[i])
		}
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Several models under their names; a model's own chat template.
func TestModelsAndChatTemplate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.bin"} {
		b, err := os.ReadFile(filepath.Join("../base", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "config.json" {
			var cfg map[string]any
			must(t, json.Unmarshal(b, &cfg))
			cfg["chat_template"] = "{{range .Messages}}<{{.Role}}>{{.Content}}{{end}}{{if .AddGenerationPrompt}}<assistant>{{end}}"
			b, _ = json.Marshal(cfg)
		}
		must(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	base, err := tinylm.Load("../base")
	must(t, err)
	tmpl, err := tinylm.Load(dir)
	must(t, err)
	ts := httptest.NewServer(newServer(base, "base", map[string]*tinylm.Model{"templated": tmpl}, "", nil).routes())
	defer ts.Close()

	_, list := do(t, ts, "GET", "/v1/models", "", nil)
	var ids []string
	for _, d := range list["data"].([]any) {
		ids = append(ids, d.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, ",") != "base,templated" {
		t.Fatalf("models %v", ids)
	}
	if code, body := do(t, ts, "GET", "/v1/models/other", "", nil); code != 404 || body["error"].(map[string]any)["code"] != "model_not_found" {
		t.Fatalf("unknown model: %d %v", code, body)
	}
	conv := `"messages":[{"role":"system","content":"S"},{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"},{"role":"user","content":"And?"}]`
	_, body := do(t, ts, "POST", "/v1/chat/completions", `{"model":"templated",`+conv+`,"max_tokens":5,"temperature":0}`, nil)
	rendered := "<system>S<user>Hi<assistant>Yo<user>And?<assistant>"
	if body["model"] != "templated" || body["usage"].(map[string]any)["prompt_tokens"].(float64) != float64(len(rendered)) {
		t.Fatalf("templated chat: %v", body)
	}
	want := tmpl.Generate(rendered, tinylm.GenerateOptions{MaxTokens: 5})
	if got := body["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]; got != want.Text {
		t.Fatalf("chat answered %q, the model continues the rendered conversation with %q", got, want.Text)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
