package slurm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

var evaluationKind = &jobKind{
	kind: schema.Evaluation, prefix: "eval", collect: collectMetrics,
	identity: func(st sdk.Object) (map[string]any, error) {
		in := map[string]any{}
		for _, a := range []string{"model", "endpoint", "dataset"} {
			if v := st.GetString(a); v != "" {
				in[a] = v
			}
		}
		return in, nil
	},
	prepare: func(_ context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics) {
		var d sdk.Diagnostics
		in := &jobInputs{}
		if model := st.GetString("model"); model != "" {
			p, err := m.storePath(model)
			if err != nil {
				d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as training_run.ft.output_model or model.base.id.", err)
				return nil, d
			}
			in.env.ModelPath = p
		}
		in.env.Endpoint = st.GetString("endpoint")
		if ds := st.GetString("dataset"); ds != "" {
			if err := m.datasetEnv(&in.env, ds, true); err != nil {
				d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
				return nil, d
			}
		}
		return in, d
	},
	secrets: func(st sdk.Object) map[string]string {
		if k := st.GetString("api_key"); k != "" {
			return map[string]string{jobs.EnvAPIKey: k}
		}
		return nil
	},
	finished: func(_ context.Context, _ *meta, st *sdk.Object, f *finishedJob) sdk.Diagnostics {
		metrics, _, err := jobs.ReadMetrics(f.outputDir())
		if err != nil {
			var d sdk.Diagnostics
			d.Errorf("Invalid metrics.json", "The evaluation's %s/metrics.json: %v.", f.outputDir(), err)
			return d
		}
		st.Set("results", numberMap(metrics))
		return checkGates(st, metrics)
	},
	clear: func(st *sdk.Object) {
		st.SetNull("results")
		st.SetBool("passed", false)
	},
	stored: func(sdk.Object) []string { return nil },
}

func evaluationResource() *sdk.Resource {
	return jobResource(evaluationKind, jobBlock(schema.Evaluation, nil),
		func(_ context.Context, req *sdk.ModifyPlanRequest, planned *sdk.Object) sdk.Diagnostics {
			// Changed gates are checked again at apply, without a rerun.
			if !req.IsCreate() && !req.Prior.Attr("gate").RawEquals(req.Config.Attr("gate")) {
				planned.SetUnknown("passed")
			}
			return nil
		},
		// Only gates, api_key, resources, retry and placement change in
		// place: the results stand and the gates are checked again.
		func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			st := done(req.Planned)
			if req.Prior.GetString("status") != jobs.StatusSucceeded {
				return &sdk.Response{State: st}
			}
			results := floatMap(req.Prior.Attr("results"))
			st.Set("results", numberMap(results))
			if d := checkGates(&st, results); d.HasErrors() {
				return &sdk.Response{Diagnostics: d}
			}
			return &sdk.Response{State: st}
		})
}

// checkGates checks the results against the gates, sets `passed`, and
// returns one error per failed gate, pointing at the gate.
func checkGates(st *sdk.Object, results map[string]float64) sdk.Diagnostics {
	var d sdk.Diagnostics
	failures := schema.CheckGates(schema.GatesFrom(st.Attr("gate")), results)
	st.SetBool("passed", len(failures) == 0)
	for _, f := range failures {
		detail := fmt.Sprintf("The evaluation %s measured %s = %.4g, and its gate requires %s.", st.GetString("id"), f.Gate.Metric, f.Value, f.Gate)
		if f.Missing {
			detail = fmt.Sprintf("The evaluation %s reported these metrics: %s. Fix the gate's metric name, or make the command write %q to metrics.json.", st.GetString("id"), resultList(results), f.Gate.Metric)
		}
		detail += " The evaluation is recorded as failed, and nothing that depends on it is applied."
		d.AttrErrorf(cty.GetAttrPath("gate").IndexInt(f.Index), f.Message(results), "%s", detail)
	}
	return d
}

func resultList(results map[string]float64) string {
	if len(results) == 0 {
		return "none"
	}
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s = %.4g", n, results[n])
	}
	return strings.Join(parts, ", ")
}
