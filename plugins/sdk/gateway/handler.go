package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// proxy serves a request under /v1/: method, access, rate limit and body
// checks, then the reverse proxy (proxy.go) forwards it to a backend.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, id string) {
	start := time.Now()
	rt := s.cur.Load()
	refuse := func(code int, typ, errCode, reason, msg string) {
		writeError(w, code, typ, "", errCode, msg)
		s.metrics.record(rt.cfg.Deployment, rt.cfg.Revision, code, reason, false, time.Since(start), usage{})
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		refuse(http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "method", "Only GET and POST are served.")
		return
	}
	who := rt.matchCaller(r)
	if who == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="llmops"`)
		refuse(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "unauthorized", "Missing or invalid API key. Send it as: Authorization: Bearer <key>.")
		return
	}
	if rpm := rt.cfg.RequestsPerMinute; rpm > 0 {
		if ok, wait := s.limiter.allow(who, rpm, start); !ok {
			secs := int((wait + time.Second - 1) / time.Second)
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			refuse(http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "rate_limited",
				"Rate limit reached: "+strconv.FormatFloat(rpm, 'g', -1, 64)+" requests per minute. Retry after "+strconv.Itoa(secs)+"s.")
			return
		}
	}
	if r.URL.Path == "/v1/feedback" {
		s.feedback(w, r, rt, start)
		return
	}
	x := &exchange{id: id, route: rt, path: r.URL.Path, capture: rt.sampled(r)}
	if rt.models != nil && r.Method == http.MethodGet && (r.URL.Path == "/v1/models" || strings.HasPrefix(r.URL.Path, "/v1/models/")) {
		code := s.listModels(w, rt, strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1/models"), "/"))
		s.metrics.record(rt.cfg.Deployment, rt.cfg.Revision, code, "", false, time.Since(start), usage{})
		return
	}
	if r.Method == http.MethodPost {
		if r.ContentLength > rt.maxBody {
			refuse(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "too_large", "The request body is larger than "+strconv.FormatInt(rt.maxBody, 10)+" bytes.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.maxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			refuse(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "too_large", "The request body is larger than "+strconv.FormatInt(rt.maxBody, 10)+" bytes.")
			return
		case err != nil:
			refuse(http.StatusBadRequest, "invalid_request_error", "unreadable_body", "bad_body", "The request body could not be read.")
			return
		case len(bytes.TrimSpace(body)) == 0 || !json.Valid(body):
			refuse(http.StatusBadRequest, "invalid_request_error", "invalid_json", "invalid_json", "The request body is not valid JSON.")
			return
		}
		x.body, x.clientBody = body, body
		if m, ok := rt.unknownModel(body); !ok {
			writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found",
				"The model "+strconv.Quote(m)+" does not exist. This deployment serves: "+strings.Join(rt.cfg.Models, ", ")+" (GET /v1/models lists them).")
			s.metrics.record(rt.cfg.Deployment, rt.cfg.Revision, http.StatusNotFound, "model_not_found", false, time.Since(start), usage{})
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), exchangeKey{}, x), rt.timeout)
	defer cancel()
	if rt.retr != nil && x.body != nil && !s.augment(ctx, w, rt, x, start) {
		return
	}
	defer s.finish(x, start)
	out := r.WithContext(ctx)
	if x.body != nil {
		out.Body = io.NopCloser(bytes.NewReader(x.body))
	}
	s.rp.ServeHTTP(w, out)
}

// unknownModel checks a body's "model" against the deployment's models
// (when the configuration lists them): it returns the name and false for
// one it does not serve. A body without a model gets the first.
func (rt *route) unknownModel(body []byte) (string, bool) {
	if rt.models == nil {
		return "", true
	}
	var b struct {
		Model *string `json:"model"`
	}
	if json.Unmarshal(body, &b) != nil || b.Model == nil || *b.Model == "" {
		return "", true
	}
	return *b.Model, rt.models[*b.Model]
}

// listModels answers GET /v1/models (id "") and /v1/models/{id} from the
// configuration's models.
func (s *Server) listModels(w http.ResponseWriter, rt *route, id string) int {
	obj := func(m string) map[string]any {
		return map[string]any{"id": m, "object": "model", "created": s.metrics.start.Unix(), "owned_by": rt.cfg.Deployment}
	}
	if id == "" {
		data := make([]any, 0, len(rt.cfg.Models))
		for _, m := range rt.cfg.Models {
			data = append(data, obj(m))
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
		return http.StatusOK
	}
	if !rt.models[id] {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found", "The model "+strconv.Quote(id)+" does not exist. This deployment serves: "+strings.Join(rt.cfg.Models, ", ")+".")
		return http.StatusNotFound
	}
	writeJSON(w, http.StatusOK, obj(id))
	return http.StatusOK
}

// finish counts a forwarded request once the reverse proxy is done with it
// (also when it aborts a response whose copy failed: the panic goes on to
// the HTTP server, which drops the connection).
func (s *Server) finish(x *exchange, start time.Time) {
	p := recover()
	dep := x.route.cfg.Deployment
	revision := x.route.cfg.Revision
	served := x.backend != nil && x.keep != nil
	if x.backend != nil {
		revision = x.backend.revision
		x.backend.inflight.Add(-1)
	}
	reason := ""
	switch {
	case p != nil && served:
		reason = "relay"
	case p != nil:
		reason = "aborted"
	case x.noRoute:
		reason = "no_backend"
	case !served && x.status == 499:
		reason = "client_gone"
	case !served && x.status == http.StatusGatewayTimeout:
		reason = "timeout"
	case !served:
		reason = "upstream"
	}
	code := x.status
	if code == 0 {
		code = http.StatusBadGateway
	}
	u := x.usage()
	s.metrics.record(dep, revision, code, reason, served, time.Since(start), u)
	if p != nil {
		panic(p)
	}
	s.captureExchange(x, revision, start, u)
}
