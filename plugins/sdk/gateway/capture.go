package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// Traffic capture (a deployment's capture block): the gateway keeps a
// sample of the completions and chat completions it relays as records of
// package traffic, redacted, in append-only segments of CaptureConfig.Dir.
// The request path only decides whether to sample and, after the response
// went out, hands the bytes it already held to a bounded queue; one
// goroutine parses, redacts and writes. A full queue drops the record and
// counts it (MetricCaptureDropped): capture never makes a request wait.

// Capture metrics.
const (
	// MetricCaptured counts the records written (exchanges and feedback).
	MetricCaptured = "llmops_gateway_capture_records_total"
	// MetricCaptureDropped counts the records not written, by reason:
	// queue_full (the writer fell behind), max_rows (the capture holds
	// max_rows exchanges), write_error.
	MetricCaptureDropped = "llmops_gateway_capture_dropped_total"
)

// CaptureDropReasons are the reasons of MetricCaptureDropped.
var CaptureDropReasons = []string{"queue_full", "max_rows", "write_error"}

// MaxCapturedBytes is how much of a response a captured exchange keeps.
const MaxCapturedBytes = 256 << 10

// captureQueueSize bounds the records waiting for the writer.
var captureQueueSize = 4096

// testCaptureGate, when set (tests), makes the writer wait for a value
// before each record.
var testCaptureGate chan struct{}

// CaptureConfig is a deployment's capture block as the gateway runs it.
type CaptureConfig struct {
	// Dir is the deployment's traffic directory (traffic.Dir).
	Dir string `json:"dir"`
	// Sample is the fraction of requests kept, in (0, 1].
	Sample float64 `json:"sample"`
	// Redact names the built-in detectors run (traffic.Detectors).
	Redact []string `json:"redact"`
	// RedactPatterns are extra regular expressions (RE2).
	RedactPatterns []string `json:"redact_patterns,omitempty"`
	// MaxRows is the most exchanges kept (0: no limit).
	MaxRows int64 `json:"max_rows,omitempty"`
	// SegmentRows and SealAfter (a Go duration) tune the segments
	// (defaults traffic.DefaultSegmentRows, traffic.DefaultSealAfter).
	SegmentRows int    `json:"segment_rows,omitempty"`
	SealAfter   string `json:"seal_after,omitempty"`
}

// Check reports what is wrong with a capture configuration.
func (c *CaptureConfig) Check() error {
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("capture: dir %q is not an absolute path", c.Dir)
	}
	if !(c.Sample > 0 && c.Sample <= 1) {
		return fmt.Errorf("capture: sample %v is not in (0, 1]", c.Sample)
	}
	if c.MaxRows < 0 || c.SegmentRows < 0 {
		return fmt.Errorf("capture: max_rows and segment_rows must not be negative")
	}
	if c.SealAfter != "" {
		if d, err := time.ParseDuration(c.SealAfter); err != nil || d <= 0 {
			return fmt.Errorf("capture: invalid seal_after %q", c.SealAfter)
		}
	}
	_, err := traffic.NewRedactor(c.Redact, c.RedactPatterns)
	return err
}

func (c *CaptureConfig) writerOptions() traffic.WriterOptions {
	o := traffic.WriterOptions{SegmentRows: c.SegmentRows, MaxRows: c.MaxRows}
	if d, err := time.ParseDuration(c.SealAfter); err == nil {
		o.SealAfter = d
	}
	return o
}

// capturer owns a deployment's traffic writer.
type capturer struct {
	dir    string
	queue  chan captureItem
	stop   chan struct{}
	done   chan struct{}
	m      *metrics
	logf   func(string, ...any)
	w      *traffic.Writer
	closed sync.Once
}

// captureItem is a record waiting for the writer, with what it still
// needs to parse and the redactor of the configuration it was made under.
type captureItem struct {
	rec      traffic.Record
	body     []byte // the client's request body
	resp     []byte // the response's first MaxCapturedBytes
	overflow bool
	red      *traffic.Redactor
	dep      string
}

func startCapturer(c *CaptureConfig, m *metrics, logf func(string, ...any)) (*capturer, error) {
	w, err := traffic.OpenWriter(c.Dir, c.writerOptions())
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	cp := &capturer{dir: c.Dir, queue: make(chan captureItem, captureQueueSize), stop: make(chan struct{}), done: make(chan struct{}), m: m, logf: logf, w: w}
	go cp.loop()
	return cp, nil
}

