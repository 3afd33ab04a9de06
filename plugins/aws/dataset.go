package aws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

const defaultSeed = 1

// datasetKind runs a dataset's transform as a SageMaker training job: the
// source is channel `input` (LLMOPS_INPUT_PATH), the job writes
// LLMOPS_OUTPUT_DIR/data.<format>, and the provider builds the bundle
// (data, splits, dataset.json, as every provider does) from it.
var datasetKind = &jobKind{
	kind: schema.Dataset, prefix: "transform",
	identity: func(st sdk.Object) map[string]any {
		return map[string]any{"source": st.GetString("source_digest"), "format": datasetFormat(st)}
	},
	prepare: func(ctx context.Context, m *meta, st sdk.Object) (*prepared, sdk.Diagnostics) {
		var d sdk.Diagnostics
		src, err := m.resolveSource(st.GetString("source"))
		if err != nil {
			d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
			return nil, d
		}
		info, err := m.store.PutContext(ctx, src, artifacts.PutOptions{})
		if err != nil {
			d.FromError("Cannot store the dataset's source", err)
			return nil, d
		}
		name := "data." + datasetFormat(st)
		p := &prepared{channels: []channel{{name: "input", id: string(info.ID), file: name}}}
		p.env.InputPath = channelRoot + "input/" + name
		return p, d
	},
	finished: func(_ context.Context, m *meta, st *sdk.Object, out string) sdk.Diagnostics {
		data := filepath.Join(out, "data."+datasetFormat(*st))
		if _, err := os.Stat(data); err != nil {
			var d sdk.Diagnostics
			d.Errorf("The transform left no data", "Its output (%s) holds no data.%s: the command must write $LLMOPS_OUTPUT_DIR/data.%s.", st.GetString("output_uri"), datasetFormat(*st), datasetFormat(*st))
			return d
		}
		return m.buildDataset(st, data, st.GetString("source_digest"))
	},
	clear: func(st *sdk.Object) {
		for _, a := range []string{"id", "digest", "path", "rows", "size_bytes", "splits"} {
			st.SetNull(a)
		}
	},
}

func datasetResource() *sdk.Resource {
	computed := func(d string) *sdk.Attribute { return sdk.Attr(cty.String).Computed().Description(d) }
	b := kindsdk.Block(schema.Dataset, sdk.Block{
		Attributes: sdk.Attributes{
			"status":         computed("`running`, `succeeded`, `failed` or `stopped` (the transform's job)."),
			"job_id":         computed("The SageMaker training job of the transform."),
			"identity":       computed("Digest of the transform's inputs."),
			"log_path":       computed("Where the transform's log is (CloudWatch Logs)."),
			"started_at":     computed("When the transform started (RFC 3339)."),
			"finished_at":    computed("When the transform finished (RFC 3339)."),
			"instance_type":  computed("The instance type the transform ran on."),
			"output_uri":     computed("The transform's output archive in S3."),
			"failure_reason": computed("SageMaker's reason, when the transform failed or was stopped."),
		},
		Blocks: sdk.Blocks{"aws": awsBlock()},
	})
	return &sdk.Resource{
		Schema:   b,
		Validate: validateDataset,
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			if d := planDataset(req, &planned); d.HasErrors() {
				return &sdk.ModifyPlanResponse{Diagnostics: d}
			}
			req.Planned = planned
			if !req.Config.IsSet("transform") {
				return &sdk.ModifyPlanResponse{Planned: planned}
			}
			return datasetKind.modifyPlan(ctx, req)
		},
		Create: applyDataset,
		Read:   datasetKind.read,
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return applyDataset(ctx, &sdk.CreateRequest{TypeName: req.TypeName, Config: req.Config, Planned: req.Planned, Private: req.Private, Meta: req.Meta, Sensitive: req.Sensitive, Address: req.Address})
		},
		Delete: datasetKind.delete,
	}
}

func validateDataset(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Dataset, cfg.Value)
	if cfg.Known("source") && !strings.HasPrefix(cfg.GetString("source"), "file://") {
		d.AttrErrorf(attr("source"), "Unsupported dataset source", "The aws provider reads datasets from file:// paths (relative to the configuration directory); %q is not one.", cfg.GetString("source"))
	}
	if cfg.Known("format") && cfg.IsSet("format") {
		d = append(d, schema.ValidateOneOf(cfg.Attr("format"), attr("format"), "format", jobs.DatasetFormats...)...)
	}
	if cfg.Known("source") && cfg.Known("format") && !cfg.IsSet("format") && jobs.InferFormat(cfg.GetString("source")) == "" {
		d.AttrErrorf(attr("format"), "Unknown data format", "The format of %q cannot be told from its extension: set format to one of %s.", cfg.GetString("source"), strings.Join(jobs.DatasetFormats, ", "))
	}
	if t := cfg.Attr("transform"); t.IsKnown() && !t.IsNull() {
		if a := cfg.Attr("aws"); a.IsKnown() && (a.IsNull() || nested(a, "image") == cty.NilVal && a.GetAttr("image").IsKnown()) {
			d.AttrErrorf(attr("aws"), "Missing aws { image }", "On SageMaker the transform runs in a container: add aws { image = \"ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG\" }.")
		}
	}
	return d
}

func datasetFormat(st sdk.Object) string {
	if f := st.GetString("format"); f != "" {
		return f
	}
	return jobs.InferFormat(st.GetString("source"))
}

