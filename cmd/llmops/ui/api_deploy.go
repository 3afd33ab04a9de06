package ui

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/state"
)

// Gateway scrapes: at most one per scrapeEvery per gateway, whoever asks;
// the last keepScrapes are kept, in memory only.
const (
	scrapeEvery = 2 * time.Second
	keepScrapes = 180
)

// gatewayWatch scrapes deployments' gateways as pages ask, and keeps the
// recent scrapes to draw rates over time.
type gatewayWatch struct {
	client *http.Client
	mu     sync.Mutex
	byBase map[string]*scrapes
}

// scrapes are one gateway's recent scrapes.
type scrapes struct {
	mu      sync.Mutex
	last    time.Time
	samples []gateway.Sample
	times   []time.Time
	history [][]gateway.Sample
	err     string
}

func newGatewayWatch(c *http.Client) *gatewayWatch {
	return &gatewayWatch{client: c, byBase: map[string]*scrapes{}}
}

// read scrapes base unless it was scraped less than scrapeEvery ago, and
// returns a copy of what is known of it.
func (g *gatewayWatch) read(ctx context.Context, base string) scrapes {
	g.mu.Lock()
	sc := g.byBase[base]
	if sc == nil {
		sc = &scrapes{}
		g.byBase[base] = sc
	}
	g.mu.Unlock()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if now := time.Now(); now.Sub(sc.last) >= scrapeEvery {
		sc.last = now
		samples, err := gateway.Scrape(ctx, g.client, base)
		if err != nil {
			sc.err = err.Error()
		} else {
			sc.err, sc.samples = "", samples
			sc.times = append(sc.times, now)
			sc.history = append(sc.history, samples)
			if n := len(sc.times); n > keepScrapes {
				sc.times, sc.history = sc.times[n-keepScrapes:], sc.history[n-keepScrapes:]
			}
		}
	}
	return scrapes{last: sc.last, samples: sc.samples, times: append([]time.Time(nil), sc.times...),
		history: append([][]gateway.Sample(nil), sc.history...), err: sc.err}
}

// gatewayBase turns a deployment's endpoint (http://host:port/v1) into
// its gateway's base URL, or "" for anything but http(s).
func gatewayBase(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v1")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return strings.TrimSuffix(u.String(), "/")
}

// windowJSON is one interval's traffic (nil where nothing was measured).
type windowJSON struct {
	Time              time.Time `json:"time"`
	Requests          float64   `json:"requests"`
	Errors            float64   `json:"errors"`
	RequestsPerMinute *float64  `json:"requests_per_minute"`
	ErrorRate         *float64  `json:"error_rate"`
	P50ms             *float64  `json:"p50_ms"`
	P95ms             *float64  `json:"p95_ms"`
}

func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func window(t time.Time, st gateway.Stats) windowJSON {
	return windowJSON{Time: t, Requests: st.Requests, Errors: st.Errors, RequestsPerMinute: finite(st.RequestsPerMinute()),
		ErrorRate: finite(st.ErrorRate()), P50ms: finite(st.P50), P95ms: finite(st.P95)}
}

// apiDeploymentMetrics: GET /api/deployments/{address}/metrics, a
// deployment's traffic from its gateway (totals since the gateway started
// and the rates between recent scrapes, for the revision it serves), its
// revisions, the monitors that watch it and their events.
func (s *Server) apiDeploymentMetrics(w http.ResponseWriter, r *http.Request) {
	addr, ok := strings.CutSuffix(r.PathValue("rest"), "/metrics")
	if !ok {
		writeError(w, http.StatusNotFound, "no such API: /api/deployments/ADDRESS/metrics")
		return
	}
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	o := v.object(addr)
	if o == nil || o.Addr.Resource.Type != schema.Deployment {
		writeError(w, http.StatusNotFound, addr+" is not a deployment of state version "+strconv.FormatInt(v.serial, 10))
		return
	}
	st, detail := classify(o)
	endpoint := history.AttrString(o.Value, "endpoint")
	rev := int64(0)
	if f, ok := toFloat(jsonAttr(o, "revision")); ok {
		rev = int64(f)
	}
	doc := map[string]any{
		"format_version": formatVersion, "address": o.Addr.String(), "status": st, "detail": detail,
		"endpoint": endpoint, "revision": rev, "model": history.AttrString(o.Value, "model"),
		"replicas": jsonAttr(o, "replicas"), "healthy_replicas": jsonAttr(o, "healthy_replicas"),
		"series": []windowJSON{}, "commands": commandsFor(o),
	}
	if base := gatewayBase(endpoint); base != "" {
		sc := s.gw.read(r.Context(), base)
		if sc.err != "" {
			doc["error"] = "cannot read the gateway's metrics: " + sc.err
		}
		if sc.samples != nil {
			doc["scraped_at"] = sc.times[len(sc.times)-1]
			doc["totals"] = totals(sc.samples, rev, sc.times[len(sc.times)-1])
			series := []windowJSON{}
			for i := 1; i < len(sc.history); i++ {
				prev := gateway.SnapshotOf(sc.history[i-1], rev, sc.times[i-1])
				now := gateway.SnapshotOf(sc.history[i], rev, sc.times[i])
				series = append(series, window(sc.times[i], gateway.Window(&prev, now)))
			}
			doc["series"] = series
		}
	}
	rows, err := s.opts.Store.ObjectHistory(r.Context(), o.Addr)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the state: "+err.Error())
		return
	}
	doc["revisions"] = revisions(rows, v)
	mons := monitorsOf(v, history.AttrString(o.Value, "id"))
	doc["monitors"] = mons
	watched := []string{o.Addr.String()}
	for _, m := range mons {
		watched = append(watched, m["address"].(string))
	}
	evs, err := eventsJSON(r.Context(), s.opts.Store, 50, strings.Join(watched, ","))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the event log: "+err.Error())
		return
	}
	doc["events"] = evs
	writeJSON(w, doc)
}

