package local

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// defaultMethod is the training method when none is set. The local
// provider does not restrict methods: the command implements them.
const defaultMethod = "full"

var trainingKind = &jobKind{
	kind: schema.TrainingRun, prefix: "train", collect: "model",
	prepare: prepareTraining,
	finished: func(_ *meta, st *sdk.Object, man *jobs.Manifest) sdk.Diagnostics {
		st.SetString("output_model", man.Outputs["model"].ID)
		st.Set("metrics", numberMap(man.Metrics))
		return nil
	},
	clear: func(st *sdk.Object) {
		st.SetNull("output_model")
		st.SetNull("metrics")
	},
	stored: func(st sdk.Object) []string {
		if id := st.GetString("output_model"); id != "" {
			return []string{id}
		}
		return nil
	},
}

func trainingRunResource() *sdk.Resource {
	k := trainingKind
	return &sdk.Resource{
		Schema:   kindsdk.Block(schema.TrainingRun, sdk.Block{}),
		Validate: validateJob(schema.TrainingRun),
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			if !planned.Known("method") && req.Config.Known("method") && !req.Config.IsSet("method") {
				planned.SetString("method", defaultMethod)
			}
			d := checkGPUsAtPlan(ctx, req)
			d = append(d, k.planIdentity(ctx, req, &planned)...)
			return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
		},
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			if !req.Planned.IsSet("method") || !req.Planned.Known("method") {
				req.Planned.SetString("method", defaultMethod)
			}
			return k.create(ctx, req)
		},
		Read: k.read,
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return &sdk.Response{State: done(req.Planned)}
		},
		Delete: k.delete,
	}
}

// prepareTraining resolves a training run's inputs: the base model and
// dataset from the store (with the dataset's splits), hyperparameters as
// JSON, the method and the checkpoint to resume from.
func prepareTraining(_ context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics) {
	var d sdk.Diagnostics
	in := &jobInputs{identity: map[string]any{}}
	base := st.GetString("base_model")
	bp, err := m.store.Resolve(base)
	if err != nil {
		d.AttrErrorf(attr("base_model"), "Base model not found", "%v. base_model takes a model id, such as model.base.id or training_run.x.output_model.", err)
		return nil, d
	}
	in.env.BaseModelPath = bp
	in.identity["base_model"] = base
	if ds := st.GetString("dataset"); ds != "" {
		info, dir, err := m.readDataset(ds)
		if err != nil {
			d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
			return nil, d
		}
		in.env.DatasetPath = filepath.Join(dir, info.Data)
		in.env.TrainPath = info.splitPath(dir, "train")
		in.env.EvalPath = info.splitPath(dir, "eval", "validation", "test")
		in.env.Splits = info.splitPaths(dir)
		in.identity["dataset"] = ds
	}
	hp, err := toJSON(st.Attr("hyperparameters"))
	if err != nil {
		d.AttrErrorf(attr("hyperparameters"), "Invalid hyperparameters", "%v", err)
		return nil, d
	}
	if hp != nil && !strings.HasPrefix(strings.TrimSpace(string(hp)), "{") {
		d.AttrErrorf(attr("hyperparameters"), "Invalid hyperparameters", "hyperparameters must be an object, such as { learning_rate = 2e-4, epochs = 3 }.")
		return nil, d
	}
	in.env.Hyperparameters, in.env.HparamsSet = hp, true
	in.identity["hyperparameters"] = json.RawMessage(orEmptyObject(hp))
	method := st.GetString("method")
	if method == "" {
		method = defaultMethod
	}
	in.env.Method = method
	in.identity["method"] = method
	if r := st.GetString("resume_from"); r != "" {
		p := r
		if strings.HasPrefix(r, "sha256:") {
			if p, err = m.store.Resolve(r); err != nil {
				d.AttrErrorf(attr("resume_from"), "Checkpoint not found", "%v", err)
				return nil, d
			}
		} else if !filepath.IsAbs(p) {
			p = filepath.Join(m.workDir, p)
		}
		in.env.ResumeFrom = p
		in.identity["resume_from"] = r
	}
	return in, d
}

func orEmptyObject(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// validateJob is the Validate of job kinds: the core checks, then what
// the local provider needs.
func validateJob(kind string) func(context.Context, *sdk.ValidateRequest) sdk.Diagnostics {
	return func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
		cfg := req.Config
		d := schema.Validate(kind, cfg.Value)
		if kind == schema.Evaluation && cfg.Known("command") && !cfg.IsSet("command") {
			d.AttrErrorf(attr("command"), "Missing command", "The local provider has no built-in evaluations: set command, e.g. [\"python3\", \"eval.py\"], which writes $LLMOPS_OUTPUT_DIR/metrics.json.")
		}
		if cfg.Known("env") {
			if err := jobs.CheckExtra(cfg.GetStringMap("env")); err != nil {
				d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
			}
		}
		if res := cfg.Attr("resources"); res != cty.NilVal {
			if n, ok := nestedInt(res, "nodes"); ok && n > 1 {
				d.AttrErrorf(cty.GetAttrPath("resources").GetAttr("nodes"), "Multi-node runs need a cluster", "The local provider runs on one host; nodes = %d needs a cluster provider such as slurm.", n)
			}
		}
		return d
	}
}

// checkGPUsAtPlan refuses, at plan time, more GPUs than the host has.
func checkGPUsAtPlan(ctx context.Context, req *sdk.ModifyPlanRequest) sdk.Diagnostics {
	res := req.Config.Attr("resources")
	if _, ok := nestedInt(res, "gpus"); !ok {
		return nil
	}
	if !req.IsCreate() && req.Prior.Attr("resources").RawEquals(res) {
		return nil
	}
	_, d := metaOf(req.Meta).gpusFor(ctx, res)
	return d
}
