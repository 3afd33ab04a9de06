package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxUsageBody is how much of a response is kept to read its usage.
const maxUsageBody = 1 << 20

// proxy serves a request under /v1/: access, rate limit, body checks, then
// forwarding to a backend.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := s.cur.Load()
	rev := rt.cfg.Revision
	refuse := func(code int, typ, errCode, reason, msg string) {
		writeError(w, code, typ, errCode, msg)
		s.metrics.record(rev, code, reason, false, time.Since(start), usage{})
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
	var body []byte
	if r.Method == http.MethodPost {
		if r.ContentLength > rt.maxBody {
			refuse(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "too_large", "The request body is larger than "+strconv.FormatInt(rt.maxBody, 10)+" bytes.")
			return
		}
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, rt.maxBody))
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
	}
	ctx, cancel := context.WithTimeout(r.Context(), rt.timeout)
	defer cancel()
	id := requestID()
	skip := map[*backend]bool{}
	for {
		b, cur := s.pick(skip)
		if b == nil {
			rev = cur.cfg.Revision
			w.Header().Set("Retry-After", "1")
			refuse(http.StatusServiceUnavailable, "server_error", "no_replica", "no_backend", "No replica of this deployment is serving.")
			return
		}
		resp, err := s.forward(ctx, b, r, body, id)
		if err != nil {
			b.inflight.Add(-1)
			if refused(err) && ctx.Err() == nil {
				// Nothing reached the backend: mark it down and try another.
				b.downUntil.Store(time.Now().Add(time.Second).UnixNano())
				s.logf("backend %s (revision %d) refused a connection: %v", b.host, b.revision, err)
				skip[b] = true
				continue
			}
			rev = b.revision
			if ctx.Err() != nil && r.Context().Err() == nil {
				refuse(http.StatusGatewayTimeout, "server_error", "timeout", "timeout", "The replica did not answer in time.")
				return
			}
			if r.Context().Err() != nil {
				s.metrics.record(rev, 499, "client_gone", false, time.Since(start), usage{})
				return
			}
			refuse(http.StatusBadGateway, "server_error", "bad_gateway", "upstream", "The replica failed to answer.")
			return
		}
		u, ok := s.relay(w, resp, b, id)
		b.inflight.Add(-1)
		code := resp.StatusCode
		reason := ""
		if !ok {
			reason = "relay"
		}
		s.metrics.record(b.revision, code, reason, true, time.Since(start), u)
		return
	}
}

// forward sends the request to a backend with only the headers a replica
// needs: never the caller's Authorization or cookies.
func (s *Server) forward(ctx context.Context, b *backend, r *http.Request, body []byte, id string) (*http.Response, error) {
	target := b.base + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(body))
	}
	if a := r.Header.Get("Accept"); a != "" && len(a) < 256 {
		req.Header.Set("Accept", a)
	}
	req.Header.Set("X-Request-Id", id)
	if tok := b.token.Load(); tok != nil && *tok != "" {
		req.Header.Set(ReplicaTokenHeader, *tok)
	}
	// Marks the request replayable, so the transport retries it on a fresh
	// connection when a kept-alive one turns out closed.
	req.Header.Set("X-Idempotency-Key", id)
	return s.transport.RoundTrip(req)
}

// relay copies a backend's response to the client: status, Content-Type
// and the gateway's own headers; the body is streamed (flushed as it comes
// for server-sent events) and its usage counted.
func (s *Server) relay(w http.ResponseWriter, resp *http.Response, b *backend, id string) (usage, bool) {
	defer resp.Body.Close()
	h := w.Header()
	ct := resp.Header.Get("Content-Type")
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" && isDigits(ra) {
		h.Set("Retry-After", ra)
	}
	h.Set("X-Request-Id", id)
	h.Set("X-LLMOps-Revision", strconv.FormatInt(b.revision, 10))
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	stream := strings.HasPrefix(ct, "text/event-stream")
	keep := &tailBuffer{max: maxUsageBody, tail: stream}
	var dst io.Writer = w
	if f, ok := w.(http.Flusher); ok && stream {
		dst = flushWriter{w, f}
	}
	_, err := io.Copy(io.MultiWriter(dst, keep), resp.Body)
	var u usage
	if stream {
		u = streamUsage(keep.buf.Bytes())
	} else if !keep.overflow {
		u = bodyUsage(keep.buf.Bytes())
	}
	return u, err == nil
}

type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	fw.f.Flush()
	return n, err
}

// tailBuffer keeps the first max bytes written (or, with tail, the last).
type tailBuffer struct {
	buf      bytes.Buffer
	max      int
	tail     bool
	overflow bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if t.tail {
		t.buf.Write(p)
		if t.buf.Len() > t.max {
			rest := append([]byte(nil), t.buf.Bytes()[t.buf.Len()-t.max/2:]...)
			t.buf.Reset()
			t.buf.Write(rest)
		}
		return n, nil
	}
	if room := t.max - t.buf.Len(); room > 0 {
		if len(p) > room {
			p = p[:room]
			t.overflow = true
		}
		t.buf.Write(p)
	} else if n > 0 {
		t.overflow = true
	}
	return n, nil
}

type usageDoc struct {
	Usage *struct {
		Prompt     int64 `json:"prompt_tokens"`
		Completion int64 `json:"completion_tokens"`
	} `json:"usage"`
}

func bodyUsage(b []byte) usage {
	var d usageDoc
	if json.Unmarshal(b, &d) != nil || d.Usage == nil {
		return usage{}
	}
	return usage{prompt: d.Usage.Prompt, completion: d.Usage.Completion}
}

// streamUsage finds the last `data:` event with a usage object.
func streamUsage(b []byte) usage {
	lines := bytes.Split(b, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if !bytes.HasPrefix(l, []byte("data:")) || !bytes.Contains(l, []byte(`"usage"`)) {
			continue
		}
		if u := bodyUsage(bytes.TrimSpace(l[5:])); u != (usage{}) {
			return u
		}
	}
	return usage{}
}

// refused reports whether err means the connection was never made (so
// the request can be retried elsewhere).
func refused(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
