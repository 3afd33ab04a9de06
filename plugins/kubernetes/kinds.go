package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// jobKind is what a kind run as a Kubernetes Job adds to job.go.
type jobKind struct {
	kind    string
	prefix  string // run id prefix
	collect string // what the runner pushes: collectModel, collectMetrics, collectData, collectEmbeddings
	// idIsArtifact: the object's id is its output's artifact id (a
	// dataset, an index), set when the Job completed; its Jobs are
	// labelled with the run id derived from its identity instead.
	idIsArtifact bool
	// argv and env are the user's command and variables (default: the
	// command and env attributes), at cmdPath and envPath.
	argv             func(st sdk.Object) []string
	env              func(st sdk.Object) map[string]string
	cmdPath, envPath cty.Path
	// format is the data format a transform writes (collectData).
	format func(st sdk.Object) string
	// identity returns the inputs that decide the result.
	identity func(st sdk.Object) (map[string]any, error)
	// prepare resolves the inputs into the job contract (store paths;
	// the runner fetches them by digest).
	prepare func(ctx context.Context, m *meta, st sdk.Object) (*jobs.Env, sdk.Diagnostics)
	// secrets are the kind's secret variables.
	secrets func(st sdk.Object) map[string]string
	// finished sets the kind's computed attributes from the runner's result.
	finished func(ctx context.Context, m *meta, st *sdk.Object, res *result) sdk.Diagnostics
	// clear nulls them.
	clear func(st *sdk.Object)
	// imported sets, on an imported object, the configured attributes that
	// the Job's inputs annotation keeps.
	imported func(st *sdk.Object, in map[string]json.RawMessage)
}

// What the runner collects when the command succeeds (EnvCollect).
const (
	collectModel      = "model"      // LLMOPS_OUTPUT_DIR/model, a directory
	collectMetrics    = "metrics"    // metrics.json only
	collectData       = "data"       // LLMOPS_OUTPUT_DIR/data.<format>, a file
	collectEmbeddings = "embeddings" // embeddings.jsonl, else the command's stdout
)

func (k *jobKind) argvOf(st sdk.Object) []string {
	if k.argv != nil {
		return k.argv(st)
	}
	return st.GetStrings("command")
}

func (k *jobKind) envOf(st sdk.Object) map[string]string {
	if k.env != nil {
		return k.env(st)
	}
	return st.GetStringMap("env")
}

func (k *jobKind) commandPath() cty.Path {
	if k.cmdPath != nil {
		return k.cmdPath
	}
	return attr("command")
}

func (k *jobKind) envAttrPath() cty.Path {
	if k.envPath != nil {
		return k.envPath
	}
	return attr("env")
}

// runIDOf is the run id that names and labels the object's Jobs: its id,
// or for a kind whose id is its output artifact, the id derived from its
// identity ("" when it ran no Job).
func (k *jobKind) runIDOf(st sdk.Object) string {
	if !k.idIsArtifact {
		return st.GetString("id")
	}
	if identity := st.GetString("identity"); identity != "" {
		return jobs.RunID(k.prefix, identity)
	}
	return ""
}

// retryable are the endings a retry block may list.
var retryable = []string{"preempted", "node_fail", "failed", "timeout", "oom"}

// jobBlock is the schema of a kind run as a Job: the core schema (with
// extra's attributes), the `kubernetes` block, the attempts made, and the
// retry policy.
func jobBlock(kind string, extra sdk.Attributes) sdk.Block {
	attrs := sdk.Attributes{
		"attempts":  sdk.Attr(cty.Number).Computed().UseStateForUnknown().Description("How many Jobs were created for the object (retries included)."),
		"namespace": sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The namespace of the Job."),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	b := kindsdk.Block(kind, sdk.Block{Attributes: attrs})
	b.Blocks["kubernetes"] = sdk.SingleBlock(sdk.Block{
		Description: "Where and how the Job's pods run; all optional.",
		Attributes: sdk.Attributes{
			"image":           sdk.Attr(cty.String).Optional().Description("The container image (default: the provider's image)."),
			"node_selector":   sdk.Attr(cty.Map(cty.String)).Optional().Description("Node labels the pods must match, besides gpu_type's."),
			"tolerations":     sdk.Attr(cty.List(cty.Map(cty.String))).Optional().Description("Pod tolerations: objects with key, operator, value, effect."),
			"priority_class":  sdk.Attr(cty.String).Optional().Description("The pods' PriorityClass."),
			"queue":           sdk.Attr(cty.String).Optional().Description("A Kueue LocalQueue: the Job gets the kueue.x-k8s.io/queue-name label."),
			"service_account": sdk.Attr(cty.String).Optional().Description("The pods' service account."),
			"queue_timeout":   sdk.Attr(cty.String).Optional().Description("How long a pod may stay unschedulable before the Job is deleted and the object fails (default: no limit)."),
		},
	})
	b.Blocks["retry"] = sdk.SingleBlock(sdk.Block{
		Description: "Create the Job again when it ends in one of the listed ways; the new attempt gets the latest checkpoint the runner pushed as LLMOPS_RESUME_FROM.",
		Attributes: sdk.Attributes{
			"attempts": sdk.Attr(cty.Number).Optional().Description("Attempts in all, the first included (default 1: no retry)."),
			"on":       sdk.Attr(cty.List(cty.String)).Optional().Description("The endings that allow another attempt: `preempted`, `node_fail`, `failed`, `timeout`, `oom`. Default [\"preempted\", \"node_fail\"]."),
		},
	})
	return b
}

func validateJob(kind string) func(context.Context, *sdk.ValidateRequest) sdk.Diagnostics {
	return func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
		cfg := req.Config
		d := schema.Validate(kind, cfg.Value)
		if kind == schema.Evaluation && cfg.Known("command") && !cfg.IsSet("command") {
			d.AttrErrorf(attr("command"), "Missing command", "The kubernetes provider has no built-in evaluations: set command, e.g. [\"python3\", \"eval.py\"], which writes $LLMOPS_OUTPUT_DIR/metrics.json.")
		}
		if cfg.Known("env") {
			if err := jobs.CheckExtra(cfg.GetStringMap("env")); err != nil {
				d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
			}
		}
		return append(d, validateJobBlocks(cfg)...)
	}
}