// offer queues an item without waiting; false (and counted) when full.
func (c *capturer) offer(it captureItem) bool {
	select {
	case c.queue <- it:
		return true
	default:
		c.m.captureDropped.WithLabelValues(it.dep, "queue_full").Inc()
		return false
	}
}

func (c *capturer) loop() {
	defer close(c.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case it := <-c.queue:
			c.write(it)
			if len(c.queue) == 0 {
				_ = c.w.Flush()
			}
		case <-tick.C:
			if err := c.w.Flush(); err == nil {
				err = c.w.Tick()
				if err != nil {
					c.logf("capture: sealing a segment: %v", err)
				}
			}
		case <-c.stop:
			for {
				select {
				case it := <-c.queue:
					c.write(it)
					continue
				default:
				}
				break
			}
			if err := c.w.Close(); err != nil {
				c.logf("capture: sealing the last segment: %v", err)
			}
			return
		}
	}
}

func (c *capturer) write(it captureItem) {
	if testCaptureGate != nil {
		<-testCaptureGate
	}
	rec := it.rec
	if rec.Type == traffic.TypeExchange {
		fillExchange(&rec, it.body, it.resp, it.overflow)
	}
	// Redaction happens here, before the record is encoded or written.
	it.red.Record(&rec)
	err := c.w.Append(rec)
	switch {
	case errors.Is(err, traffic.ErrFull):
		c.m.captureDropped.WithLabelValues(it.dep, "max_rows").Inc()
	case err != nil:
		c.m.captureDropped.WithLabelValues(it.dep, "write_error").Inc()
		c.logf("capture: %v", err)
	default:
		c.m.captured.WithLabelValues(it.dep).Inc()
	}
}

// close stops the writer after the queued records and seals the open
// segment.
func (c *capturer) close() {
	c.closed.Do(func() { close(c.stop) })
	<-c.done
}

// captureState is the capture in force for a route: nil without a capture
// block.
type captureState struct {
	cfg *CaptureConfig
	red *traffic.Redactor
	c   *capturer
}

// capturePaths are the requests that are captured.
func capturePath(p string) bool {
	return p == "/v1/completions" || p == "/v1/chat/completions"
}

// sampled decides, for one request, whether it is captured.
func (rt *route) sampled(r *http.Request) bool {
	cs := rt.capture
	if cs == nil || r.Method != http.MethodPost || !capturePath(r.URL.Path) {
		return false
	}
	return cs.cfg.Sample >= 1 || rand.Float64() < cs.cfg.Sample
}

// captureExchange hands a finished exchange to the writer.
func (s *Server) captureExchange(x *exchange, revision int64, start time.Time, u usage) {
	cs := x.route.capture
	if cs == nil || !x.capture {
		return
	}
	it := captureItem{dep: x.route.cfg.Deployment, red: cs.red, body: x.clientBody,
		rec: traffic.Record{Type: traffic.TypeExchange, Time: start.UTC(), RequestID: x.id, Deployment: x.route.cfg.Deployment,
			Revision: revision, Path: x.path, Status: x.status, LatencyMS: float64(time.Since(start).Microseconds()) / 1e3,
			PromptTokens: u.prompt, CompletionTokens: u.completion, Stream: x.stream}}
	if it.rec.Status == 0 {
		it.rec.Status = http.StatusBadGateway
	}
	if x.capBuf != nil {
		it.resp, it.overflow = x.capBuf.buf.Bytes(), x.capBuf.overflow
	}
	cs.c.offer(it)
}

// fillExchange parses what the writer needs from the request body and
// the response: the model, the prompt or messages, the completion.
func fillExchange(rec *traffic.Record, body, resp []byte, overflow bool) {
	var req struct {
		Model    string            `json:"model"`
		Prompt   json.RawMessage   `json:"prompt"`
		Messages []json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(body, &req) == nil {
		rec.Model = req.Model
		rec.Prompt = promptText(req.Prompt)
		for _, raw := range req.Messages {
			var m struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			}
			if json.Unmarshal(raw, &m) == nil {
				text, _ := messageText(m.Content)
				rec.Messages = append(rec.Messages, traffic.Message{Role: m.Role, Content: text})
			}
		}
	}
	rec.Truncated = overflow
	if rec.Stream {
		rec.Completion = streamText(resp)
	} else {
		rec.Completion = responseText(resp)
	}
}

