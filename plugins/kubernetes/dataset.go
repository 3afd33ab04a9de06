package kubernetes

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
)

const defaultSeed = 1

// datasetKind runs a dataset's transform as a Job: the provider stores the
// source (file:// on the llmops host) and pushes it to the remote store;
// the runner fetches it by digest (LLMOPS_INPUT_PATH), runs the transform
// and pushes LLMOPS_OUTPUT_DIR/data.<format>; the provider then builds the
// bundle (data, splits, dataset.json: the layout every provider reads)
// from the transformed data, as the local and Slurm providers do. A
// dataset without a transform runs no Job: its bundle is built at once.
var datasetKind = &jobKind{
	kind: schema.Dataset, prefix: "transform", collect: collectData, idIsArtifact: true,
	argv:    func(st sdk.Object) []string { return nestedStrings(st.Attr("transform"), "command") },
	env:     func(st sdk.Object) map[string]string { return nestedStringMap(st.Attr("transform"), "env") },
	cmdPath: attr("transform").GetAttr("command"), envPath: attr("transform").GetAttr("env"),
	format: datasetFormat,
	identity: func(st sdk.Object) (map[string]any, error) {
		return map[string]any{"source": st.GetString("source_digest"), "format": datasetFormat(st)}, nil
	},
	prepare: func(ctx context.Context, m *meta, st sdk.Object) (*jobs.Env, sdk.Diagnostics) {
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
		// The pod fetches it by digest: LLMOPS_INPUTS names it.
		if err := m.store.Push(ctx, info.ID); err != nil {
			d.FromError("Cannot push the dataset's source to the remote artifact store", err)
			return nil, d
		}
		return &jobs.Env{InputPath: info.Path}, d
	},
	finished: func(ctx context.Context, m *meta, st *sdk.Object, res *result) sdk.Diagnostics {
		var d sdk.Diagnostics
		id := res.Outputs[collectData]
		if id == "" {
			d.Errorf("The transform left no data", "Its runner's result lists no data output (%s).", res.Reason)
			return d
		}
		p, err := m.store.ResolveContext(ctx, id)
		if err != nil {
			d.FromError("Cannot fetch the transformed data from the artifact store", err)
			return d
		}
		return m.buildDataset(ctx, st, p, st.GetString("source_digest"))
	},
	clear: func(st *sdk.Object) {
		for _, a := range []string{"id", "digest", "path", "rows", "size_bytes", "splits"} {
			st.SetNull(a)
		}
	},
}

func datasetResource() *sdk.Resource {
	k := datasetKind
	// Kept by an update that rebuilds nothing (a new description);
	// planDataset plans them unknown when the version is rebuilt.
	computed := func(d string) *sdk.Attribute {
		return sdk.Attr(cty.String).Computed().UseStateForUnknown().Description(d)
	}
	b := jobBlock(schema.Dataset, sdk.Attributes{
		"status":      computed("`succeeded` once the dataset is built; while its transform runs `running`, else how the transform ended (`failed`, `timeout`, ...)."),
		"job_id":      computed("The transform's Job (NAMESPACE/NAME, of its last attempt); null without a transform."),
		"identity":    computed("Digest of the transform's inputs (source, format, command, env)."),
		"log_path":    computed("How to read the transform's log (kubectl logs ...)."),
		"started_at":  computed("When the transform started (RFC 3339)."),
		"finished_at": computed("When the transform finished (RFC 3339)."),
	})
	return &sdk.Resource{
		Schema:   b,
		Validate: validateDataset,
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			d := planDataset(ctx, req, &planned)
			if d.HasErrors() {
				return &sdk.ModifyPlanResponse{Diagnostics: d}
			}
			var replace []cty.Path
			if req.Config.IsSet("transform") {
				replace = k.modifyPlan(req, &planned)
			}
			return &sdk.ModifyPlanResponse{Planned: planned, RequiresReplace: replace, Diagnostics: d}
		},
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			return applyDataset(ctx, req)
		},
		Read: k.read,
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			if req.Planned.Known("id") && req.Planned.GetString("id") != "" {
				// The data is unchanged (planDataset kept the version):
				// only attributes such as description changed.
				return &sdk.Response{State: done(req.Planned)}
			}
			return applyDataset(ctx, &sdk.CreateRequest{TypeName: req.TypeName, Config: req.Config, Planned: req.Planned, Private: req.Private, Meta: req.Meta, Address: req.Address})
		},
		Delete: k.delete,
	}
}

func validateDataset(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Dataset, cfg.Value)
	if cfg.Known("source") && !strings.HasPrefix(cfg.GetString("source"), "file://") {
		d.AttrErrorf(attr("source"), "Unsupported dataset source", "The kubernetes provider reads datasets from file:// paths on the llmops host (relative to the configuration directory) and pushes them to the artifact store; %q is not one.", cfg.GetString("source"))
	}
	if cfg.Known("format") && cfg.IsSet("format") {
		d = append(d, schema.ValidateOneOf(cfg.Attr("format"), attr("format"), "format", jobs.DatasetFormats...)...)
	}
	if cfg.Known("source") && cfg.Known("format") && !cfg.IsSet("format") && jobs.InferFormat(cfg.GetString("source")) == "" {
		d.AttrErrorf(attr("format"), "Unknown data format", "The format of %q cannot be told from its extension: set format to one of %s.", cfg.GetString("source"), strings.Join(jobs.DatasetFormats, ", "))
	}
	if t := cfg.Attr("transform"); t != cty.NilVal && t.IsWhollyKnown() && !t.IsNull() {
		if err := jobs.CheckExtra(nestedStringMap(t, "env")); err != nil {
			d.AttrErrorf(attr("transform").GetAttr("env"), "Invalid env", "%v", err)
		}
	}
	return append(d, validateJobBlocks(cfg)...)
}

