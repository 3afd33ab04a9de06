package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

// server answers the OpenAI API (models, completions, chat completions,
// embeddings; streaming or not) from one or more tinylm models, each under
// its name. Tokens are characters.
type server struct {
	models  map[string]*tinylm.Model
	names   []string // sorted; names[0] is not special, def is
	def     string   // the model a request without "model" gets
	apiKey  string   // if set, /v1/* requires "Authorization: Bearer <key>"
	created int64
	seq     atomic.Uint64
	logger  *log.Logger
}

const (
	defaultMaxTokens = 16
	maxMaxTokens     = 4096
	maxBody          = 1 << 20
)

// newServer serves m as name, and the extra models under their names.
func newServer(m *tinylm.Model, name string, extra map[string]*tinylm.Model, apiKey string, logger *log.Logger) *server {
	s := &server{models: map[string]*tinylm.Model{name: m}, def: name, apiKey: apiKey, created: time.Now().Unix(), logger: logger}
	for n, em := range extra {
		s.models[n] = em
	}
	for n := range s.models {
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	return s
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /v1/models", s.auth(s.listModels))
	mux.HandleFunc("GET /v1/models/{id...}", s.auth(s.modelByID))
	mux.HandleFunc("POST /v1/completions", s.auth(s.completions))
	mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chat))
	mux.HandleFunc("POST /v1/embeddings", s.auth(s.embeddings))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "invalid_request_error", "", "unknown_url", fmt.Sprintf("Unknown request URL: %s %s.", r.Method, r.URL.Path))
	})
	// Started by llmops, only the deployment's gateway may call: it sends
	// the replica token it gave this process ($LLMOPS_REPLICA_TOKEN).
	return s.logRequests(withRequestID(onlyTheGateway(os.Getenv("LLMOPS_REPLICA_TOKEN"), mux)))
}

// withRequestID gives every response an X-Request-Id: the gateway's (it
// sends one with each request) or a new one.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !safeID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = "req-" + hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r)
	})
}

func safeID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
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
			apiError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_replica_token", "This replica answers its deployment's gateway only: call the deployment's endpoint.")
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

// Flush lets streamed responses through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.apiKey != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.apiKey)) != 1 {
			apiError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key", "Missing or invalid API key. Send it as: Authorization: Bearer <key>.")
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// apiError writes the error object of the OpenAI API: {"error": {"message",
// "type", "param", "code"}}, param and code null when empty.
func apiError(w http.ResponseWriter, status int, typ, param, code, msg string) {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if param != "" {
		e["param"] = param
	}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// writeErr writes a request error (400, or 404 for an unknown model).
func writeErr(w http.ResponseWriter, err error) {
	if e, ok := err.(*reqError); ok {
		status := e.status
		if status == 0 {
			status = http.StatusBadRequest
		}
		apiError(w, status, "invalid_request_error", e.param, e.code, e.msg)
		return
	}
	apiError(w, http.StatusBadRequest, "invalid_request_error", "", "", err.Error())
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": s.def, "models": s.names})
}

func (s *server) modelObject(name string) map[string]any {
	return map[string]any{"id": name, "object": "model", "created": s.created, "owned_by": "llmops"}
}

func (s *server) listModels(w http.ResponseWriter, r *http.Request) {
	data := make([]any, 0, len(s.names))
	for _, n := range s.names {
		data = append(data, s.modelObject(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *server) modelByID(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.models[id] == nil {
		writeErr(w, s.unknownModel(id))
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject(id))
}

// model returns the model a request names ("" is the default one).
func (s *server) model(name string) (*tinylm.Model, string, error) {
	if name == "" {
		name = s.def
	}
	m := s.models[name]
	if m == nil {
		return nil, "", s.unknownModel(name)
	}
	return m, name, nil
}

func (s *server) unknownModel(name string) error {
	return &reqError{status: http.StatusNotFound, param: "model", code: "model_not_found",
		msg: fmt.Sprintf("The model %q does not exist. This deployment serves: %s (GET /v1/models lists them).", name, quoteList(s.names))}
}

func (s *server) id(prefix string) string {
	return fmt.Sprintf("%s-%x%04x", prefix, time.Now().UnixNano(), s.seq.Add(1)&0xffff)
}
