package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

const defaultMethod = "full"

// awsBlock is the `aws { }` block of a kind run as a SageMaker job.
func awsBlock() *sdk.NestedBlock {
	return sdk.SingleBlock(sdk.Block{
		Description: "How the job runs on SageMaker (docs/aws.md).",
		Attributes: sdk.Attributes{
			"image":          sdk.Attr(cty.String).Optional().Description("The container image (ECR) holding the command and its dependencies. Required."),
			"instance_type":  sdk.Attr(cty.String).Optional().Description("The SageMaker instance type, e.g. `ml.p4d.24xlarge` (default: derived from resources by the table of docs/aws.md)."),
			"instance_count": sdk.Attr(cty.Number).Optional().Description("Instances (default resources.nodes, else 1)."),
			"spot":           sdk.Attr(cty.Bool).Optional().Description("Managed spot training: cheaper, may be interrupted; checkpoints in LLMOPS_OUTPUT_DIR/checkpoints are kept in S3 and restored, and LLMOPS_RESUME_FROM names them."),
			"max_wait":       sdk.Attr(cty.String).Optional().Description("With spot: how long to wait for spot capacity and interruptions in all (default twice max_duration)."),
			"volume_size_gb": sdk.Attr(cty.Number).Optional().Description("The instance's storage in GB (default 100)."),
		},
	})
}

// jobBlock is the schema of a kind run as a SageMaker job.
func jobBlock(kind string) sdk.Block {
	return kindsdk.Block(kind, sdk.Block{
		Attributes: sdk.Attributes{
			"instance_type":  sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The instance type the job ran on."),
			"output_uri":     sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The job's output archive in S3 (model.tar.gz: what it wrote to LLMOPS_OUTPUT_DIR)."),
			"failure_reason": sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("SageMaker's reason, when the job failed or was stopped."),
		},
		Blocks: sdk.Blocks{"aws": awsBlock()},
	})
}

// validateJob is the Validate of job kinds: the core checks, then the
// provider's.
func validateJob(kind string) func(context.Context, *sdk.ValidateRequest) sdk.Diagnostics {
	return func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
		cfg := req.Config
		d := schema.Validate(kind, cfg.Value)
		if kind == schema.Evaluation && cfg.Known("command") && !cfg.IsSet("command") {
			d.AttrErrorf(attr("command"), "Missing command", "The aws provider has no built-in evaluations: set command, e.g. [\"python3\", \"eval.py\"], which writes $LLMOPS_OUTPUT_DIR/metrics.json.")
		}
		if kind == schema.Evaluation && cfg.Known("api_key") && cfg.IsSet("api_key") {
			d.AttrErrorf(attr("api_key"), "api_key on SageMaker", "SageMaker shows a training job's environment to anyone who may describe the job, so the aws provider cannot pass api_key. Evaluate endpoints that need a key on the local or slurm provider.")
		}
		a := cfg.Attr("aws")
		if a.IsKnown() && (a.IsNull() || nested(a, "image") == cty.NilVal && a.GetAttr("image").IsKnown()) {
			d.AttrErrorf(attr("aws"), "Missing aws { image }", "SageMaker runs the job in a container: add aws { image = \"ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG\" }.")
		}
		if t := nestedString(a, "instance_type"); t != "" && !strings.HasPrefix(t, "ml.") {
			d.AttrErrorf(attr("aws").GetAttr("instance_type"), "Invalid instance_type", "%q is not a SageMaker instance type; they start with \"ml.\", e.g. \"ml.g5.xlarge\" (docs/aws.md).", t)
		}
		return d
	}
}

// jobResource assembles the resource of a job kind.
func jobResource(k *jobKind) *sdk.Resource {
	return &sdk.Resource{
		Schema:     jobBlock(k.kind),
		Validate:   validateJob(k.kind),
		ModifyPlan: k.modifyPlan,
		Create:     k.create,
		Read:       k.read,
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return &sdk.Response{State: done(req.Planned)}
		},
		Delete: k.delete,
		Import: sdk.ImportByID("job_id"),
	}
}

