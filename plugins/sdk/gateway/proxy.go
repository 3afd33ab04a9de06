package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// maxUsageBody is how much of a response is kept to read its usage.
const maxUsageBody = 1 << 20

// exchange is what the gateway knows of one request while the reverse
// proxy carries it: set by proxy, the transport (backend) and
// ModifyResponse (status, usage).
type exchange struct {
	id      string
	path    string // the client's path
	route   *route
	body    []byte
	backend *backend
	status  int
	keep    *tailBuffer
	stream  bool
	noRoute bool // no backend was left to try
	// capture says the exchange is captured (sampled); capBuf keeps the
	// response's beginning for it, clientBody the body as the client
	// sent it (before retrieval filled the prompt).
	capture    bool
	capBuf     *tailBuffer
	clientBody []byte
	// citations are the chunks a retrieval-augmented request was given
	// (nil without retrieval), added to its response.
	citations []retrieval.Hit
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return x
}

// errNoBackend: every backend refused, or there is none.
var errNoBackend = errors.New("no backend")

// newReverseProxy is the httputil.ReverseProxy that forwards requests:
// the balancer picks the backend (retrying refused connections on
// another), Rewrite sends only the headers a replica needs, and
// modifyResponse relays only the headers a client may see.
func (s *Server) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      balancer{s},
		ModifyResponse: modifyResponse,
		ErrorHandler:   s.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       log.New(logWriter{s.logf}, "", 0),
	}
}

// rewrite keeps the method, path and query, and of the caller's headers
// only Content-Type and Accept: never its Authorization or cookies.
func rewrite(pr *httputil.ProxyRequest) {
	x := exchangeOf(pr.In)
	h := http.Header{}
	if x.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if a := pr.In.Header.Get("Accept"); a != "" && len(a) < 256 {
		h.Set("Accept", a)
	}
	h.Set("X-Request-Id", x.id)
	// Marks the request replayable, so the transport retries it on a fresh
	// connection when a kept-alive one turns out closed.
	h.Set("X-Idempotency-Key", x.id)
	pr.Out.Header = h
	pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "backend"
}

// balancer is the reverse proxy's transport: round robin over the route's
// backends; a backend that refuses the connection is marked down for a
// second and the request tried on another (the body is buffered, so this
// is safe). It owns the outgoing request (made by the reverse proxy for
// this round trip only) and sets its backend, token and body.
type balancer struct{ s *Server }

