package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmops/llmops/plugins/sdk/retrieval"
	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// Server is the gateway's HTTP handler. Reload swaps its configuration
// atomically.
type Server struct {
	cur       atomic.Pointer[route]
	metrics   *metrics
	limiter   *limiter
	transport http.RoundTripper
	// base is the transport requests leave by (transport wraps it).
	base *http.Transport
	rp   *httputil.ReverseProxy
	logf func(format string, a ...any)

	mu       sync.Mutex
	backends map[string]*backend // by URL and revision, kept across reloads

	capt *capturer // the traffic writer (under mu), kept across reloads

	secrets atomic.Pointer[map[string]string] // upstream keys, in memory only
	retr    *retrieval.Retriever              // the last index loaded (under mu), kept across reloads
}

// SetSecrets gives the gateway the secrets its upstream backends name
// (Backend.KeyRef). They live in memory only.
func (s *Server) SetSecrets(m map[string]string) { s.secrets.Store(&m) }

func (s *Server) secret(name string) string {
	if m := s.secrets.Load(); m != nil {
		return (*m)[name]
	}
	return ""
}

// route is one configuration in force.
type route struct {
	cfg      *Config
	models   map[string]bool
	keys     []keyHash
	backends []*backend
	next     atomic.Uint64
	maxBody  int64
	timeout  time.Duration
	retr     *retrieval.Retriever // nil without retrieval
	capture  *captureState        // nil without capture
}

type backend struct {
	base      string
	scheme    string
	host      string
	prefix    string // an upstream's base path (e.g. /v1), replacing /v1; a replica's, before /v1
	upstream  bool
	model     string // an upstream's model, put in request bodies
	keyRef    string // the secret sent upstream as the bearer key
	revision  int64
	token     atomic.Pointer[string] // the replica's token (may change with a reload)
	inflight  atomic.Int64
	downUntil atomic.Int64 // unix nanoseconds; refused connections skip it until then
}

// NewServer returns a gateway serving cfg. logf, if not nil, receives one
// line per configuration change and per backend failure.
func NewServer(cfg *Config, logf func(format string, a ...any)) (*Server, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Server{
		limiter: newLimiter(),
		logf:    logf,
		base: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		backends: map[string]*backend{},
	}
	s.transport = s.base
	s.metrics = newMetrics(s.state)
	s.rp = s.newReverseProxy()
	if err := s.Reload(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload puts cfg in force for the requests that arrive from now on.
func (s *Server) Reload(cfg *Config) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	rt := &route{cfg: cfg, maxBody: cfg.maxBody(), timeout: cfg.requestTimeout()}
	if len(cfg.Models) > 0 {
		rt.models = map[string]bool{}
		for _, m := range cfg.Models {
			rt.models[m] = true
		}
	}
	for _, h := range cfg.KeyHashes {
		kh, _ := parseKeyHash(h)
		rt.keys = append(rt.keys, kh)
	}
	if err := s.loadRetrieval(rt); err != nil {
		return err
	}
	s.mu.Lock()
	var stale *capturer
	if c := cfg.Capture; c != nil {
		red, err := traffic.NewRedactor(c.Redact, c.RedactPatterns)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		if s.capt != nil && s.capt.dir != c.Dir {
			stale, s.capt = s.capt, nil
		}
		if s.capt == nil {
			if s.capt, err = startCapturer(c, s.metrics, s.logf); err != nil {
				s.mu.Unlock()
				return err
			}
		}
		rt.capture = &captureState{cfg: c, red: red, c: s.capt}
	} else {
		stale, s.capt = s.capt, nil
	}
	keep := map[string]*backend{}
	for _, b := range cfg.Backends {
		base := strings.TrimSuffix(b.URL, "/")
		k := base + "#" + strconv.FormatInt(b.Revision, 10)
		be := s.backends[k]
		if be == nil {
			u, _ := url.Parse(base) // Check parsed it
			// A replica's path is a prefix of every request's (a SageMaker
			// endpoint's /endpoints/NAME, which the aws provider's
			// transport rewrites); an upstream's replaces /v1.
			be = &backend{base: base, scheme: u.Scheme, host: u.Host, prefix: strings.TrimSuffix(u.Path, "/"), revision: b.Revision}
			if b.Upstream {
				be.upstream, be.model, be.keyRef = true, b.Model, b.KeyRef
			}
		}
		tok := b.Token
		be.token.Store(&tok)
		keep[k] = be
		rt.backends = append(rt.backends, be)
	}
	// Backends no longer routed to stay visible while requests drain.
	for k, be := range s.backends {
		if _, ok := keep[k]; !ok && be.inflight.Load() > 0 {
			keep[k] = be
		}
	}
	s.backends = keep
	s.mu.Unlock()
	s.metrics.prepare(cfg.Deployment, cfg.Revision, cfg.Retrieval != nil, cfg.Capture != nil)
	old := s.cur.Swap(rt)
	if stale != nil {
		stale.close()
	}
	if old == nil || old.cfg.Generation != cfg.Generation {
		s.logf("configuration generation %d in force: revision %d, %d backend(s)", cfg.Generation, cfg.Revision, len(cfg.Backends))
	}
	return nil
}

// Generation returns the configuration generation in force.
func (s *Server) Generation() int64 { return s.cur.Load().cfg.Generation }

// Close releases idle connections to the backends and seals the traffic
// segment being written.
func (s *Server) Close() {
	s.base.CloseIdleConnections()
	s.mu.Lock()
	c := s.capt
	s.capt = nil
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// WrapTransport puts wrap around the transport requests to backends leave
// by: a provider whose replicas need more than the replica token (the aws
// provider signs its calls to SageMaker endpoints with SigV4) wraps it
// before the server serves.
func (s *Server) WrapTransport(wrap func(http.RoundTripper) http.RoundTripper) {
	s.transport = wrap(s.transport)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	id := requestID()
	w.Header().Set("X-Request-Id", id)
	switch {
	case p == "/v1" || strings.HasPrefix(p, "/v1/"):
		s.proxy(w, r, id)
	case p == "/health":
		rt := s.cur.Load()
		if len(rt.backends) == 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "no_backend", "deployment": rt.cfg.Deployment, "revision": rt.cfg.Revision})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "deployment": rt.cfg.Deployment, "revision": rt.cfg.Revision, "replicas": len(rt.backends)})
	case p == "/metrics":
		s.metrics.handler.ServeHTTP(w, r)
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "not_found", "Unknown path. The API is under /v1/; /health and /metrics are the gateway's own.")
	}
}

