package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/schema"
)

// reading is one measurement of a monitor's checks.
type reading struct {
	Time     time.Time          `json:"time"`
	Status   string             `json:"status"`
	Revision int64              `json:"revision"`
	Values   map[string]float64 `json:"values"`
	Breaches []breach           `json:"breaches"`
	// Notes say why checks had no value.
	Notes []string `json:"notes,omitempty"`
}

type breach struct {
	Check string  `json:"check"`
	Value float64 `json:"value"`
	Bound float64 `json:"bound"`
	Kind  string  `json:"kind"`
}

// snapshotRec is a gateway snapshot kept between readings.
type snapshotRec struct {
	Deployment string `json:"deployment"`
	gateway.Snapshot
}

const maxSnapshots = 8

// evalTimeout bounds one rerun of an evaluation.
func evalTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LLMOPS_LOCAL_EVAL_CHECK_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Minute
}

// measure takes a reading: the gateway's metrics over the window since
// the previous reading, and every eval: check rerun against the endpoint.
func (m *meta) measure(ctx context.Context, st sdk.Object, dir string, f *monitorFile) *reading {
	now := time.Now().UTC()
	r := &reading{Time: now, Values: map[string]float64{}}
	depID := st.GetString("deployment")
	rec, err := m.watchedDeployment(depID)
	var stats *gateway.Stats
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("deployment %s: %v", depID, err))
	} else {
		r.Revision = rec.Revision
		samples, err := gateway.Scrape(ctx, scrapeClient, rec.Base())
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("the gateway's metrics: %v", err))
		} else {
			snap := gateway.SnapshotOf(samples, rec.Revision, now)
			var prev *gateway.Snapshot
			for i := len(f.Snapshots) - 1; i >= 0; i-- {
				if f.Snapshots[i].Deployment == depID {
					prev = &f.Snapshots[i].Snapshot
					break
				}
			}
			s := gateway.Window(prev, snap)
			stats = &s
			f.Snapshots = append(f.Snapshots, snapshotRec{Deployment: depID, Snapshot: snap})
			if len(f.Snapshots) > maxSnapshots {
				f.Snapshots = f.Snapshots[len(f.Snapshots)-maxSnapshots:]
			}
		}
	}
	var prevTime time.Time
	if f.Result != nil {
		prevTime = f.Result.Time
	}
	win := &trafficWindow{m: m, st: st, depID: depID, since: prevTime}
	checks := st.Attr("check")
	missing := false
	if checks != cty.NilVal && !checks.IsNull() && checks.IsWhollyKnown() {
		for it := checks.ElementIterator(); it.Next(); {
			k, c := it.Element()
			name := k.AsString()
			v, note := m.checkValue(ctx, st, rec, stats, name, dir, win)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				missing = true
				if note != "" {
					r.Notes = append(r.Notes, name+": "+note)
				}
				continue
			}
			r.Values[name] = v
			if mx := c.GetAttr("max"); !mx.IsNull() {
				if b, _ := mx.AsBigFloat().Float64(); v > b {
					r.Breaches = append(r.Breaches, breach{Check: name, Value: v, Bound: b, Kind: "max"})
				}
			}
			if mn := c.GetAttr("min"); !mn.IsNull() {
				if b, _ := mn.AsBigFloat().Float64(); v < b {
					r.Breaches = append(r.Breaches, breach{Check: name, Value: v, Bound: b, Kind: "min"})
				}
			}
		}
	}
	sortedBreaches(r.Breaches)
	switch {
	case len(r.Breaches) > 0:
		r.Status = schema.MonitorBreach
	case missing:
		r.Status = schema.MonitorNoData
	default:
		r.Status = schema.MonitorOK
	}
	if len(r.Notes) > 0 {
		sdk.Logger(ctx).Info("monitor: checks without a value", "notes", strings.Join(r.Notes, "; "))
	}
	return r
}

