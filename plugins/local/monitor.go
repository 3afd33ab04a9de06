package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// The metric checks a monitor can make on a local deployment's gateway.
var metricChecks = []string{"p50_latency_ms", "p95_latency_ms", "error_rate", "requests_per_minute", "empty_retrieval_rate"}

// The checks a monitor makes on a deployment's captured traffic
// (monitor_traffic.go); drift checks need training_dataset.
var trafficChecks = []string{"drift:input_length", "drift:language", "empty_answer_rate", "feedback_score"}

const defaultMonitorInterval = 30 * time.Second

// readings are the computed attributes a reading sets.
var readings = schema.Readings[schema.Monitor]

func monitorResource() *sdk.Resource {
	return &sdk.Resource{
		Schema: kindsdk.Block(schema.Monitor, sdk.Block{Attributes: sdk.Attributes{
			"evaluations": sdk.Attr(cty.Map(cty.String)).Optional().
				Description("Evaluations that `eval:` checks rerun against the live endpoint, by the name the check uses: `{ quality = evaluation.quality.id }` lets `check \"eval:quality.accuracy\"` compare the `accuracy` of a rerun of evaluation.quality."),
			"api_key": sdk.Attr(cty.String).Optional().Sensitive().
				Description("The key `eval:` checks call the deployment with (LLMOPS_API_KEY)."),
			"training_dataset": sdk.Attr(cty.String).Optional().
				Description("The dataset `drift:` checks compare the captured inputs with: `dataset.NAME.id` (its train split when it has one; the rows' `text`, else `prompt`)."),
		}}),
		Validate:   validateMonitor,
		ModifyPlan: planMonitor,
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			return applyMonitor(ctx, req.Meta, req.Planned, true)
		},
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return applyMonitor(ctx, req.Meta, req.Planned, false)
		},
		Read: readMonitor,
		Delete: func(_ context.Context, req *sdk.DeleteRequest) *sdk.Response {
			m := metaOf(req.Meta)
			if dir, err := m.monitorDir(req.Prior.GetString("id")); err == nil {
				if err := removeDir(dir); err != nil {
					return sdk.ErrorResponse("Cannot remove the monitor's directory", err)
				}
			}
			return nil
		},
		Import: importMonitor,
	}
}

func validateMonitor(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Monitor, cfg.Value)
	checks := cfg.Attr("check")
	if checks == cty.NilVal || checks.IsNull() || !checks.IsKnown() {
		return d
	}
	evals := cfg.Attr("evaluations")
	for it := checks.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		name := k.AsString()
		p := cty.GetAttrPath("check").Index(k)
		if ev, metric, ok := strings.Cut(strings.TrimPrefix(name, "eval:"), "."); strings.HasPrefix(name, "eval:") {
			switch {
			case !ok || ev == "" || metric == "":
				d.AttrErrorf(p, "Invalid check", "%q: an evaluation check is named eval:<evaluation>.<metric>, e.g. eval:quality.accuracy, where quality is a key of evaluations (or an evaluation id).", name)
			case evals.IsWhollyKnown() && !strings.HasPrefix(ev, "eval-") && (evals.IsNull() || !evals.Type().IsMapType() || !hasKey(evals, ev)):
				d.AttrErrorf(p, "Unknown evaluation", "%q names evaluation %q, which is not a key of evaluations: add evaluations = { %s = evaluation.%s.id }.", name, ev, ev, ev)
			}
			continue
		}
		known := false
		for _, c := range append(append([]string{}, metricChecks...), trafficChecks...) {
			known = known || c == name
		}
		if !known {
			d.AttrErrorf(p, "Unknown check", "%q is not a check of the local provider; use %s, %s, or eval:<evaluation>.<metric>.", name, strings.Join(metricChecks, ", "), strings.Join(trafficChecks, ", "))
		}
		if td := cfg.Attr("training_dataset"); strings.HasPrefix(name, "drift:") && td.IsKnown() && td.IsNull() {
			d.AttrErrorf(p, "No training dataset", "%q compares the captured inputs with the training data: set training_dataset = dataset.NAME.id.", name)
		}
	}
	return d
}

func hasKey(m cty.Value, k string) bool {
	for it := m.ElementIterator(); it.Next(); {
		kk, _ := it.Element()
		if kk.AsString() == k {
			return true
		}
	}
	return false
}

// planMonitor: a changed configuration takes a new reading at apply.
func planMonitor(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	if req.IsCreate() || req.Planned.IsNull() || !req.Planned.IsKnown() {
		return nil
	}
	a, b := req.Prior, req.Planned
	for _, n := range append([]string{"version"}, readings...) {
		a.SetNull(n)
		b.SetNull(n)
	}
	if a.Value.RawEquals(b.Value) {
		return nil
	}
	planned := req.Planned
	for _, n := range readings {
		planned.SetUnknown(n)
	}
	return &sdk.ModifyPlanResponse{Planned: planned}
}

func (m *meta) monitorRoot() string { return filepath.Join(m.store.Root(), "runs", "local", "monitor") }

func (m *meta) monitorDir(id string) (string, error) {
	rest, ok := strings.CutPrefix(id, "mon-")
	if _, err := hex.DecodeString(rest); !ok || len(rest) != 16 || err != nil {
		return "", fmt.Errorf("%q is not a local monitor id (mon-<16 hex digits>)", id)
	}
	return filepath.Join(m.monitorRoot(), id), nil
}

// monitorFile is what a monitor's directory keeps between readings.
type monitorFile struct {
	// Config is the monitor's configuration (for import), without api_key.
	Config json.RawMessage `json:"config"`
	// Checks identifies the checks the last result measured.
	Checks string   `json:"checks"`
	Result *reading `json:"result,omitempty"`
	// Snapshots are the last gateway readings (the window of the next).
	Snapshots []snapshotRec `json:"snapshots,omitempty"`
}