// totals is the traffic of one revision since the gateway started, and
// the tokens counted per type.
func totals(samples []gateway.Sample, rev int64, at time.Time) map[string]any {
	now := gateway.SnapshotOf(samples, rev, at)
	t := window(at, gateway.Window(nil, now))
	tokens := map[string]float64{}
	codes := map[string]float64{}
	revText := strconv.FormatInt(rev, 10)
	for _, s := range samples {
		if s.Labels["revision"] != revText {
			continue
		}
		switch s.Name {
		case gateway.MetricTokens:
			tokens[s.Labels["type"]] += s.Value
		case gateway.MetricRequests:
			codes[s.Labels["code"]] += s.Value
		}
	}
	return map[string]any{"requests": t.Requests, "errors": t.Errors, "error_rate": t.ErrorRate,
		"requests_per_minute": t.RequestsPerMinute, "p50_ms": t.P50ms, "p95_ms": t.P95ms, "tokens": tokens, "codes": codes}
}

// revisions lists a deployment's revisions, oldest first: the first
// recorded row of each (revision, model), with when it was written.
func revisions(rows []*state.Object, v *view) []map[string]any {
	out := []map[string]any{}
	seen := map[string]bool{}
	for _, e := range decodeRows(rows) {
		rev, _ := toFloat(jsonAttr(e, "revision"))
		model := history.AttrString(e.Value, "model")
		key := strconv.FormatFloat(rev, 'f', -1, 64) + " " + model + " " + strconv.FormatInt(e.Version, 10)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, map[string]any{"revision": rev, "model": model, "version": e.Version, "serial": e.Serial,
			"time": v.times[e.Serial], "status": history.AttrString(e.Value, "status"), "current": e.RemovedSerial == 0})
	}
	return out
}

// monitorsOf lists the monitors of the deployment whose id is id: their
// checks (bounds), last reading and breaches.
func monitorsOf(v *view, id string) []map[string]any {
	out := []map[string]any{}
	if id == "" {
		return out
	}
	for _, sm := range v.summaries {
		if sm.Type != schema.Monitor {
			continue
		}
		o := v.object(sm.Address)
		if history.AttrString(o.Value, "deployment") != id {
			continue
		}
		out = append(out, map[string]any{"address": sm.Address, "status": sm.Status, "detail": sm.Detail,
			"last_checked": history.AttrString(o.Value, "last_checked"), "checks": jsonAttr(o, "check"),
			"values": jsonAttr(o, "values"), "breaches": jsonAttr(o, "breaches"), "on_breach": history.AttrString(o.Value, "on_breach"),
			"interval": history.AttrString(o.Value, "interval"), "deployment_revision": jsonAttr(o, "deployment_revision")})
	}
	return out
}

// decodeRows decodes recorded rows (sealed parts stay sealed); a row that
// does not decode is left out.
func decodeRows(rows []*state.Object) []*history.Object {
	var out []*history.Object
	for _, o := range rows {
		objs, err := history.Decode(&state.Snapshot{Objects: []*state.Object{o}})
		if err == nil {
			out = append(out, objs[o.Addr])
		}
	}
	return out
}