// validateJobBlocks checks the resources, kubernetes and retry blocks.
func validateJobBlocks(cfg sdk.Object) sdk.Diagnostics {
	var d sdk.Diagnostics
	{
		rp := attr("resources")
		if res := cfg.Attr("resources"); res != cty.NilVal && res.IsKnown() && !res.IsNull() {
			for _, a := range []string{"gpus", "nodes", "cpus"} {
				d = append(d, schema.ValidateInteger(res.GetAttr(a), rp.GetAttr(a), map[bool]int64{true: 0, false: 1}[a == "gpus"], 1<<16)...)
			}
			if s := nestedString(res, "max_duration"); s != "" {
				if _, err := schema.ParseDuration(s); err != nil {
					d.AttrErrorf(rp.GetAttr("max_duration"), "Invalid duration", "%v", err)
				}
			}
		}
		kp := attr("kubernetes")
		if kb := cfg.Attr("kubernetes"); kb != cty.NilVal && kb.IsKnown() && !kb.IsNull() {
			if s := nestedString(kb, "queue_timeout"); s != "" {
				if _, err := schema.ParseDuration(s); err != nil {
					d.AttrErrorf(kp.GetAttr("queue_timeout"), "Invalid duration", "%v", err)
				}
			}
			for i, t := range nestedMaps(kb, "tolerations") {
				for k := range t {
					if !contains([]string{"key", "operator", "value", "effect"}, k) {
						d.AttrErrorf(kp.GetAttr("tolerations").IndexInt(i), "Invalid toleration", "%q is not a toleration field; use key, operator, value and effect.", k)
					}
				}
			}
		}
		if rv := cfg.Attr("retry"); rv != cty.NilVal && rv.IsKnown() && !rv.IsNull() {
			retp := attr("retry")
			d = append(d, schema.ValidateInteger(rv.GetAttr("attempts"), retp.GetAttr("attempts"), 1, 100)...)
			for i, on := range nestedStrings(rv, "on") {
				if !contains(retryable, on) {
					d.AttrErrorf(retp.GetAttr("on").IndexInt(i), "Invalid retry condition", "%q is not one of %s.", on, strings.Join(retryable, ", "))
				}
			}
		}
	}
	return d
}

const defaultMethod = "full"

