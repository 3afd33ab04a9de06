package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

// server answers a subset of the OpenAI API from one tinylm model. Tokens are
// characters.
type server struct {
	model   *tinylm.Model
	name    string
	apiKey  string // if set, /v1/* requires "Authorization: Bearer <key>"
	created int64
	seq     atomic.Uint64
	logger  *log.Logger
}

const (
	defaultMaxTokens = 16
	maxMaxTokens     = 4096
	maxBody          = 1 << 20
)

func newServer(m *tinylm.Model, name, apiKey string, logger *log.Logger) *server {
	return &server{model: m, name: name, apiKey: apiKey, created: time.Now().Unix(), logger: logger}
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /v1/models", s.auth(s.models))
	mux.HandleFunc("GET /v1/models/{id}", s.auth(s.modelByID))
	mux.HandleFunc("POST /v1/completions", s.auth(s.completions))
	mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chat))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	// Started by llmops, only the deployment's gateway may call: it sends
	// the replica token it gave this process ($LLMOPS_REPLICA_TOKEN).
	return s.logRequests(onlyTheGateway(os.Getenv("LLMOPS_REPLICA_TOKEN"), mux))
}

// onlyTheGateway answers 401 to a request without the replica token in
// X-LLMops-Replica-Token, except the health checks (which llmops makes
// directly). It is what every serving command llmops starts should do
// (docs/job-contract.md, "Serving commands"); written out here, since this
// program depends on nothing but its model package. An empty token (serve
// started by hand) requires nothing.
func onlyTheGateway(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		health := r.Method == http.MethodGet && (r.URL.Path == "/health" || r.URL.Path == "/healthz")
		got := r.Header.Get("X-LLMops-Replica-Token")
		if !health && subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			apiError(w, http.StatusUnauthorized, "invalid_request_error", "this replica answers its deployment's gateway only: call the deployment's endpoint")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		h.ServeHTTP(rec, r)
		if s.logger != nil {
			s.logger.Printf("%s %s %d %s", r.Method, r.URL.Path, rec.status, time.Since(t0).Round(time.Microsecond))
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+s.apiKey {
			apiError(w, http.StatusUnauthorized, "invalid_request_error", "missing or invalid API key (send Authorization: Bearer <key>)")
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// apiError writes an OpenAI-style error object.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": s.name})
}

func (s *server) modelObject() map[string]any {
	return map[string]any{"id": s.name, "object": "model", "created": s.created, "owned_by": "llmops"}
}

func (s *server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{s.modelObject()}})
}

func (s *server) modelByID(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.name {
		apiError(w, http.StatusNotFound, "invalid_request_error", fmt.Sprintf("model %q does not exist", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
}

// samplingParams are the request fields shared by both completion routes.
type samplingParams struct {
	Model       string          `json:"model"`
	MaxTokens   *int            `json:"max_tokens"`
	MaxComp     *int            `json:"max_completion_tokens"`
	Temperature *float64        `json:"temperature"`
	Seed        *int64          `json:"seed"`
	Stop        json.RawMessage `json:"stop"`
	Stream      bool            `json:"stream"`
	N           *int            `json:"n"`
}

func (p samplingParams) options(s *server) (tinylm.GenerateOptions, error) {
	o := tinylm.GenerateOptions{MaxTokens: defaultMaxTokens, Temperature: 1}
	switch {
	case p.MaxTokens != nil:
		o.MaxTokens = *p.MaxTokens
	case p.MaxComp != nil:
		o.MaxTokens = *p.MaxComp
	}
	if o.MaxTokens < 0 || o.MaxTokens > maxMaxTokens {
		return o, fmt.Errorf("max_tokens must be between 0 and %d", maxMaxTokens)
	}
	if p.Temperature != nil {
		o.Temperature = *p.Temperature
	}
	if o.Temperature < 0 || o.Temperature > 2 {
		return o, errors.New("temperature must be between 0 and 2")
	}
	if p.Seed != nil {
		o.Seed = uint64(*p.Seed)
	} else {
		o.Seed = uint64(time.Now().UnixNano()) ^ s.seq.Add(1)<<32
	}
	if p.Stream {
		return o, errors.New("stream=true is not supported by this server")
	}
	if p.N != nil && *p.N != 1 {
		return o, errors.New("only n=1 is supported")
	}
	if len(p.Stop) > 0 && string(p.Stop) != "null" {
		var one string
		if err := json.Unmarshal(p.Stop, &one); err == nil {
			o.Stop = []string{one}
		} else if err := json.Unmarshal(p.Stop, &o.Stop); err != nil {
			return o, errors.New("stop must be a string or an array of strings")
		}
	}
	return o, nil
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request body too large")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func (s *server) usage(prompt string, g tinylm.Generation) map[string]int {
	pt := utf8.RuneCountInString(prompt)
	return map[string]int{"prompt_tokens": pt, "completion_tokens": g.Tokens, "total_tokens": pt + g.Tokens}
}

func (s *server) id(prefix string) string {
	return fmt.Sprintf("%s-%x%04x", prefix, time.Now().UnixNano(), s.seq.Add(1)&0xffff)
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		samplingParams
		Prompt json.RawMessage `json:"prompt"`
	}
	if !decode(w, r, &req) {
		return
	}
	var prompt string
	if len(req.Prompt) > 0 && string(req.Prompt) != "null" {
		var list []string
		if err := json.Unmarshal(req.Prompt, &prompt); err != nil {
			if err := json.Unmarshal(req.Prompt, &list); err != nil || len(list) != 1 {
				apiError(w, http.StatusBadRequest, "invalid_request_error", "prompt must be a string (or an array of one string)")
				return
			}
			prompt = list[0]
		}
	}
	opt, err := req.options(s)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	g := s.model.Generate(prompt, opt)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.id("cmpl"), "object": "text_completion", "created": time.Now().Unix(), "model": s.name,
		"choices": []any{map[string]any{"text": g.Text, "index": 0, "logprobs": nil, "finish_reason": g.FinishReason}},
		"usage":   s.usage(prompt, g),
	})
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text returns the message content: a string, or the text parts of an array
// of content parts.
func (m chatMessage) text() (string, error) {
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", errors.New("message content must be a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var req struct {
		samplingParams
		Messages []chatMessage `json:"messages"`
	}
	if !decode(w, r, &req) {
		return
	}
	prompt, found := "", false
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			t, err := req.Messages[i].text()
			if err != nil {
				apiError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
				return
			}
			prompt, found = t, true
			break
		}
	}
	if !found {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "messages must contain at least one message with role \"user\"")
		return
	}
	opt, err := req.options(s)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	g := s.model.Generate(prompt, opt)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.id("chatcmpl"), "object": "chat.completion", "created": time.Now().Unix(), "model": s.name,
		"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": g.Text},
			"logprobs": nil, "finish_reason": g.FinishReason,
		}},
		"usage": s.usage(prompt, g),
	})
}
