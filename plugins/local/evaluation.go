package local

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

var evaluationKind = &jobKind{
	kind: schema.Evaluation, prefix: "eval", collect: "metrics",
	prepare: prepareEvaluation,
	finished: func(_ *meta, st *sdk.Object, man *jobs.Manifest) sdk.Diagnostics {
		st.Set("results", numberMap(man.Metrics))
		return checkGates(st, man.Metrics, "The evaluation is recorded as failed (tainted: the next apply runs it again), and nothing that depends on it is applied.")
	},
	clear: func(st *sdk.Object) {
		st.SetNull("results")
		st.SetBool("passed", false)
	},
	stored: func(sdk.Object) []string { return nil },
}

func evaluationResource() *sdk.Resource {
	k := evaluationKind
	return &sdk.Resource{
		Schema:   kindsdk.Block(schema.Evaluation, sdk.Block{}),
		Validate: validateJob(schema.Evaluation),
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			d := checkGPUsAtPlan(ctx, req)
			d = append(d, k.planIdentity(ctx, req, &planned)...)
			// Changed gates are checked again at apply, without a rerun.
			if !req.IsCreate() && !req.Prior.Attr("gate").RawEquals(req.Config.Attr("gate")) {
				planned.SetUnknown("passed")
			}
			return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
		},
		Create: k.create,
		Read:   k.read,
		// Only gates, api_key and resources change in place: the results
		// stand, the gates are checked again. When a gate fails, the prior
		// state stays, so the next plan tries again.
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			st := done(req.Planned)
			results := floatMap(req.Prior.Attr("results"))
			st.Set("results", numberMap(results))
			if d := checkGates(&st, results, "The evaluation keeps its previous state, and nothing that depends on it is applied."); d.HasErrors() {
				return &sdk.Response{Diagnostics: d}
			}
			return &sdk.Response{State: st}
		},
		Delete: k.delete,
	}
}

// prepareEvaluation resolves the model (or endpoint) and the evaluation
// data: the dataset's eval split when it has one.
func prepareEvaluation(_ context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics) {
	var d sdk.Diagnostics
	in := &jobInputs{identity: map[string]any{}}
	if model := st.GetString("model"); model != "" {
		p, err := m.store.Resolve(model)
		if err != nil {
			d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as training_run.ft.output_model or model.base.id.", err)
			return nil, d
		}
		in.env.ModelPath = p
		in.identity["model"] = model
	}
	if ep := st.GetString("endpoint"); ep != "" {
		in.env.Endpoint = ep
		in.env.APIKey = st.GetString("api_key")
		in.identity["endpoint"] = ep
	}
	if ds := st.GetString("dataset"); ds != "" {
		info, dir, err := m.readDataset(ds)
		if err != nil {
			d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
			return nil, d
		}
		in.env.DatasetPath = info.splitPath(dir, "eval", "validation", "test")
		if in.env.DatasetPath == "" {
			in.env.DatasetPath = filepath.Join(dir, info.Data)
		}
		in.env.Splits = info.splitPaths(dir)
		in.identity["dataset"] = ds
	}
	return in, d
}

// checkGates checks an evaluation's results against its gates, sets
// `passed`, and returns one error per failed gate, pointing at the gate.
func checkGates(st *sdk.Object, results map[string]float64, consequence string) sdk.Diagnostics {
	var d sdk.Diagnostics
	failures := schema.CheckGates(schema.GatesFrom(st.Attr("gate")), results)
	st.SetBool("passed", len(failures) == 0)
	for _, f := range failures {
		detail := fmt.Sprintf("The evaluation %s measured %s = %s, and its gate requires %s.", st.GetString("id"), f.Gate.Metric, num(f.Value), f.Gate)
		if f.Missing {
			detail = fmt.Sprintf("The evaluation %s reported these metrics: %s. Fix the gate's metric name, or make the command write %q to metrics.json.", st.GetString("id"), resultList(results), f.Gate.Metric)
		}
		detail += " " + consequence
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
		parts[i] = n + " = " + num(results[n])
	}
	return strings.Join(parts, ", ")
}

func num(f float64) string { return fmt.Sprintf("%.4g", f) }
