package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
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
	x := &exchange{id: id, route: rt}
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
		x.body = body
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), exchangeKey{}, x), rt.timeout)
	defer cancel()
	defer s.finish(x, start)
	out := r.WithContext(ctx)
	if x.body != nil {
		out.Body = io.NopCloser(bytes.NewReader(x.body))
	}
	s.rp.ServeHTTP(w, out)
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
	s.metrics.record(dep, revision, code, reason, served, time.Since(start), x.usage())
	if p != nil {
		panic(p)
	}
}