var trainingKind = &jobKind{
	kind: schema.TrainingRun, prefix: "train",
	identity: func(st sdk.Object) map[string]any {
		in := map[string]any{"base_model": st.GetString("base_model"), "method": methodOf(st)}
		if ds := st.GetString("dataset"); ds != "" {
			in["dataset"] = ds
		}
		hp, _ := toJSON(st.Attr("hyperparameters"))
		if len(hp) == 0 {
			hp = json.RawMessage("{}")
		}
		in["hyperparameters"] = hp
		if r := st.GetString("resume_from"); r != "" {
			in["resume_from"] = r
		}
		return in
	},
	prepare: func(_ context.Context, m *meta, st sdk.Object) (*prepared, sdk.Diagnostics) {
		var d sdk.Diagnostics
		p := &prepared{channels: []channel{{name: "model", id: st.GetString("base_model"), file: "model"}}}
		p.env.BaseModelPath = channelRoot + "model"
		if ds := st.GetString("dataset"); ds != "" {
			if err := m.datasetChannel(p, ds, false); err != nil {
				d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
				return nil, d
			}
		}
		hp, err := toJSON(st.Attr("hyperparameters"))
		if err != nil || (hp != nil && !strings.HasPrefix(strings.TrimSpace(string(hp)), "{")) {
			d.AttrErrorf(attr("hyperparameters"), "Invalid hyperparameters", "hyperparameters must be an object, such as { learning_rate = 2e-4, epochs = 3 }.")
			return nil, d
		}
		p.env.Hyperparameters, p.env.HparamsSet = hp, true
		p.env.Method = methodOf(st)
		if r := st.GetString("resume_from"); r != "" {
			if !strings.HasPrefix(r, "sha256:") {
				d.AttrErrorf(attr("resume_from"), "Checkpoint not in the artifact store", "On SageMaker, resume_from takes an artifact id (a checkpoint stored in the artifact store), not a path: %q.", r)
				return nil, d
			}
			p.channels = append(p.channels, channel{name: "resume", id: r, file: "checkpoint"})
			p.env.ResumeFrom = channelRoot + "resume"
		}
		return p, d
	},
	finished: func(ctx context.Context, m *meta, st *sdk.Object, out string) sdk.Diagnostics {
		var d sdk.Diagnostics
		model := filepath.Join(out, "model")
		if fi, err := os.Stat(model); err != nil || !fi.IsDir() {
			d.Errorf("The training job left no model", "Its output (%s) holds no model/ directory: the command must write the trained model to $LLMOPS_OUTPUT_DIR/model/.", st.GetString("output_uri"))
			return d
		}
		info, err := m.store.PutContext(ctx, model, artifacts.PutOptions{Mode: artifacts.Move})
		if err != nil {
			d.FromError("Cannot store the trained model", err)
			return d
		}
		st.SetString("output_model", string(info.ID))
		st.Set("metrics", numberMap(readMetrics(out)))
		return d
	},
	clear: func(st *sdk.Object) {
		st.SetNull("output_model")
		st.SetNull("metrics")
	},
	adopt: func(st *sdk.Object, job *sagemaker.DescribeTrainingJobOutput) {
		adoptCommon(st, job)
		ch := channelIDs(job)
		st.SetString("base_model", ch["model"])
		if ch["dataset"] != "" {
			st.SetString("dataset", ch["dataset"])
		}
		if ch["resume"] != "" {
			st.SetString("resume_from", ch["resume"])
		}
		st.SetString("method", job.Environment[jobs.EnvMethod])
		if hp := job.Environment[jobs.EnvHparams]; hp != "" && hp != "{}" {
			if ty, err := ctyjson.ImpliedType([]byte(hp)); err == nil {
				if v, err := ctyjson.Unmarshal([]byte(hp), ty); err == nil {
					st.Set("hyperparameters", v)
				}
			}
		}
	},
}

var evaluationKind = &jobKind{
	kind: schema.Evaluation, prefix: "eval",
	identity: func(st sdk.Object) map[string]any {
		in := map[string]any{}
		for _, a := range []string{"model", "endpoint", "dataset"} {
			if v := st.GetString(a); v != "" {
				in[a] = v
			}
		}
		return in
	},
	prepare: func(_ context.Context, m *meta, st sdk.Object) (*prepared, sdk.Diagnostics) {
		var d sdk.Diagnostics
		p := &prepared{}
		if model := st.GetString("model"); model != "" {
			p.channels = append(p.channels, channel{name: "model", id: model, file: "model"})
			p.env.ModelPath = channelRoot + "model"
		}
		p.env.Endpoint = st.GetString("endpoint")
		if ds := st.GetString("dataset"); ds != "" {
			if err := m.datasetChannel(p, ds, true); err != nil {
				d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
				return nil, d
			}
		}
		return p, d
	},
	finished: func(_ context.Context, _ *meta, st *sdk.Object, out string) sdk.Diagnostics {
		metrics, _, err := jobs.ReadMetrics(out)
		if err != nil {
			var d sdk.Diagnostics
			d.Errorf("Invalid metrics.json", "The evaluation's output (%s) has no valid metrics.json: %v.", st.GetString("output_uri"), err)
			return d
		}
		st.Set("results", numberMap(metrics))
		return checkGates(st, metrics)
	},
	clear: func(st *sdk.Object) {
		st.SetNull("results")
		st.SetBool("passed", false)
	},
	adopt: func(st *sdk.Object, job *sagemaker.DescribeTrainingJobOutput) {
		adoptCommon(st, job)
		ch := channelIDs(job)
		for _, a := range []string{"model", "dataset"} {
			if ch[a] != "" {
				st.SetString(a, ch[a])
			}
		}
		if e := job.Environment[jobs.EnvEndpoint]; e != "" {
			st.SetString("endpoint", e)
		}
	},
}