// promptText is a completion request's prompt: a string, or the strings
// of an array joined by newlines.
func promptText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return strings.Join(ss, "\n")
	}
	return ""
}

type choiceDoc struct {
	Choices []struct {
		Text    string `json:"text"`
		Message *struct {
			Content string `json:"content"`
		} `json:"message"`
		Delta *struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
}

func (d *choiceDoc) text() string {
	if len(d.Choices) == 0 {
		return ""
	}
	c := d.Choices[0]
	switch {
	case c.Message != nil:
		return c.Message.Content
	case c.Delta != nil:
		return c.Delta.Content
	}
	return c.Text
}

// responseText is the first choice's text of a JSON response.
func responseText(b []byte) string {
	var d choiceDoc
	if json.Unmarshal(b, &d) != nil {
		return ""
	}
	return d.text()
}

// streamText is the first choice's text assembled from a stream's events.
func streamText(b []byte) string {
	var out strings.Builder
	for _, data := range sseData(b) {
		var d choiceDoc
		if json.Unmarshal(data, &d) == nil {
			out.WriteString(d.text())
		}
	}
	return out.String()
}

// feedbackRequest is the body of POST /v1/feedback.
type feedbackRequest struct {
	RequestID  string   `json:"request_id"`
	Rating     *float64 `json:"rating"`
	Correction *string  `json:"correction"`
}

// maxFeedbackBytes bounds a feedback body.
const maxFeedbackBytes = 64 << 10

// feedback answers POST /v1/feedback: a rating and/or a correction for a
// request id, written (redacted) beside the captured exchanges.
func (s *Server) feedback(w http.ResponseWriter, r *http.Request, rt *route, start time.Time) {
	dep, revision := rt.cfg.Deployment, rt.cfg.Revision
	reply := func(code int, typ, param, errCode, reason, msg string) {
		writeError(w, code, typ, param, errCode, msg)
		s.metrics.record(dep, revision, code, reason, false, time.Since(start), usage{})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		reply(http.StatusMethodNotAllowed, "invalid_request_error", "", "method_not_allowed", "method", "POST feedback as JSON: {\"request_id\", \"rating\", \"correction\"}.")
		return
	}
	cs := rt.capture
	if cs == nil {
		reply(http.StatusNotFound, "invalid_request_error", "", "capture_disabled", "capture_disabled", "This deployment captures no traffic (no capture block), so there is nothing to attach feedback to.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFeedbackBytes))
	var fb feedbackRequest
	if err != nil || json.Unmarshal(body, &fb) != nil {
		reply(http.StatusBadRequest, "invalid_request_error", "", "invalid_json", "invalid_json", "The body must be a JSON object of at most "+strconv.Itoa(maxFeedbackBytes)+" bytes: {\"request_id\", \"rating\", \"correction\"}.")
		return
	}
	switch {
	case !validRequestID(fb.RequestID):
		reply(http.StatusBadRequest, "invalid_request_error", "request_id", "invalid_value", "invalid_value", "request_id must be the X-Request-Id of a response of this deployment (req-<24 hex digits>).")
		return
	case fb.Rating == nil && (fb.Correction == nil || *fb.Correction == ""):
		reply(http.StatusBadRequest, "invalid_request_error", "rating", "invalid_value", "invalid_value", "Send a rating (a number), a correction (the better answer), or both.")
		return
	}
	rec := traffic.Record{Type: traffic.TypeFeedback, Time: time.Now().UTC(), RequestID: fb.RequestID, Rating: fb.Rating}
	if fb.Correction != nil {
		rec.Correction = *fb.Correction
	}
	if !cs.c.offer(captureItem{rec: rec, red: cs.red, dep: dep}) {
		w.Header().Set("Retry-After", "1")
		reply(http.StatusServiceUnavailable, "server_error", "", "capture_busy", "capture_busy", "The capture is busy; retry the feedback.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "feedback", "request_id": fb.RequestID, "status": "recorded"})
	s.metrics.record(dep, revision, http.StatusOK, "", false, time.Since(start), usage{})
}

// validRequestID accepts the ids the gateway makes (requestID).
func validRequestID(id string) bool {
	rest, ok := strings.CutPrefix(id, "req-")
	if !ok || len(rest) != 24 {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
