package slurm

import (
	"context"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// jobBlock is the schema of a kind run as a Slurm job: the core schema,
// plus where the job goes (partition, account, qos, overriding the
// provider's), the number of attempts made, and the retry policy.
func jobBlock(kind string, extra sdk.Attributes) sdk.Block {
	attrs := sdk.Attributes{
		"partition": sdk.Attr(cty.String).Optional().Description("The partition for this job (default: the provider's)."),
		"account":   sdk.Attr(cty.String).Optional().Description("The account for this job (default: the provider's)."),
		"qos":       sdk.Attr(cty.String).Optional().Description("The quality of service for this job (default: the provider's)."),
		"attempts":  sdk.Attr(cty.Number).Computed().UseStateForUnknown().Description("How many times the job was submitted (retries included)."),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	b := kindsdk.Block(kind, sdk.Block{Attributes: attrs})
	// `retry` is reserved in the core schemas for a later shared version;
	// the slurm provider defines it now, in the shape the issue gives.
	b.Blocks["retry"] = sdk.SingleBlock(sdk.Block{
		Description: "Resubmit the job when it ends in one of the listed ways; the new attempt gets the latest checkpoint under the previous attempt's $LLMOPS_OUTPUT_DIR/checkpoints as LLMOPS_RESUME_FROM.",
		Attributes: sdk.Attributes{
			"attempts": sdk.Attr(cty.Number).Optional().Description("Attempts in all, the first included (default 1: no retry)."),
			"on": sdk.Attr(cty.List(cty.String)).Optional().
				Description("The endings that allow another attempt: `preempted`, `node_fail`, `failed` (the command exited non-zero), `timeout`, `oom`. Default [\"preempted\", \"node_fail\"]."),
		},
	})
	return b
}

// validateJob is the Validate of job kinds: the core checks, then the
// provider's.
func validateJob(kind string) func(context.Context, *sdk.ValidateRequest) sdk.Diagnostics {
	return func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
		cfg := req.Config
		d := schema.Validate(kind, cfg.Value)
		if kind == schema.Evaluation && cfg.Known("command") && !cfg.IsSet("command") {
			d.AttrErrorf(attr("command"), "Missing command", "The slurm provider has no built-in evaluations: set command, e.g. [\"python3\", \"eval.py\"], which writes $LLMOPS_OUTPUT_DIR/metrics.json.")
		}
		if kind != schema.Dataset && cfg.Known("env") {
			if err := jobs.CheckExtra(cfg.GetStringMap("env")); err != nil {
				d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
			} else if err := checkEnv(cfg.GetStringMap("env")); err != nil {
				d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
			}
		}
		if cfg.Has("command") && cfg.Known("command") { // a dataset has no command
			for i, a := range cfg.GetStrings("command") {
				if err := checkWord("the command", a); err != nil {
					d.AttrErrorf(attr("command").IndexInt(i), "Invalid command", "%v", err)
				}
			}
		}
		res := cfg.Attr("resources")
		rp := cty.GetAttrPath("resources")
		if res != cty.NilVal && res.IsKnown() && !res.IsNull() {
			for _, a := range []string{"gpus", "nodes", "cpus"} {
				min := int64(1)
				if a == "gpus" {
					min = 0
				}
				d = append(d, schema.ValidateInteger(res.GetAttr(a), rp.GetAttr(a), min, 1<<20)...)
			}
			if t := nestedString(res, "gpu_type"); t != "" && (strings.ContainsAny(t, ":, \t\n") || t != strings.TrimSpace(t)) {
				d.AttrErrorf(rp.GetAttr("gpu_type"), "Invalid GPU type", "%q cannot name a Slurm GRES type (no ':', ',' or spaces); use the type as the cluster's gres.conf names it, e.g. \"a100\", or \"any\".", t)
			}
		}
		if rv := cfg.Attr("retry"); rv != cty.NilVal && rv.IsKnown() && !rv.IsNull() {
			retp := cty.GetAttrPath("retry")
			d = append(d, schema.ValidateInteger(rv.GetAttr("attempts"), retp.GetAttr("attempts"), 1, 100)...)
			if on := rv.GetAttr("on"); on.IsWhollyKnown() && !on.IsNull() {
				i := 0
				for it := on.ElementIterator(); it.Next(); i++ {
					_, e := it.Element()
					if !e.IsNull() && !contains(retryable, e.AsString()) {
						d.AttrErrorf(retp.GetAttr("on").IndexInt(i), "Invalid retry condition", "%q is not one of %s.", e.AsString(), strings.Join(retryable, ", "))
					}
				}
			}
		}
		return d
	}
}

// jobResource assembles the resource of a job kind.
func jobResource(k *jobKind, schemaBlock sdk.Block, modify func(ctx context.Context, req *sdk.ModifyPlanRequest, planned *sdk.Object) sdk.Diagnostics, update func(context.Context, *sdk.UpdateRequest) *sdk.Response) *sdk.Resource {
	return &sdk.Resource{
		Schema:   schemaBlock,
		Validate: validateJob(k.kind),
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			var d sdk.Diagnostics
			if modify != nil {
				d = modify(ctx, req, &planned)
			}
			replace := k.modifyPlan(req, &planned)
			return &sdk.ModifyPlanResponse{Planned: planned, RequiresReplace: replace, Diagnostics: d}
		},
		Create: k.create,
		Read:   k.read,
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			if update != nil {
				return update(ctx, req)
			}
			return &sdk.Response{State: done(req.Planned)}
		},
		Delete: k.delete,
	}
}