// resolveSource turns a file:// source into a path on this host.
func (m *meta) resolveSource(src string) (string, error) {
	rest, ok := strings.CutPrefix(src, "file://")
	if !ok || rest == "" {
		return "", fmt.Errorf("%q is not a file:// source", src)
	}
	if !filepath.IsAbs(rest) {
		rest = filepath.Join(m.workDir, rest)
	}
	fi, err := os.Stat(rest)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%s is a directory; a dataset source is one jsonl, csv or txt file", rest)
	}
	return rest, nil
}

// planDataset hashes the source at plan time (through the store's digest
// cache), so an edited source shows as an update.
func planDataset(req *sdk.ModifyPlanRequest, planned *sdk.Object) sdk.Diagnostics {
	var d sdk.Diagnostics
	cfg := req.Config
	if !cfg.Known("source") {
		return nil
	}
	m := metaOf(req.Meta)
	p, err := m.resolveSource(cfg.GetString("source"))
	if err != nil {
		d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
		return d
	}
	dg, err := m.store.Digest(p)
	if err != nil {
		d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
		return d
	}
	if !planned.Known("format") {
		planned.SetString("format", datasetFormat(cfg))
	}
	if !req.IsCreate() && req.Prior.GetString("status") == jobs.StatusSucceeded {
		same := req.Prior.GetString("source_digest") == string(dg.ID)
		for _, a := range []string{"format", "split", "seed", "transform", "aws"} {
			if !req.Prior.Attr(a).RawEquals(cfg.Attr(a)) && !(a == "format" && !cfg.IsSet("format")) {
				same = false
			}
		}
		if same {
			return nil
		}
	}
	planned.SetString("source_digest", string(dg.ID))
	if cfg.IsSet("transform") {
		for _, a := range []string{"digest", "size_bytes", "status", "job_id", "identity", "log_path", "started_at", "finished_at", "instance_type", "output_uri", "failure_reason"} {
			planned.SetUnknown(a)
		}
	} else {
		if _, err := jobs.CheckDatasetFile(p, datasetFormat(cfg), strings.TrimPrefix(cfg.GetString("source"), "file://")); err != nil {
			var re *jobs.RowError
			if errors.As(err, &re) {
				d.AttrErrorf(attr("source"), "Invalid dataset row", "%s\n\n%s Nothing was changed.", re, re.Fix())
			} else {
				d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
			}
			return d
		}
		planned.SetString("digest", string(dg.ID))
		planned.SetInt("size_bytes", dg.Size)
	}
	for _, a := range []string{"id", "path", "rows", "splits"} {
		planned.SetUnknown(a)
	}
	return nil
}

// applyDataset makes a dataset version: with a transform, through a
// SageMaker job (pending); without, by building the bundle at once.
func applyDataset(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	src, err := m.resolveSource(st.GetString("source"))
	if err != nil {
		var d sdk.Diagnostics
		d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	dg, err := m.store.Digest(src)
	if err != nil {
		var d sdk.Diagnostics
		d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	st.SetString("source_digest", string(dg.ID))
	st.SetString("format", datasetFormat(st))
	if st.IsSet("transform") {
		return datasetKind.create(ctx, &sdk.CreateRequest{TypeName: req.TypeName, Config: req.Config, Planned: st, Private: req.Private, Meta: req.Meta, Sensitive: req.Sensitive, Address: req.Address})
	}
	st = done(st)
	for _, a := range []string{"job_id", "identity", "log_path", "started_at", "finished_at", "instance_type", "output_uri", "failure_reason"} {
		st.SetNull(a)
	}
	st.SetString("status", jobs.StatusSucceeded)
	d := m.buildDataset(&st, src, string(dg.ID))
	return &sdk.Response{State: st, Diagnostics: d}
}

// buildDataset splits the data into a bundle, stores it, and sets the
// dataset's computed attributes.
func (m *meta) buildDataset(st *sdk.Object, data, srcDigest string) sdk.Diagnostics {
	var d sdk.Diagnostics
	seed := int64(defaultSeed)
	if st.IsSet("seed") {
		seed = st.GetInt("seed")
	}
	dir, err := os.MkdirTemp(m.store.Root(), ".aws-dataset-")
	if err != nil {
		d.FromError("Cannot build the dataset", err)
		return d
	}
	defer os.RemoveAll(dir)
	info, err := jobs.BuildDatasetBundle(dir, data, datasetFormat(*st), srcDigest, priceMap(st.Attr("split")), seed)
	if err != nil {
		d.AttrErrorf(attr("source"), "Invalid dataset", "%v", err)
		return d
	}
	stored, err := m.store.Put(dir, artifacts.PutOptions{Mode: artifacts.Move})
	if err != nil {
		d.FromError("Cannot store the dataset", err)
		return d
	}
	st.SetString("id", string(stored.ID))
	st.SetString("digest", info.Digest)
	st.SetString("path", filepath.Join(stored.Path, info.Data))
	st.SetInt("rows", info.Rows)
	if fi, err := os.Stat(filepath.Join(stored.Path, info.Data)); err == nil {
		st.SetInt("size_bytes", fi.Size())
	}
	splits := map[string]cty.Value{}
	for name, e := range info.Splits {
		splits[name] = cty.ObjectVal(map[string]cty.Value{
			"path": cty.StringVal(filepath.Join(stored.Path, filepath.FromSlash(e.File))), "digest": cty.StringVal(e.Digest), "rows": cty.NumberIntVal(e.Rows),
		})
	}
	if len(splits) == 0 {
		st.Set("splits", cty.MapValEmpty(schema.SplitType))
	} else {
		st.Set("splits", cty.MapVal(splits))
	}
	return d
}