var trainingKind = &jobKind{
	kind: schema.TrainingRun, prefix: "train", collect: collectModel,
	identity: func(st sdk.Object) (map[string]any, error) {
		in := map[string]any{"base_model": st.GetString("base_model"), "method": methodOf(st)}
		if ds := st.GetString("dataset"); ds != "" {
			in["dataset"] = ds
		}
		hp, err := jobs.ToJSON(st.Attr("hyperparameters"))
		if err != nil {
			return nil, err
		}
		if len(hp) == 0 {
			hp = json.RawMessage("{}")
		}
		in["hyperparameters"] = hp
		if r := st.GetString("resume_from"); r != "" {
			in["resume_from"] = r
		}
		return in, nil
	},
	prepare: func(ctx context.Context, m *meta, st sdk.Object) (*jobs.Env, sdk.Diagnostics) {
		var d sdk.Diagnostics
		e := &jobs.Env{Method: methodOf(st), HparamsSet: true}
		p, err := m.input(ctx, st.GetString("base_model"))
		if err != nil {
			d.AttrErrorf(attr("base_model"), "Base model not found", "%v. base_model takes a model id, such as model.base.id or training_run.x.output_model.", err)
			return nil, d
		}
		e.BaseModelPath = p
		if ds := st.GetString("dataset"); ds != "" {
			if err := m.datasetEnv(ctx, e, ds, false); err != nil {
				d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
				return nil, d
			}
		}
		hp, err := jobs.ToJSON(st.Attr("hyperparameters"))
		if err != nil || (hp != nil && !strings.HasPrefix(strings.TrimSpace(string(hp)), "{")) {
			d.AttrErrorf(attr("hyperparameters"), "Invalid hyperparameters", "hyperparameters must be an object, such as { learning_rate = 2e-4, epochs = 3 }.")
			return nil, d
		}
		e.Hyperparameters = hp
		if r := st.GetString("resume_from"); r != "" {
			if !strings.HasPrefix(r, "sha256:") {
				d.AttrErrorf(attr("resume_from"), "Invalid resume_from", "On Kubernetes, resume_from takes a checkpoint's artifact id (sha256:...): the pod cannot read %q on this machine.", r)
				return nil, d
			}
			e.ResumeFrom = r
		}
		return e, d
	},
	finished: func(_ context.Context, _ *meta, st *sdk.Object, res *result) sdk.Diagnostics {
		var d sdk.Diagnostics
		id := res.Outputs["model"]
		if id == "" {
			d.Errorf("The training job left no model", "Its runner's result lists no model output (%s).", res.Reason)
			return d
		}
		st.SetString("output_model", id)
		st.Set("metrics", jobs.NumberMap(res.Metrics))
		return nil
	},
	clear: func(st *sdk.Object) {
		st.SetNull("output_model")
		st.SetNull("metrics")
	},
	imported: func(st *sdk.Object, in map[string]json.RawMessage) {
		setStringFrom(st, in, "base_model", "dataset", "method", "resume_from")
		if hp, ok := in["hyperparameters"]; ok && string(hp) != "{}" {
			if v, err := fromJSON(hp); err == nil {
				st.Set("hyperparameters", v)
			}
		}
	},
}

func methodOf(st sdk.Object) string {
	if m := st.GetString("method"); m != "" {
		return m
	}
	return defaultMethod
}

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
	prepare: func(ctx context.Context, m *meta, st sdk.Object) (*jobs.Env, sdk.Diagnostics) {
		var d sdk.Diagnostics
		e := &jobs.Env{Endpoint: st.GetString("endpoint")}
		if model := st.GetString("model"); model != "" {
			p, err := m.input(ctx, model)
			if err != nil {
				d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as training_run.ft.output_model.", err)
				return nil, d
			}
			e.ModelPath = p
		}
		if ds := st.GetString("dataset"); ds != "" {
			if err := m.datasetEnv(ctx, e, ds, true); err != nil {
				d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
				return nil, d
			}
		}
		return e, d
	},
	secrets: func(st sdk.Object) map[string]string {
		if k := st.GetString("api_key"); k != "" {
			return map[string]string{jobs.EnvAPIKey: k}
		}
		return nil
	},
	finished: func(_ context.Context, _ *meta, st *sdk.Object, res *result) sdk.Diagnostics {
		st.Set("results", jobs.NumberMap(res.Metrics))
		failures := schema.CheckGates(schema.GatesFrom(st.Attr("gate")), res.Metrics)
		st.SetBool("passed", len(failures) == 0)
		var d sdk.Diagnostics
		if len(failures) > 0 {
			msgs := make([]string, len(failures))
			for i, f := range failures {
				msgs[i] = f.Message(res.Metrics)
			}
			sort.Strings(msgs)
			d.Errorf("Evaluation gates failed", "%s.", strings.Join(msgs, "; "))
		}
		return d
	},
	clear: func(st *sdk.Object) {
		st.SetNull("results")
		st.SetNull("passed")
	},
	imported: func(st *sdk.Object, in map[string]json.RawMessage) {
		setStringFrom(st, in, "model", "endpoint", "dataset")
	},
}

func trainingRunResource() *sdk.Resource { return jobResource(trainingKind) }
func evaluationResource() *sdk.Resource  { return jobResource(evaluationKind) }

func jobResource(k *jobKind) *sdk.Resource {
	return &sdk.Resource{
		Schema:   jobBlock(k.kind, nil),
		Validate: validateJob(k.kind),
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			if k.kind == schema.TrainingRun && !planned.Known("method") && req.Config.Known("method") && !req.Config.IsSet("method") {
				planned.SetString("method", defaultMethod)
			}
			return &sdk.ModifyPlanResponse{Planned: planned, RequiresReplace: k.modifyPlan(req, &planned)}
		},
		Create: k.create,
		Read:   k.read,
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return &sdk.Response{State: done(req.Planned)}
		},
		Delete: k.delete,
		Import: k.importJob,
	}
}

func setStringFrom(st *sdk.Object, in map[string]json.RawMessage, names ...string) {
	for _, n := range names {
		var s string
		if raw, ok := in[n]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
			st.SetString(n, s)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