func (bl balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	s, x := bl.s, exchangeOf(req)
	var skip map[*backend]bool
	for {
		b, cur := s.pick(skip)
		if b == nil {
			x.route, x.noRoute = cur, true
			return nil, errNoBackend
		}
		x.backend = b
		req.URL.Scheme, req.URL.Host, req.Host = b.scheme, b.host, b.host
		body := x.body
		if b.upstream {
			s.toUpstream(req, b, x)
			body = withModel(x.body, b.model)
		} else {
			if b.prefix != "" {
				req.URL.Path, req.URL.RawPath = b.prefix+exchangePath(req), ""
			}
			if tok := b.token.Load(); tok != nil && *tok != "" {
				req.Header.Set(ReplicaTokenHeader, *tok)
			} else {
				req.Header.Del(ReplicaTokenHeader)
			}
		}
		if body != nil {
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		resp, err := s.transport.RoundTrip(req)
		if err != nil && refused(err) && req.Context().Err() == nil {
			// Nothing reached the backend: mark it down and try another.
			b.inflight.Add(-1)
			x.backend = nil
			b.downUntil.Store(time.Now().Add(time.Second).UnixNano())
			s.logf("backend %s (revision %d) refused a connection: %v", b.host, b.revision, err)
			if skip == nil {
				skip = map[*backend]bool{}
			}
			skip[b] = true
			continue
		}
		return resp, err
	}
}

// toUpstream addresses a request to a hosted API: its base path instead
// of /v1, its key (the only place the key is ever sent), no replica token.
func (s *Server) toUpstream(req *http.Request, b *backend, x *exchange) {
	path := strings.TrimPrefix(exchangePath(req), "/v1")
	req.URL.Path, req.URL.RawPath = b.prefix+path, ""
	req.Header.Del(ReplicaTokenHeader)
	req.Header.Del("X-Idempotency-Key")
	if key := s.secret(b.keyRef); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
}

// exchangePath is the request's path as the client sent it (under /v1).
func exchangePath(req *http.Request) string {
	if x := exchangeOf(req); x != nil && x.path != "" {
		return x.path
	}
	return req.URL.Path
}

// withModel replaces a JSON body's "model" with model (the upstream's).
func withModel(body []byte, model string) []byte {
	if body == nil || model == "" {
		return body
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	obj["model"], _ = json.Marshal(model)
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// modifyResponse relays the status, Content-Type, Content-Length and a
// numeric Retry-After, adds X-LLMOps-Revision, and keeps
// (a bounded part of) the body to count its usage.
func modifyResponse(resp *http.Response) error {
	x := exchangeOf(resp.Request)
	ct := resp.Header.Get("Content-Type")
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" && isDigits(ra) {
		h.Set("Retry-After", ra)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		h.Set("Content-Length", cl)
	}
	if cc := resp.Header.Get("Cache-Control"); cc == "no-cache" {
		h.Set("Cache-Control", cc)
	}
	// X-Request-Id is on the gateway's response writer already (ServeHTTP
	// sets it for every request); the proxy adds these headers to it, so
	// setting it here too would send it twice.
	h.Set("X-LLMOps-Revision", strconv.FormatInt(x.backend.revision, 10))
	resp.Header = h
	resp.Trailer = nil
	if x.backend.upstream && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		// The hosted API refused the deployment's own key: the caller's
		// key was fine, so this is the gateway's upstream failing.
		resp.Body.Close()
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": "The upstream API refused this deployment's key (HTTP " + strconv.Itoa(resp.StatusCode) + "); its operator must fix upstream.api_key.", "type": "server_error", "param": nil, "code": "upstream_auth"}})
		resp.StatusCode, resp.Status = http.StatusBadGateway, ""
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		ct = "application/json"
	}
	x.status = resp.StatusCode
	x.stream = strings.HasPrefix(ct, "text/event-stream")
	if x.citations != nil && resp.StatusCode == http.StatusOK {
		addCitations(resp, x)
	}
	x.keep = &tailBuffer{max: maxUsageBody, tail: x.stream}
	if x.capture {
		x.capBuf = &tailBuffer{max: MaxCapturedBytes}
	}
	resp.Body = teeBody{resp.Body, x.keep, x.capBuf}
	return nil
}

// proxyError answers a request no backend answered.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := exchangeOf(r)
	switch {
	case x.noRoute:
		w.Header().Set("Retry-After", "1")
		x.status = http.StatusServiceUnavailable
		writeError(w, x.status, "server_error", "", "no_replica", "No replica of this deployment is serving.")
	case r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded):
		x.status = 499 // the client went away
	case errors.Is(err, context.DeadlineExceeded) || r.Context().Err() != nil:
		x.status = http.StatusGatewayTimeout
		writeError(w, x.status, "server_error", "", "timeout", "The replica did not answer in time.")
	default:
		x.status = http.StatusBadGateway
		writeError(w, x.status, "server_error", "", "bad_gateway", "The replica failed to answer.")
	}
}

type teeBody struct {
	io.ReadCloser
	keep *tailBuffer
	capt *tailBuffer // nil unless the exchange is captured
}

func (t teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 {
		t.keep.Write(p[:n])
		if t.capt != nil {
			t.capt.Write(p[:n])
		}
	}
	return n, err
}

// usage reads the token counts of the relayed response.
func (x *exchange) usage() usage {
	if x.keep == nil {
		return usage{}
	}
	if x.stream {
		return streamUsage(x.keep.buf.Bytes())
	}
	if x.keep.overflow {
		return usage{}
	}
	return bodyUsage(x.keep.buf.Bytes())
}

type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

type logWriter struct{ logf func(string, ...any) }

func (l logWriter) Write(p []byte) (int, error) {
	l.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
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
	evs := sseData(b)
	for i := len(evs) - 1; i >= 0; i-- {
		if !bytes.Contains(evs[i], []byte(`"usage"`)) {
			continue
		}
		if u := bodyUsage(evs[i]); u != (usage{}) {
			return u
		}
	}
	return usage{}
}

// sseData is the payloads of a server-sent event stream's `data:` lines,
// up to `data: [DONE]`.
func sseData(b []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		data, ok := bytes.CutPrefix(bytes.TrimSpace(l), []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if bytes.Equal(data, []byte("[DONE]")) {
			break
		}
		out = append(out, data)
	}
	return out
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