// datasetChannel adds a dataset's channel and variables.
func (m *meta) datasetChannel(p *prepared, id string, eval bool) error {
	dir, err := m.store.Resolve(id)
	if err != nil {
		return err
	}
	info, err := jobs.ReadDatasetInfo(dir)
	if err != nil {
		return err
	}
	p.channels = append(p.channels, channel{name: "dataset", id: id, file: "data"})
	info.DatasetEnv(&p.env, channelRoot+"dataset", eval)
	return nil
}

// adoptCommon sets what every imported job gives: its command, image and
// the user's env.
func adoptCommon(st *sdk.Object, job *sagemaker.DescribeTrainingJobOutput) {
	if as := job.AlgorithmSpecification; as != nil {
		if len(as.ContainerEntrypoint) > 0 {
			st.Set("command", stringList(as.ContainerEntrypoint))
		}
		img := cty.StringVal(awssdk.ToString(as.TrainingImage))
		ty := st.Attr("aws").Type()
		vals := map[string]cty.Value{}
		for name, t := range ty.AttributeTypes() {
			vals[name] = cty.NullVal(t)
		}
		vals["image"] = img
		if job.ResourceConfig != nil {
			vals["instance_type"] = cty.StringVal(string(job.ResourceConfig.InstanceType))
		}
		st.Set("aws", cty.ObjectVal(vals))
	}
	env := map[string]cty.Value{}
	for k, v := range job.Environment {
		if !jobs.IsContractVar(k) && !strings.HasPrefix(k, "LLMOPS_SPLIT_") {
			env[k] = cty.StringVal(v)
		}
	}
	if len(env) > 0 {
		st.Set("env", cty.MapVal(env))
	}
}

// channelIDs maps each channel of a job to the artifact id its view holds.
func channelIDs(job *sagemaker.DescribeTrainingJobOutput) map[string]string {
	out := map[string]string{}
	for _, c := range job.InputDataConfig {
		if c.DataSource == nil || c.DataSource.S3DataSource == nil {
			continue
		}
		uri := strings.TrimSuffix(awssdk.ToString(c.DataSource.S3DataSource.S3Uri), "/")
		if i := strings.LastIndex(uri, "/views/"); i >= 0 {
			out[awssdk.ToString(c.ChannelName)] = "sha256:" + uri[i+len("/views/"):]
		}
	}
	return out
}

func stringList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func methodOf(st sdk.Object) string {
	if m := st.GetString("method"); m != "" {
		return m
	}
	return defaultMethod
}

// toJSON encodes a value as JSON (nil for null).
func toJSON(v cty.Value) (json.RawMessage, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	return b, err
}

// readMetrics reads the final metrics: metrics.json, else the last line of
// metrics.jsonl.
func readMetrics(dir string) map[string]float64 {
	metrics, _, err := jobs.ReadMetrics(dir)
	if err == nil && metrics != nil {
		return metrics
	}
	_, last, _ := jobs.LatestMetrics(filepath.Join(dir, jobs.MetricsLinesFile))
	return last
}

// checkGates sets passed and fails the evaluation on a failed gate.
func checkGates(st *sdk.Object, results map[string]float64) sdk.Diagnostics {
	var d sdk.Diagnostics
	failures := schema.CheckGates(schema.GatesFrom(st.Attr("gate")), results)
	st.SetBool("passed", len(failures) == 0)
	for _, f := range failures {
		detail := fmt.Sprintf("The evaluation %s measured %s = %.4g, and its gate requires %s.", st.GetString("id"), f.Gate.Metric, f.Value, f.Gate)
		if f.Missing {
			names := make([]string, 0, len(results))
			for n := range results {
				names = append(names, n)
			}
			sort.Strings(names)
			detail = fmt.Sprintf("The evaluation %s reported these metrics: %s. Fix the gate's metric name, or make the command write %q to metrics.json.", st.GetString("id"), strings.Join(names, ", "), f.Gate.Metric)
		}
		detail += " The evaluation is recorded as failed, and nothing that depends on it is applied."
		d.AttrErrorf(cty.GetAttrPath("gate").IndexInt(f.Index), f.Message(results), "%s", detail)
	}
	return d
}