const monitorStateFile = "monitor.json"

func readMonitorFile(dir string) (*monitorFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, monitorStateFile))
	if err != nil {
		return nil, err
	}
	var f monitorFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *monitorFile) save(dir string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return jobs.WriteFileAtomic(filepath.Join(dir, monitorStateFile), b, 0o600)
}

// monitorConfig is the part of a monitor's state that is configuration.
func monitorConfig(st sdk.Object) (json.RawMessage, string) {
	c := st
	for _, n := range append([]string{"version", "id", "api_key"}, readings...) {
		c.SetNull(n)
	}
	b, _ := toJSON(c.Value)
	checks, _ := toJSON(cty.TupleVal([]cty.Value{st.Attr("deployment"), st.Attr("check"), st.Attr("evaluations")}))
	return b, string(checks)
}

func applyMonitor(ctx context.Context, metaV any, st sdk.Object, create bool) *sdk.Response {
	m := metaOf(metaV)
	dep := st.GetString("deployment")
	if _, err := m.watchedDeployment(dep); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("no deployment %s serves through an llmops gateway in the artifact store %s", dep, m.store.Root())
		}
		return errResp(attr("deployment"), "Cannot monitor the deployment", fmt.Errorf("%w; deployment takes the id of a deployment of a provider that serves through llmops' gateway, such as local or slurm (deployment.x.id), and both must use the same artifact store", err))
	}
	id := st.GetString("id")
	if create {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return sdk.ErrorResponse("Cannot create the monitor", err)
		}
		id = "mon-" + hex.EncodeToString(b[:])
		st.SetString("id", id)
	}
	dir, err := m.monitorDir(id)
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot create the monitor", err)
	}
	f, _ := readMonitorFile(dir)
	if f == nil {
		f = &monitorFile{}
	}
	f.Config, f.Checks = monitorConfig(st)
	f.Result = m.measure(ctx, st, dir, f)
	if err := f.save(dir); err != nil {
		return sdk.ErrorResponse("Cannot record the monitor", err)
	}
	setReading(&st, f.Result)
	return &sdk.Response{State: done(st)}
}

func monitorInterval(st sdk.Object) time.Duration {
	if d, err := schema.ParseDuration(st.GetString("interval")); err == nil && d > 0 {
		return d
	}
	return defaultMonitorInterval
}

// readMonitor measures the checks, at most once per interval (a reading
// younger than that is reused, so frequent refreshes agree).
func readMonitor(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	dir, err := m.monitorDir(req.State.GetString("id"))
	if err != nil {
		return sdk.Gone()
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		if _, serr := os.Stat(dir); os.IsNotExist(serr) {
			return sdk.Gone()
		}
		return sdk.ErrorResponse("Cannot read the monitor", err)
	}
	defer unlock()
	f, err := readMonitorFile(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return sdk.Gone()
		}
		return sdk.ErrorResponse("Cannot read the monitor", err)
	}
	st := req.State
	_, checks := monitorConfig(st)
	if f.Result == nil || f.Checks != checks || time.Since(f.Result.Time) >= monitorInterval(st) {
		f.Checks = checks
		f.Result = m.measure(ctx, st, dir, f)
		if err := f.save(dir); err != nil {
			return sdk.ErrorResponse("Cannot record the monitor's reading", err)
		}
	}
	setReading(&st, f.Result)
	if st.Value.RawEquals(req.State.Value) {
		return nil
	}
	return &sdk.Response{State: st}
}

// setReading puts a reading into the state.
func setReading(st *sdk.Object, r *reading) {
	st.SetString("status", r.Status)
	st.SetString("last_checked", timestamp(r.Time))
	if r.Revision > 0 {
		st.SetInt("deployment_revision", r.Revision)
	} else {
		st.SetNull("deployment_revision")
	}
	vals := map[string]float64{}
	for k, v := range r.Values {
		vals[k] = v
	}
	st.Set("values", numberMap(vals))
	var bs []cty.Value
	for _, b := range r.Breaches {
		bs = append(bs, cty.ObjectVal(map[string]cty.Value{
			"check": cty.StringVal(b.Check), "value": cty.NumberFloatVal(b.Value), "bound": cty.NumberFloatVal(b.Bound), "kind": cty.StringVal(b.Kind),
		}))
	}
	if len(bs) == 0 {
		st.Set("breaches", cty.ListValEmpty(schema.BreachType))
	} else {
		st.Set("breaches", cty.ListVal(bs))
	}
}

func importMonitor(_ context.Context, req *sdk.ImportRequest) *sdk.Response {
	m := metaOf(req.Meta)
	dir, err := m.monitorDir(req.ID)
	if err != nil {
		return sdk.ErrorResponse("Cannot import the monitor", err)
	}
	f, err := readMonitorFile(dir)
	if err != nil {
		return sdk.ErrorResponse("Cannot import the monitor", err)
	}
	v, err := fromJSON(f.Config, req.State.Type())
	if err != nil {
		return sdk.ErrorResponse("Cannot import the monitor", err)
	}
	st := req.State
	st.Value = v
	st.SetString("id", req.ID)
	if f.Result != nil {
		setReading(&st, f.Result)
	}
	return &sdk.Response{State: st}
}

func sortedBreaches(b []breach) {
	sort.Slice(b, func(i, j int) bool {
		return b[i].Check < b[j].Check || b[i].Check == b[j].Check && b[i].Kind < b[j].Kind
	})
}