// state is what a scrape reads from the server: the deployment, the
// configuration generation and the in-flight requests per backend.
func (s *Server) state() (string, int64, []inflightSample) {
	rt := s.cur.Load()
	s.mu.Lock()
	var in []inflightSample
	for _, b := range s.backends {
		in = append(in, inflightSample{rev: b.revision, backend: b.host, n: b.inflight.Load()})
	}
	s.mu.Unlock()
	return rt.cfg.Deployment, rt.cfg.Generation, in
}

// pick chooses a backend of the route in force and counts the request in
// its in-flight gauge. The route is read again after counting: a request
// that raced with a reload retries on the new route, so once /metrics
// shows a new generation, no request will start on a backend it dropped.
func (s *Server) pick(skip map[*backend]bool) (*backend, *route) {
	for {
		rt := s.cur.Load()
		b := rt.choose(skip)
		if b == nil {
			return nil, rt
		}
		b.inflight.Add(1)
		if s.cur.Load() == rt {
			return b, rt
		}
		b.inflight.Add(-1)
	}
}

// choose returns the next backend in round-robin order, skipping those
// marked down (unless all are) and those in skip.
func (rt *route) choose(skip map[*backend]bool) *backend {
	n := len(rt.backends)
	if n == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	start := rt.next.Add(1)
	var fallback *backend
	for i := 0; i < n; i++ {
		b := rt.backends[(start+uint64(i))%uint64(n)]
		if skip[b] {
			continue
		}
		if b.downUntil.Load() > now {
			if fallback == nil {
				fallback = b
			}
			continue
		}
		return b
	}
	return fallback
}

// matchCaller checks the Authorization header; it returns the caller's
// identity for rate limiting (the matched hash, or the client's address
// when public) or "" when refused.
func (rt *route) matchCaller(r *http.Request) string {
	if rt.cfg.Public {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	key, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return ""
	}
	if i := matchKey(rt.keys, key); i >= 0 {
		return rt.keys[i].text
	}
	return ""
}

func bearer(h string) (string, bool) {
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	k := strings.TrimSpace(h[len(p):])
	return k, k != "" && len(k) <= 4096
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes the error object of the OpenAI API: {"error":
// {"message", "type", "param", "code"}}, param null when empty.
func writeError(w http.ResponseWriter, code int, typ, param, errCode, msg string) {
	var p any
	if param != "" {
		p = param
	}
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": errCode}})
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req-" + hex.EncodeToString(b[:])
}