func datasetFormat(st sdk.Object) string {
	if f := st.GetString("format"); f != "" {
		return f
	}
	return jobs.InferFormat(st.GetString("source"))
}

// resolveSource turns a file:// source into a path on this host (relative
// sources are relative to the configuration directory).
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
// cache), so an edited source shows as an update, and checks its rows
// when no transform rewrites them.
func planDataset(_ context.Context, req *sdk.ModifyPlanRequest, planned *sdk.Object) sdk.Diagnostics {
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
		for _, a := range []string{"format", "split", "seed", "transform"} {
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
		planned.SetUnknown("digest")
		planned.SetUnknown("size_bytes")
		for _, a := range []string{"status", "job_id", "identity", "log_path", "started_at", "finished_at", "attempts", "namespace"} {
			planned.SetUnknown(a)
		}
	} else {
		// A malformed row would fail the apply, after the plan's
		// replacements of the dataset's dependents had begun: fail here.
		if d := checkRows(p, datasetFormat(cfg), cfg.GetString("source")); d.HasErrors() {
			return d
		}
		planned.SetString("digest", string(dg.ID))
		planned.SetInt("size_bytes", dg.Size)
		for _, a := range []string{"status", "job_id", "identity", "log_path", "started_at", "finished_at", "attempts", "namespace"} {
			planned.SetUnknown(a)
		}
	}
	for _, a := range []string{"id", "path", "rows", "splits"} {
		planned.SetUnknown(a)
	}
	return nil
}

// checkRows checks every row of a dataset's data file at plan time. A bad
// row is an error on source naming file:line.
func checkRows(path, format, source string) sdk.Diagnostics {
	var d sdk.Diagnostics
	if format == "" {
		return d // validateDataset reports the unknown format
	}
	_, err := jobs.CheckDatasetFile(path, format, strings.TrimPrefix(source, "file://"))
	var re *jobs.RowError
	switch {
	case errors.As(err, &re):
		d.AttrErrorf(attr("source"), "Invalid dataset row", "%s\n\n%s Nothing was changed.", re, re.Fix())
	case err != nil:
		d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
	}
	return d
}

// applyDataset makes a dataset version: with a transform, through a Job
// (pending); without, by building the bundle from the source at once.
func applyDataset(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	src, err := m.resolveSource(st.GetString("source"))
	if err != nil {
		return &sdk.Response{Diagnostics: diagAt(attr("source"), "Cannot read the dataset", err)}
	}
	dg, err := m.store.Digest(src)
	if err != nil {
		return &sdk.Response{Diagnostics: diagAt(attr("source"), "Cannot read the dataset", err)}
	}
	st.SetString("source_digest", string(dg.ID))
	st.SetString("format", datasetFormat(st))
	if st.IsSet("transform") {
		return datasetKind.create(ctx, &sdk.CreateRequest{TypeName: req.TypeName, Config: req.Config, Planned: st, Private: req.Private, Meta: req.Meta, Address: req.Address, Sensitive: req.Sensitive})
	}
	st = done(st)
	for _, a := range []string{"job_id", "identity", "log_path", "started_at", "finished_at", "namespace"} {
		st.SetNull(a)
	}
	st.SetString("status", jobs.StatusSucceeded)
	st.SetInt("attempts", 0)
	d := m.buildDataset(ctx, &st, src, string(dg.ID))
	return &sdk.Response{State: st, Diagnostics: d}
}

// buildDataset splits the data into a bundle, stores it (pushing it to
// the remote store), and sets the dataset's computed attributes.
func (m *meta) buildDataset(ctx context.Context, st *sdk.Object, data, srcDigest string) sdk.Diagnostics {
	var d sdk.Diagnostics
	format := datasetFormat(*st)
	seed := int64(defaultSeed)
	if st.IsSet("seed") {
		seed = st.GetInt("seed")
	}
	if err := os.MkdirAll(filepath.Join(m.store.Root(), "tmp"), 0o755); err != nil {
		d.FromError("Cannot build the dataset", err)
		return d
	}
	dir, err := os.MkdirTemp(filepath.Join(m.store.Root(), "tmp"), "dataset-")
	if err != nil {
		d.FromError("Cannot build the dataset", err)
		return d
	}
	defer os.RemoveAll(dir)
	info, err := jobs.BuildDatasetBundle(dir, data, format, srcDigest, jobs.FloatMap(st.Attr("split")), seed)
	if err != nil {
		d.AttrErrorf(attr("source"), "Invalid dataset", "%v", err)
		return d
	}
	stored, err := m.store.PutContext(ctx, dir, artifacts.PutOptions{Mode: artifacts.Move})
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

func diagAt(p cty.Path, summary string, err error) sdk.Diagnostics {
	var d sdk.Diagnostics
	d.AttrErrorf(p, summary, "%v", err)
	return d
}
