package gateway

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metric names.
const (
	MetricRequests   = "llmops_gateway_requests_total"
	MetricErrors     = "llmops_gateway_errors_total"
	MetricDuration   = "llmops_gateway_request_duration_seconds"
	MetricTokens     = "llmops_gateway_tokens_total"
	MetricInflight   = "llmops_gateway_inflight_requests"
	MetricGeneration = "llmops_gateway_config_generation"
	MetricStart      = "llmops_gateway_start_time_seconds"
)

// Buckets are the upper bounds (seconds) of the latency histogram.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

type codeKey struct {
	rev  int64
	code int
}

type errKey struct {
	rev    int64
	code   int
	reason string
}

type tokenKey struct {
	rev int64
	typ string
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// metrics holds the gateway's counters.
type metrics struct {
	mu       sync.Mutex
	start    time.Time
	requests map[codeKey]uint64
	errors   map[errKey]uint64
	hist     map[int64]*histogram
	tokens   map[tokenKey]uint64
}

func newMetrics() *metrics {
	return &metrics{start: time.Now(), requests: map[codeKey]uint64{}, errors: map[errKey]uint64{}, hist: map[int64]*histogram{}, tokens: map[tokenKey]uint64{}}
}

// usage is a response's token counts (from its "usage" object).
type usage struct {
	prompt, completion int64
}

// record counts one response. reason is non-empty for responses the
// gateway made itself (401, 429, 413, 502, ...); served says a replica
// answered, which puts the latency in the histogram.
func (m *metrics) record(rev int64, code int, reason string, served bool, d time.Duration, u usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[codeKey{rev, code}]++
	if reason != "" || code >= 500 {
		if reason == "" {
			reason = "replica"
		}
		m.errors[errKey{rev, code, reason}]++
	}
	if served {
		h := m.hist[rev]
		if h == nil {
			h = &histogram{counts: make([]uint64, len(Buckets)+1)}
			m.hist[rev] = h
		}
		s := d.Seconds()
		i := sort.SearchFloat64s(Buckets, s)
		h.counts[i]++
		h.sum += s
		h.count++
	}
	if u.prompt > 0 {
		m.tokens[tokenKey{rev, "prompt"}] += uint64(u.prompt)
	}
	if u.completion > 0 {
		m.tokens[tokenKey{rev, "completion"}] += uint64(u.completion)
	}
}

func labels(pairs ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(pairs[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// write renders the metrics in the Prometheus text format (0.0.4).
func (m *metrics) write(w io.Writer, dep string, gen int64, inflight []inflightSample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	rev := func(r int64) string { return strconv.FormatInt(r, 10) }

	b.WriteString("# HELP " + MetricRequests + " Requests answered, by revision and HTTP status.\n# TYPE " + MetricRequests + " counter\n")
	rk := make([]codeKey, 0, len(m.requests))
	for k := range m.requests {
		rk = append(rk, k)
	}
	sort.Slice(rk, func(i, j int) bool { return rk[i].rev < rk[j].rev || rk[i].rev == rk[j].rev && rk[i].code < rk[j].code })
	for _, k := range rk {
		fmt.Fprintf(&b, "%s%s %d\n", MetricRequests, labels("deployment", dep, "revision", rev(k.rev), "code", strconv.Itoa(k.code)), m.requests[k])
	}

	b.WriteString("# HELP " + MetricErrors + " Error responses (the gateway's own refusals and every 5xx), by revision, status and reason.\n# TYPE " + MetricErrors + " counter\n")
	ek := make([]errKey, 0, len(m.errors))
	for k := range m.errors {
		ek = append(ek, k)
	}
	sort.Slice(ek, func(i, j int) bool {
		a, c := ek[i], ek[j]
		if a.rev != c.rev {
			return a.rev < c.rev
		}
		if a.code != c.code {
			return a.code < c.code
		}
		return a.reason < c.reason
	})
	for _, k := range ek {
		fmt.Fprintf(&b, "%s%s %d\n", MetricErrors, labels("deployment", dep, "revision", rev(k.rev), "code", strconv.Itoa(k.code), "reason", k.reason), m.errors[k])
	}

	b.WriteString("# HELP " + MetricDuration + " Latency of the requests a replica answered, from arrival to the end of the response.\n# TYPE " + MetricDuration + " histogram\n")
	hk := make([]int64, 0, len(m.hist))
	for k := range m.hist {
		hk = append(hk, k)
	}
	sort.Slice(hk, func(i, j int) bool { return hk[i] < hk[j] })
	for _, r := range hk {
		h := m.hist[r]
		var cum uint64
		for i, le := range Buckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "%s_bucket%s %d\n", MetricDuration, labels("deployment", dep, "revision", rev(r), "le", fmtFloat(le)), cum)
		}
		cum += h.counts[len(Buckets)]
		fmt.Fprintf(&b, "%s_bucket%s %d\n", MetricDuration, labels("deployment", dep, "revision", rev(r), "le", "+Inf"), cum)
		fmt.Fprintf(&b, "%s_sum%s %s\n", MetricDuration, labels("deployment", dep, "revision", rev(r)), fmtFloat(h.sum))
		fmt.Fprintf(&b, "%s_count%s %d\n", MetricDuration, labels("deployment", dep, "revision", rev(r)), h.count)
	}

	b.WriteString("# HELP " + MetricTokens + " Tokens reported by the replicas' usage objects, by type (prompt, completion).\n# TYPE " + MetricTokens + " counter\n")
	tk := make([]tokenKey, 0, len(m.tokens))
	for k := range m.tokens {
		tk = append(tk, k)
	}
	sort.Slice(tk, func(i, j int) bool { return tk[i].rev < tk[j].rev || tk[i].rev == tk[j].rev && tk[i].typ < tk[j].typ })
	for _, k := range tk {
		fmt.Fprintf(&b, "%s%s %d\n", MetricTokens, labels("deployment", dep, "revision", rev(k.rev), "type", k.typ), m.tokens[k])
	}

	b.WriteString("# HELP " + MetricInflight + " Requests in flight, per backend.\n# TYPE " + MetricInflight + " gauge\n")
	for _, s := range inflight {
		fmt.Fprintf(&b, "%s%s %d\n", MetricInflight, labels("deployment", dep, "revision", rev(s.rev), "backend", s.backend), s.n)
	}
	b.WriteString("# HELP " + MetricGeneration + " The configuration generation in force.\n# TYPE " + MetricGeneration + " gauge\n")
	fmt.Fprintf(&b, "%s%s %d\n", MetricGeneration, labels("deployment", dep), gen)
	b.WriteString("# HELP " + MetricStart + " When the gateway started (Unix time).\n# TYPE " + MetricStart + " gauge\n")
	fmt.Fprintf(&b, "%s%s %s\n", MetricStart, labels("deployment", dep), strconv.FormatFloat(float64(m.start.UnixNano())/1e9, 'f', 3, 64))
	_, _ = io.WriteString(w, b.String())
}

type inflightSample struct {
	rev     int64
	backend string
	n       int64
}