// watchedDeployment finds the deployment a monitor watches: the local
// provider's own record, else the listing that another provider serving
// through llmops' gateway (slurm) published in the shared artifact store.
// The error wraps os.ErrNotExist when neither knows the id.
func (m *meta) watchedDeployment(id string) (*gateway.Listing, error) {
	rec, err := m.loadRecord(id)
	if err == nil {
		return &gateway.Listing{Deployment: rec.ID, Provider: "local", Endpoint: rec.Endpoint(), Revision: rec.Revision}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return gateway.Lookup(m.store.Root(), id)
}

// checkValue measures one check; NaN (with a note) when it has no value.
func (m *meta) checkValue(ctx context.Context, st sdk.Object, rec *gateway.Listing, stats *gateway.Stats, name, dir string, win *trafficWindow) (float64, string) {
	if strings.HasPrefix(name, "drift:") || name == "empty_answer_rate" || name == "feedback_score" {
		return win.value(name)
	}
	if strings.HasPrefix(name, "eval:") {
		if rec == nil {
			return math.NaN(), "the deployment is gone"
		}
		return m.evalCheck(ctx, st, rec, name, dir)
	}
	if stats == nil {
		return math.NaN(), "no metrics"
	}
	switch name {
	case "p50_latency_ms":
		return stats.P50, "no request reached a replica in the window"
	case "p95_latency_ms":
		return stats.P95, "no request reached a replica in the window"
	case "error_rate":
		return stats.ErrorRate(), "no request in the window"
	case "requests_per_minute":
		return stats.RequestsPerMinute(), "empty window"
	case "empty_retrieval_rate":
		return stats.EmptyRetrievalRate(), "no retrieval in the window (a deployment without retrieval has none)"
	}
	return math.NaN(), "unknown check"
}

// evalCheck reruns an evaluation's command against the live endpoint
// (LLMOPS_ENDPOINT, LLMOPS_API_KEY instead of LLMOPS_MODEL_PATH) and reads
// the metric from the metrics.json it writes.
func (m *meta) evalCheck(ctx context.Context, st sdk.Object, rec *gateway.Listing, name, dir string) (float64, string) {
	ev, metric, _ := strings.Cut(strings.TrimPrefix(name, "eval:"), ".")
	evalID := ev
	if id, ok := st.GetStringMap("evaluations")[ev]; ok {
		evalID = id
	}
	spec, err := m.findEvaluation(evalID)
	if err != nil {
		return math.NaN(), err.Error()
	}
	out, err := os.MkdirTemp(dir, "eval-")
	if err != nil {
		return math.NaN(), err.Error()
	}
	defer os.RemoveAll(out)
	if spec.ArgvHidden || len(spec.HiddenEnv) > 0 {
		return math.NaN(), fmt.Sprintf("the evaluation %s runs with sensitive values (in its command, or in %s), which llmops never writes to disk: a monitor cannot rerun it. Pass what it needs through env_passthrough in the provider block instead", evalID, strings.Join(spec.HiddenEnv, ", "))
	}
	var env []string
	for _, kv := range spec.RecordedEnv {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case jobs.EnvRunID, jobs.EnvOutputDir, jobs.EnvModelPath, jobs.EnvEndpoint, jobs.EnvAPIKey:
			continue
		}
		env = append(env, kv)
	}
	env = append(env, jobs.EnvRunID+"="+st.GetString("id")+"-"+ev, jobs.EnvOutputDir+"="+out, jobs.EnvEndpoint+"="+rec.Endpoint)
	if key := st.GetString("api_key"); key != "" {
		env = append(env, jobs.EnvAPIKey+"="+key)
	}
	ctx, cancel := context.WithTimeout(ctx, evalTimeout())
	defer cancel()
	logPath := filepath.Join(dir, "eval-"+safeName(ev)+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return math.NaN(), err.Error()
	}
	defer logf.Close()
	logw := scrub.NewWriter(logf, sdk.Secrets(ctx)) // the monitor's api_key
	defer logw.Close()
	cmd := exec.CommandContext(ctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = spec.Dir, env, logw, logw
	cmd.WaitDelay = 5 * time.Second // a process it left behind may hold the output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return math.NaN(), fmt.Sprintf("the evaluation %s failed against the endpoint: %v (log: %s)", evalID, err, logPath)
	}
	metrics, _, err := jobs.ReadMetrics(out)
	if err != nil {
		return math.NaN(), fmt.Sprintf("the evaluation's metrics.json: %v (log: %s)", err, logPath)
	}
	v, ok := metrics[metric]
	if !ok {
		return math.NaN(), fmt.Sprintf("the evaluation wrote no metric %q (it wrote %s)", metric, strings.Join(sortedKeys(metrics), ", "))
	}
	return v, ""
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// findEvaluation finds the job spec of an evaluation by its id
// (eval-<16 hex>, the prefix of its run directory).
func (m *meta) findEvaluation(id string) (*jobSpec, error) {
	hexid, ok := strings.CutPrefix(id, "eval-")
	if !ok || len(hexid) != 16 || strings.ContainsAny(hexid, `/\.*?[`) {
		return nil, fmt.Errorf("%q is not an evaluation id of the local provider (eval-...)", id)
	}
	dirs, _ := filepath.Glob(filepath.Join(m.runner.root, schema.Evaluation, hexid+"*"))
	for _, d := range dirs {
		if len(filepath.Base(d)) != 64 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, specFile))
		if err != nil {
			continue
		}
		var spec jobSpec
		if json.Unmarshal(b, &spec) == nil && spec.RunID == id && len(spec.Argv) > 0 {
			return &spec, nil
		}
	}
	return nil, fmt.Errorf("no evaluation %s in %s", id, filepath.Join(m.runner.root, schema.Evaluation))
}

// fromJSON decodes a value recorded with toJSON.
func fromJSON(b []byte, ty cty.Type) (cty.Value, error) {
	return ctyjson.Unmarshal(b, ty)
}
