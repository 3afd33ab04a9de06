package slurm

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

// datasetKind runs a dataset's transform as a Slurm job; the bundle (data,
// splits, dataset.json, the same layout as every provider's) is then built
// by the provider from the transformed data.
var datasetKind = &jobKind{
	kind: schema.Dataset, prefix: "transform", collect: collectData, idIsArtifact: true,
	identity: func(st sdk.Object) (map[string]any, error) {
		t := st.Attr("transform")
		return map[string]any{
			"source": st.GetString("source_digest"), "format": datasetFormat(st),
			"transform_command": nestedStrings(t, "command"), "transform_env": nestedStringMap(t, "env"),
		}, nil
	},
	prepare: func(_ context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics) {
		var d sdk.Diagnostics
		src, err := m.resolveSource(st.GetString("source"))
		if err != nil {
			d.AttrErrorf(attr("source"), "Cannot read the dataset", "%v", err)
			return nil, d
		}
		info, err := m.store.Put(src, artifacts.PutOptions{})
		if err != nil {
			d.FromError("Cannot store the dataset's source", err)
			return nil, d
		}
		in := &jobInputs{argv: nestedStrings(st.Attr("transform"), "command"), format: datasetFormat(st)}
		if in.env.InputPath, err = m.visible(info.Path); err != nil {
			d.FromError("Cannot stage the dataset's source", err)
			return nil, d
		}
		return in, d
	},
	finished: func(_ context.Context, m *meta, st *sdk.Object, f *finishedJob) sdk.Diagnostics {
		var d sdk.Diagnostics
		out, ok := f.man.Outputs[collectData]
		if !ok {
			st.SetString("status", jobs.StatusFailed)
			d.Errorf("The transform left no data", "Its manifest (%s) lists no data output.", f.run.manifestPath(f.attempt))
			return d
		}
		info, err := m.importOutput(out, "")
		if err != nil {
			st.SetString("status", jobs.StatusFailed)
			d.FromError("Cannot store the transformed data", err)
			return d
		}
		return m.buildDataset(st, info.Path, st.GetString("source_digest"))
	},
	clear: func(st *sdk.Object) {
		for _, a := range []string{"id", "digest", "path", "rows", "size_bytes", "splits"} {
			st.SetNull(a)
		}
	},
	stored: func(st sdk.Object) []string {
		if id := st.GetString("id"); id != "" {
			return []string{id}
		}
		return nil
	},
}

func datasetResource() *sdk.Resource {
	computed := func(d string) *sdk.Attribute { return sdk.Attr(cty.String).Computed().Description(d) }
	b := jobBlock(schema.Dataset, sdk.Attributes{
		"status":      computed("`running`, `succeeded`, or how the transform ended (`failed`, `cancelled`, ...)."),
		"job_id":      computed("The Slurm job id of the transform (of its last attempt)."),
		"identity":    computed("Digest of the transform's inputs."),
		"log_path":    computed("Where the transform's log is."),
		"started_at":  computed("When the transform started (RFC 3339)."),
		"finished_at": computed("When the transform finished (RFC 3339)."),
	})
	r := jobResource(datasetKind, b, planDataset, nil)
	r.Validate = validateDataset
	r.Create = func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
		return applyDataset(ctx, req)
	}
	r.Update = func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
		return applyDataset(ctx, &sdk.CreateRequest{TypeName: req.TypeName, Config: req.Config, Planned: req.Planned, Private: req.Private, Meta: req.Meta})
	}
	return r
}

func validateDataset(ctx context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := validateJob(schema.Dataset)(ctx, req)
	if cfg.Known("source") && !strings.HasPrefix(cfg.GetString("source"), "file://") {
		d.AttrErrorf(attr("source"), "Unsupported dataset source", "The slurm provider reads datasets from file:// paths (relative to the configuration directory); %q is not one.", cfg.GetString("source"))
	}
	if cfg.Known("format") && cfg.IsSet("format") {
		d = append(d, schema.ValidateOneOf(cfg.Attr("format"), attr("format"), "format", jobs.DatasetFormats...)...)
	}
	if cfg.Known("source") && cfg.Known("format") && !cfg.IsSet("format") && jobs.InferFormat(cfg.GetString("source")) == "" {
		d.AttrErrorf(attr("format"), "Unknown data format", "The format of %q cannot be told from its extension: set format to one of %s.", cfg.GetString("source"), strings.Join(jobs.DatasetFormats, ", "))
	}
	if t := cfg.Attr("transform"); t != cty.NilVal && t.IsWhollyKnown() && !t.IsNull() {
		env := nestedStringMap(t, "env")
		if err := jobs.CheckExtra(env); err != nil {
			d.AttrErrorf(cty.GetAttrPath("transform").GetAttr("env"), "Invalid env", "%v", err)
		} else if err := checkEnv(env); err != nil {
			d.AttrErrorf(cty.GetAttrPath("transform").GetAttr("env"), "Invalid env", "%v", err)
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
// cache), so an edited source shows as an update.
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
		for _, a := range []string{"status", "job_id", "identity", "log_path", "started_at", "finished_at", "attempts"} {
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
	}
	for _, a := range []string{"id", "path", "rows", "splits"} {
		planned.SetUnknown(a)
	}
	return nil
}

// checkRows checks every row of a dataset's data file at plan time (only
// when the source changed: an unchanged digest returns before). A bad row
// is an error on source naming file:line.
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

// applyDataset makes a dataset version: with a transform, through a Slurm
// job (pending); without, by building the bundle from the source at once.
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
		return datasetKind.create(ctx, &sdk.CreateRequest{TypeName: req.TypeName, Config: req.Config, Planned: st, Private: req.Private, Meta: req.Meta})
	}
	st = done(st)
	for _, a := range []string{"job_id", "identity", "log_path", "started_at", "finished_at"} {
		st.SetNull(a)
	}
	st.SetString("status", jobs.StatusSucceeded)
	st.SetInt("attempts", 0)
	d := m.buildDataset(&st, src, string(dg.ID))
	return &sdk.Response{State: st, Diagnostics: d}
}

// buildDataset splits the data into a bundle, stores it, and sets the
// dataset's computed attributes.
func (m *meta) buildDataset(st *sdk.Object, data, srcDigest string) sdk.Diagnostics {
	var d sdk.Diagnostics
	format := datasetFormat(*st)
	seed := int64(defaultSeed)
	if st.IsSet("seed") {
		seed = st.GetInt("seed")
	}
	dir, err := os.MkdirTemp(filepath.Join(m.store.Root(), "tmp"), "dataset-")
	if err != nil {
		d.FromError("Cannot build the dataset", err)
		return d
	}
	defer os.RemoveAll(dir)
	info, err := jobs.BuildDatasetBundle(dir, data, format, srcDigest, floatMap(st.Attr("split")), seed)
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

func diagAt(p cty.Path, summary string, err error) sdk.Diagnostics {
	var d sdk.Diagnostics
	d.AttrErrorf(p, summary, "%v", err)
	return d
}
