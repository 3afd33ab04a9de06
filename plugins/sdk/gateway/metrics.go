package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	// MetricRetrievals counts the retrievals of a retrieval-augmented
	// deployment by result: hit (at least one chunk), empty (none reached
	// min_score), error (the embedding command failed).
	MetricRetrievals = "llmops_gateway_retrievals_total"
)

// RetrievalResults are the results of MetricRetrievals.
var RetrievalResults = []string{"hit", "empty", "error"}

// Buckets are the upper bounds (seconds) of the latency histogram.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Codes are the statuses whose request counters exist (at zero) for a
// revision as soon as it is routed to, so that the first 401 or 503 is an
// increase a rate() sees rather than a new series.
var Codes = []int{200, 400, 401, 404, 405, 413, 429, 500, 502, 503, 504}

// gatewayRefusals are the gateway's own error reasons by status, created
// at zero with the codes.
var gatewayRefusals = map[int]string{400: "invalid_json", 401: "unauthorized", 404: "model_not_found", 405: "method", 413: "too_large", 429: "rate_limited", 502: "upstream", 503: "no_backend", 504: "timeout"}

// metrics holds the gateway's series in its own Prometheus registry
// (client_golang), exposed by handler.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	retr     *prometheus.CounterVec
	// captured and captureDropped count the traffic capture's records.
	captured       *prometheus.CounterVec
	captureDropped *prometheus.CounterVec
	start          time.Time
	handler        http.Handler
}

// usage is a response's token counts (from its "usage" object).
type usage struct {
	prompt, completion int64
}

// newMetrics registers the gateway's series; state gives what is read at
// each scrape (the deployment, generation and in-flight gauges).
func newMetrics(state func() (string, int64, []inflightSample)) *metrics {
	m := &metrics{
		reg:   prometheus.NewRegistry(),
		start: time.Now(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRequests,
			Help: "Requests answered, by revision and HTTP status."}, []string{"deployment", "revision", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricErrors,
			Help: "Error responses (the gateway's own refusals and every 5xx), by revision, status and reason."}, []string{"deployment", "revision", "code", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricDuration, Buckets: Buckets,
			Help: "Latency of the requests a replica answered, from arrival to the end of the response."}, []string{"deployment", "revision"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTokens,
			Help: "Tokens reported by the replicas' usage objects, by type (prompt, completion)."}, []string{"deployment", "revision", "type"}),
		retr: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRetrievals,
			Help: "Retrievals of a retrieval-augmented deployment, by result (hit, empty, error)."}, []string{"deployment", "revision", "result"}),
	}
	m.captured = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricCaptured,
		Help: "Traffic capture: records written (exchanges and feedback)."}, []string{"deployment"})
	m.captureDropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricCaptureDropped,
		Help: "Traffic capture: records not written, by reason (queue_full, max_rows, write_error)."}, []string{"deployment", "reason"})
	m.reg.MustRegister(m.requests, m.errors, m.duration, m.tokens, m.retr, m.captured, m.captureDropped, &stateCollector{m: m, state: state})
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

var (
	descInflight   = prometheus.NewDesc(MetricInflight, "Requests in flight, per backend.", []string{"deployment", "revision", "backend"}, nil)
	descGeneration = prometheus.NewDesc(MetricGeneration, "The configuration generation in force.", []string{"deployment"}, nil)
	descStart      = prometheus.NewDesc(MetricStart, "When the gateway started (Unix time).", []string{"deployment"}, nil)
)

// stateCollector reports the gauges read from the server at scrape time.
type stateCollector struct {
	m     *metrics
	state func() (string, int64, []inflightSample)
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descInflight
	ch <- descGeneration
	ch <- descStart
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	dep, gen, in := c.state()
	for _, s := range in {
		ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(s.n), dep, rev(s.rev), s.backend)
	}
	ch <- prometheus.MustNewConstMetric(descGeneration, prometheus.GaugeValue, float64(gen), dep)
	ch <- prometheus.MustNewConstMetric(descStart, prometheus.GaugeValue, float64(c.m.start.UnixMilli())/1e3, dep)
}

func rev(r int64) string { return strconv.FormatInt(r, 10) }

// prepare creates a revision's series at zero: a request counter for each
// of Codes, the gateway's refusals, the histogram and token counters, and
// with retrieval the retrieval counters.
func (m *metrics) prepare(dep string, revision int64, retrieval, capture bool) {
	r := rev(revision)
	if capture {
		m.captured.WithLabelValues(dep)
		for _, reason := range CaptureDropReasons {
			m.captureDropped.WithLabelValues(dep, reason)
		}
	}
	if retrieval {
		for _, res := range RetrievalResults {
			m.retr.WithLabelValues(dep, r, res)
		}
		m.errors.WithLabelValues(dep, r, "502", "retrieval")
		m.errors.WithLabelValues(dep, r, "400", "invalid_value")
	}
	for _, c := range Codes {
		code := strconv.Itoa(c)
		m.requests.WithLabelValues(dep, r, code)
		if reason := gatewayRefusals[c]; reason != "" {
			m.errors.WithLabelValues(dep, r, code, reason)
		}
	}
	m.duration.WithLabelValues(dep, r)
	m.tokens.WithLabelValues(dep, r, "prompt")
	m.tokens.WithLabelValues(dep, r, "completion")
}

// record counts one response. reason is non-empty for responses the
// gateway made itself (401, 429, 413, 502, ...); served says a replica
// answered, which puts the latency in the histogram.
func (m *metrics) record(dep string, revision int64, code int, reason string, served bool, d time.Duration, u usage) {
	r, c := rev(revision), strconv.Itoa(code)
	m.requests.WithLabelValues(dep, r, c).Inc()
	if reason != "" || code >= 500 {
		if reason == "" {
			reason = "replica"
		}
		m.errors.WithLabelValues(dep, r, c, reason).Inc()
	}
	if served {
		m.duration.WithLabelValues(dep, r).Observe(d.Seconds())
	}
	if u.prompt > 0 {
		m.tokens.WithLabelValues(dep, r, "prompt").Add(float64(u.prompt))
	}
	if u.completion > 0 {
		m.tokens.WithLabelValues(dep, r, "completion").Add(float64(u.completion))
	}
}

type inflightSample struct {
	rev     int64
	backend string
	n       int64
}

// retrieval counts one retrieval by its result.
func (m *metrics) retrieval(dep string, revision int64, result string) {
	m.retr.WithLabelValues(dep, rev(revision), result).Inc()
}
