package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sample is one line of the Prometheus text format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Parse reads the Prometheus text format (comments and blank lines are
// skipped; timestamps ignored).
func Parse(r io.Reader) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLine(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no value")
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ,")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return s, fmt.Errorf("bad labels")
			}
			name := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			j := 0
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[j])
					}
					continue
				}
				val.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return s, fmt.Errorf("unterminated label value")
			}
			s.Labels[name] = val.String()
			rest = rest[j+1:]
		}
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, fmt.Errorf("bad value %q", f[0])
	}
	s.Value = v
	return s, nil
}

// Scrape fetches and parses a gateway's /metrics (base is
// http://host:port).
func Scrape(ctx context.Context, client *http.Client, base string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", base, resp.Status)
	}
	return Parse(io.LimitReader(resp.Body, 16<<20))
}

// Generation returns the configuration generation a scrape reports (-1
// when absent).
func Generation(samples []Sample) int64 {
	for _, s := range samples {
		if s.Name == MetricGeneration {
			return int64(s.Value)
		}
	}
	return -1
}

// Inflight returns the requests in flight on a backend (host:port).
func Inflight(samples []Sample, backend string) float64 {
	for _, s := range samples {
		if s.Name == MetricInflight && s.Labels["backend"] == backend {
			return s.Value
		}
	}
	return 0
}

// Snapshot is what one scrape says about one revision of a deployment;
// monitors keep them between readings.
type Snapshot struct {
	Time     time.Time `json:"time"`
	Start    float64   `json:"start"` // the gateway's start time: a restart resets the counters
	Revision int64     `json:"revision"`
	Requests float64   `json:"requests"`
	Errors   float64   `json:"errors"`  // responses with status >= 500
	Buckets  []float64 `json:"buckets"` // cumulative, per Buckets then +Inf
	Count    float64   `json:"count"`
	// Retrievals (hit or empty) and EmptyRetrievals of a
	// retrieval-augmented deployment (MetricRetrievals).
	Retrievals      float64 `json:"retrievals,omitempty"`
	EmptyRetrievals float64 `json:"empty_retrievals,omitempty"`
}

// SnapshotOf extracts one revision's counters from a scrape.
func SnapshotOf(samples []Sample, revision int64, at time.Time) Snapshot {
	rev := strconv.FormatInt(revision, 10)
	snap := Snapshot{Time: at, Revision: revision, Buckets: make([]float64, len(Buckets)+1)}
	for _, s := range samples {
		switch {
		case s.Name == MetricStart:
			snap.Start = s.Value
		case s.Labels["revision"] != rev:
		case s.Name == MetricRequests:
			snap.Requests += s.Value
			if c, _ := strconv.Atoi(s.Labels["code"]); c >= 500 {
				snap.Errors += s.Value
			}
		case s.Name == MetricDuration+"_bucket":
			le := s.Labels["le"]
			if le == "+Inf" {
				snap.Buckets[len(Buckets)] = s.Value
				continue
			}
			f, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			for i, b := range Buckets {
				if math.Abs(b-f) < 1e-12 {
					snap.Buckets[i] = s.Value
				}
			}
		case s.Name == MetricDuration+"_count":
			snap.Count = s.Value
		case s.Name == MetricRetrievals && s.Labels["result"] != "error":
			snap.Retrievals += s.Value
			if s.Labels["result"] == "empty" {
				snap.EmptyRetrievals += s.Value
			}
		}
	}
	return snap
}

// Stats are what happened between two snapshots.
type Stats struct {
	Requests float64
	Errors   float64
	Minutes  float64
	// Latency quantiles in milliseconds (NaN without served requests).
	P50, P95 float64
	// Retrievals and EmptyRetrievals count a retrieval-augmented
	// deployment's retrievals and those that found no chunk.
	Retrievals, EmptyRetrievals float64
}

// EmptyRetrievalRate is the share of retrievals that found no chunk
// reaching min_score (NaN without retrievals).
func (s Stats) EmptyRetrievalRate() float64 {
	if s.Retrievals == 0 {
		return math.NaN()
	}
	return s.EmptyRetrievals / s.Retrievals
}

// ErrorRate is errors over requests (NaN without requests).
func (s Stats) ErrorRate() float64 {
	if s.Requests == 0 {
		return math.NaN()
	}
	return s.Errors / s.Requests
}

// RequestsPerMinute is the request rate over the window.
func (s Stats) RequestsPerMinute() float64 {
	if s.Minutes <= 0 {
		return math.NaN()
	}
	return s.Requests / s.Minutes
}

// Window computes the stats between prev (nil: since the gateway started)
// and now. A gateway restart, or a reading of another revision, counts
// from zero.
func Window(prev *Snapshot, now Snapshot) Stats {
	base := Snapshot{Buckets: make([]float64, len(now.Buckets))}
	from := time.Unix(0, int64(now.Start*1e9))
	if prev != nil && prev.Start == now.Start && prev.Revision == now.Revision && prev.Requests <= now.Requests && len(prev.Buckets) == len(now.Buckets) {
		base = *prev
	}
	if prev != nil && prev.Start == now.Start {
		from = prev.Time
	}
	st := Stats{Requests: now.Requests - base.Requests, Errors: now.Errors - base.Errors, Minutes: now.Time.Sub(from).Minutes(),
		Retrievals: now.Retrievals - base.Retrievals, EmptyRetrievals: now.EmptyRetrievals - base.EmptyRetrievals}
	delta := make([]float64, len(now.Buckets))
	for i := range delta {
		delta[i] = now.Buckets[i] - base.Buckets[i]
	}
	st.P50, st.P95 = quantile(0.5, delta)*1000, quantile(0.95, delta)*1000
	return st
}

// quantile estimates a quantile from cumulative bucket counts (the last is
// +Inf) by linear interpolation within the bucket, as Prometheus'
// histogram_quantile does.
func quantile(q float64, cum []float64) float64 {
	if len(cum) == 0 || cum[len(cum)-1] <= 0 {
		return math.NaN()
	}
	rank := q * cum[len(cum)-1]
	for i, c := range cum {
		if c < rank || c == 0 {
			continue
		}
		if i == len(Buckets) {
			return Buckets[len(Buckets)-1]
		}
		lower, prevc := 0.0, 0.0
		if i > 0 {
			lower, prevc = Buckets[i-1], cum[i-1]
		}
		if c == prevc {
			return Buckets[i]
		}
		return lower + (Buckets[i]-lower)*(rank-prevc)/(c-prevc)
	}
	return Buckets[len(Buckets)-1]
}
