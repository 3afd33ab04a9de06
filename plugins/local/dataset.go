package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/traffic"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

const defaultSeed = 1

func datasetResource() *sdk.Resource {
	return &sdk.Resource{
		Schema:     kindsdk.Block(schema.Dataset, sdk.Block{}),
		Validate:   validateDataset,
		ModifyPlan: planDataset,
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			return unpinned(applyDataset(ctx, metaOf(req.Meta), req.Planned))
		},
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return unpinned(applyDataset(ctx, metaOf(req.Meta), req.Planned))
		},
		Read: readArtifact,
	}
}

func validateDataset(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Dataset, cfg.Value)
	isTraffic := false
	if cfg.Known("source") {
		_, ok, err := traffic.ParseSource(cfg.GetString("source"))
		isTraffic = ok
		switch {
		case err != nil:
			d.AttrErrorf(attr("source"), "Invalid traffic source", "%v.", err)
		case !ok && !strings.HasPrefix(cfg.GetString("source"), "file://"):
			d.AttrErrorf(attr("source"), "Unsupported dataset source", "The local provider reads datasets from file:// paths (relative to the configuration directory) or a deployment's captured traffic (deployment.NAME.traffic); %q is neither.", cfg.GetString("source"))
		}
	}
	if isTraffic && cfg.Known("format") && cfg.IsSet("format") && cfg.GetString("format") != "jsonl" {
		d.AttrErrorf(attr("format"), "Invalid format", "A dataset made from captured traffic is JSON lines: remove format, or set it to \"jsonl\".")
	}
	if isTraffic {
		return d
	}
	if cfg.Known("format") && cfg.IsSet("format") {
		d = append(d, schema.ValidateOneOf(cfg.Attr("format"), attr("format"), "format", formats...)...)
	}
	if cfg.Known("source") && cfg.Known("format") && !cfg.IsSet("format") && inferFormat(cfg.GetString("source")) == "" {
		d.AttrErrorf(attr("format"), "Unknown data format", "The format of %q cannot be told from its extension: set format to one of %s.", cfg.GetString("source"), strings.Join(formats, ", "))
	}
	return d
}

// datasetFormat is the configured or inferred format.
func datasetFormat(st sdk.Object) string {
	if f := st.GetString("format"); f != "" {
		return f
	}
	if _, ok, _ := traffic.ParseSource(st.GetString("source")); ok {
		return "jsonl"
	}
	return inferFormat(st.GetString("source"))
}

// planDataset hashes the source at plan time (through the digest cache, so
// an unchanged source is not read), so that an edited source shows as an
// update with a new digest, and everything derived from the dataset as
// known after apply.
func planDataset(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	cfg := req.Config
	if !cfg.Known("source") {
		return nil
	}
	m := metaOf(req.Meta)
	if _, ok, _ := traffic.ParseSource(cfg.GetString("source")); ok {
		return planTrafficDataset(m, req)
	}
	p, err := m.resolveFile(cfg.GetString("source"))
	if err != nil {
		return &sdk.ModifyPlanResponse{Diagnostics: attrErr(attr("source"), "Cannot read the dataset", err)}
	}
	dg, err := m.store.Digest(p)
	if err != nil {
		return &sdk.ModifyPlanResponse{Diagnostics: attrErr(attr("source"), "Cannot read the dataset", err)}
	}
	if dg.Dir {
		return &sdk.ModifyPlanResponse{Diagnostics: attrErr(attr("source"), "Invalid dataset source", fmt.Errorf("%s is a directory; a dataset source is one jsonl, csv or txt file", p))}
	}
	planned := req.Planned
	if !planned.Known("format") {
		planned.SetString("format", datasetFormat(cfg))
	}
	srcDigest := string(dg.ID)
	hasTransform := cfg.IsSet("transform")
	if !req.IsCreate() {
		same := req.Prior.GetString("source_digest") == srcDigest
		for _, a := range []string{"format", "split", "seed", "transform"} {
			if !req.Prior.Attr(a).RawEquals(cfg.Attr(a)) && !(a == "format" && !cfg.IsSet("format")) {
				same = false
			}
		}
		if same {
			return &sdk.ModifyPlanResponse{Planned: planned}
		}
	}
	planned.SetString("source_digest", srcDigest)
	if hasTransform {
		planned.SetUnknown("digest")
		planned.SetUnknown("size_bytes")
	} else {
		// The apply would fail on a malformed row after the plan's
		// replacements of the dataset's dependents had begun: fail here.
		if d := checkRows(p, datasetFormat(cfg), cfg.GetString("source")); d.HasErrors() {
			return &sdk.ModifyPlanResponse{Diagnostics: d}
		}
		planned.SetString("digest", srcDigest)
		planned.SetInt("size_bytes", dg.Size)
	}
	for _, a := range []string{"id", "path", "rows", "splits"} {
		planned.SetUnknown(a)
	}
	return &sdk.ModifyPlanResponse{Planned: planned}
}

// planTrafficDataset plans a dataset made from a deployment's captured
// traffic (source = deployment.NAME.traffic, traffic://<id>): the
// snapshot of the sealed segments (filtered by min_rating) is read at plan
// time and its digest is the source's, so new traffic plans a new version
// (and the replacement of what depends on it) the way an edited file
// does, once min_new_rows rows more than the prior version exist.
//
// Segments keep being sealed while traffic flows, so the plan pins its
// decision in the planned private data (trafficPin): apply plans again
// starting from that private data, and makes the same snapshot (or the
// same "no new version") however many segments were sealed since.
func planTrafficDataset(m *meta, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	cfg, planned := req.Config, req.Planned
	priorDigest := ""
	if !req.IsCreate() {
		priorDigest = req.Prior.GetString("source_digest")
	}
	pin, pinned := readTrafficPin(req.Private, priorDigest)
	if pinned && pin.Snapshot == "" {
		// The plan found no new version.
		return &sdk.ModifyPlanResponse{Planned: planned, Private: req.Private}
	}
	snap, err := m.trafficSnapshot(cfg, pin.Snapshot)
	if err != nil && pinned {
		snap, err = m.trafficSnapshot(cfg, "")
	}
	if err != nil {
		return &sdk.ModifyPlanResponse{Diagnostics: attrErr(attr("source"), "Cannot read the captured traffic", err)}
	}
	if !planned.Known("format") {
		planned.SetString("format", "jsonl")
	}
	var d sdk.Diagnostics
	if !req.IsCreate() {
		same := true
		for _, a := range []string{"source", "split", "seed", "transform", "min_rating"} {
			same = same && req.Prior.Attr(a).RawEquals(cfg.Attr(a))
		}
		minNew := int64(1)
		if cfg.IsSet("min_new_rows") {
			minNew = cfg.GetInt("min_new_rows")
		}
		newRows := int64(snap.Rows) - req.Prior.GetInt("rows")
		if same && !pinned && (priorDigest == snap.Digest || newRows < minNew) {
			return &sdk.ModifyPlanResponse{Planned: planned, Private: trafficPin{Prior: priorDigest}.encode()}
		}
	} else if snap.Rows == 0 {
		warn(&d, attr("source"), "No captured rows yet", emptyTrafficDetail)
	}
	planned.SetString("source_digest", snap.Digest)
	if cfg.IsSet("transform") {
		planned.SetUnknown("digest")
		planned.SetUnknown("size_bytes")
	} else {
		planned.SetString("digest", snap.Digest)
		planned.SetInt("size_bytes", int64(len(snap.Data)))
	}
	for _, a := range []string{"id", "path", "rows", "splits"} {
		planned.SetUnknown(a)
	}
	return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d, Private: trafficPin{Prior: priorDigest, Snapshot: snap.Digest}.encode()}
}

// trafficPin is what a plan of a traffic dataset decided, kept in the
// planned private data: starting from the version whose source digest is
// Prior ("" for a create), make the snapshot Snapshot ("": no new
// version).
type trafficPin struct {
	Prior    string `json:"traffic_prior"`
	Snapshot string `json:"traffic_snapshot"`
}

func (p trafficPin) encode() []byte {
	b, _ := json.Marshal(p)
	return b
}

// readTrafficPin reads the pin of private data, if it was made for a plan
// starting from priorDigest: what apply's plan finds (a pin in the state
// is cleared by the apply that used it, see unpinned).
func readTrafficPin(private []byte, priorDigest string) (trafficPin, bool) {
	var p trafficPin
	if len(private) == 0 || json.Unmarshal(private, &p) != nil || p.Prior != priorDigest || !strings.HasPrefix(string(private), "{") {
		return trafficPin{}, false
	}
	if !strings.Contains(string(private), `"traffic_snapshot"`) {
		return trafficPin{}, false
	}
	return p, true
}

// unpinned stores no plan pin with the object: the next plan decides anew.
func unpinned(r *sdk.Response) *sdk.Response {
	if r != nil && r.Private == nil && !r.Diagnostics.HasErrors() {
		r.Private = []byte("{}")
	}
	return r
}

const emptyTrafficDetail = "The deployment's sealed traffic segments hold no successful exchange yet (or none rated min_rating or more): this version of the dataset is empty. A segment is sealed about a minute after its first request (docs/monitoring.md)."

// trafficSnapshot reads the snapshot of a traffic source: the current one
// (digest ""), or the one with that digest (what the plan saw).
func (m *meta) trafficSnapshot(st sdk.Object, digest string) (*traffic.SnapshotResult, error) {
	id, _, err := traffic.ParseSource(st.GetString("source"))
	if err != nil {
		return nil, err
	}
	dir, err := traffic.Dir(m.store.Root(), id)
	if err != nil {
		return nil, err
	}
	var minRating *float64
	if st.IsSet("min_rating") {
		if v := st.Attr("min_rating"); v.IsKnown() && !v.IsNull() {
			f, _ := v.AsBigFloat().Float64()
			minRating = &f
		}
	}
	if digest != "" {
		return traffic.SnapshotMatching(dir, minRating, digest)
	}
	return traffic.Snapshot(dir, minRating)
}

// trafficSnapshotFile writes the snapshot the plan saw (source_digest) to
// a temporary file of the store, the dataset's source file.
func (m *meta) trafficSnapshotFile(st sdk.Object) (string, func(), error) {
	snap, err := m.trafficSnapshot(st, st.GetString("source_digest"))
	if err != nil {
		return "", nil, err
	}
	tmp := filepath.Join(m.store.Root(), "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp(tmp, "traffic-*.jsonl")
	if err != nil {
		return "", nil, err
	}
	_, err = f.Write(snap.Data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", nil, err
	}
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}

// checkRows checks every row of a dataset's data file at plan time (it
// is read only when the source changed: an unchanged digest returns
// before). A bad row is an error on source naming file:line.
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

func applyDataset(ctx context.Context, m *meta, st sdk.Object) *sdk.Response {
	var src string
	var err error
	_, isTraffic, _ := traffic.ParseSource(st.GetString("source"))
	if isTraffic {
		var cleanup func()
		src, cleanup, err = m.trafficSnapshotFile(st)
		if err != nil {
			return errResp(attr("source"), "Cannot snapshot the captured traffic", err)
		}
		defer cleanup()
	} else {
		src, err = m.resolveFile(st.GetString("source"))
	}
	if err != nil {
		return errResp(attr("source"), "Cannot read the dataset", err)
	}
	srcDigest, err := m.store.Digest(src)
	if err != nil {
		return errResp(attr("source"), "Cannot read the dataset", err)
	}
	if srcDigest.Dir {
		return errResp(attr("source"), "Invalid dataset source", fmt.Errorf("%s is a directory; a dataset source is one jsonl, csv or txt file", src))
	}
	format := datasetFormat(st)
	if format == "" {
		return errResp(attr("format"), "Unknown data format", fmt.Errorf("set format to one of %s", strings.Join(formats, ", ")))
	}
	data := src
	if t := st.Attr("transform"); !t.IsNull() {
		var d sdk.Diagnostics
		data, d = m.transform(ctx, src, string(srcDigest.ID), format, t)
		if d.HasErrors() {
			return &sdk.Response{Diagnostics: d}
		}
	}
	split := floatMap(st.Attr("split"))
	seed := int64(defaultSeed)
	if st.IsSet("seed") {
		seed = st.GetInt("seed")
	}
	bundle, err := os.MkdirTemp(filepath.Join(m.store.Root(), "tmp"), "dataset-")
	if err != nil {
		return sdk.ErrorResponse("Cannot build the dataset", err)
	}
	defer os.RemoveAll(bundle)
	info, d := buildBundle(bundle, data, format, split, seed)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	if isTraffic && info.Rows == 0 {
		warn(&d, attr("source"), "No captured rows yet", emptyTrafficDetail)
	}
	info.SourceDigest = string(srcDigest.ID)
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(bundle, datasetInfoFile), append(b, '\n'), 0o644); err != nil {
		return sdk.ErrorResponse("Cannot build the dataset", err)
	}
	stored, err := m.store.Put(bundle, artifacts.PutOptions{Mode: artifacts.Move})
	if err != nil {
		return sdk.ErrorResponse("Cannot store the dataset", err)
	}
	st.SetString("id", string(stored.ID))
	st.SetString("format", format)
	st.SetString("source_digest", string(srcDigest.ID))
	st.SetString("digest", info.Digest)
	st.SetString("path", filepath.Join(stored.Path, info.Data))
	st.SetInt("rows", info.Rows)
	fi, _ := os.Stat(filepath.Join(stored.Path, info.Data))
	if fi != nil {
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
	return &sdk.Response{State: done(st), Diagnostics: d}
}

// buildBundle lays out a dataset bundle in dir: data.<format>, one file
// per split under splits/, and returns its dataset.json content.
func buildBundle(dir, data, format string, split map[string]float64, seed int64) (*datasetInfo, sdk.Diagnostics) {
	var d sdk.Diagnostics
	name := "data." + format
	if err := copyFile(data, filepath.Join(dir, name)); err != nil {
		d.FromError("Cannot build the dataset", err)
		return nil, d
	}
	res, err := splitData(filepath.Join(dir, name), format, filepath.Join(dir, "splits"), newSplitter(split, seed))
	if err != nil {
		d.AttrErrorf(attr("source"), "Invalid dataset", "%v", err)
		return nil, d
	}
	dg, err := artifacts.HashPath(filepath.Join(dir, name), artifacts.HashOptions{})
	if err != nil {
		d.FromError("Cannot build the dataset", err)
		return nil, d
	}
	info := &datasetInfo{Format: format, Data: name, Digest: string(dg.ID), Rows: res.rows, Seed: seed}
	if len(split) > 0 {
		info.Split, info.Splits = split, map[string]splitEntry{}
		for i, n := range newSplitter(split, seed).names {
			file := "splits/" + n + "." + format
			sd, err := artifacts.HashPath(filepath.Join(dir, filepath.FromSlash(file)), artifacts.HashOptions{})
			if err != nil {
				d.FromError("Cannot build the dataset", err)
				return nil, d
			}
			info.Splits[n] = splitEntry{File: file, Digest: string(sd.ID), Rows: res.splitRows[i]}
			if res.splitRows[i] == 0 && res.rows > 0 {
				warn(&d, cty.GetAttrPath("split").Index(cty.StringVal(n)), "Empty split",
					fmt.Sprintf("The split %q got no rows out of %d. Rows are assigned by a seeded hash of their content (so identical rows never straddle splits), and a dataset this small can miss a fraction of %g: add rows, raise the fraction, or try another seed.", n, res.rows, split[n]))
			}
		}
	}
	return info, d
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// transform runs the dataset's transform command under the job contract
// (LLMOPS_INPUT_PATH in, LLMOPS_OUTPUT_DIR/data.<format> out) and waits
// for it. Like every job it runs detached and is keyed by its inputs: if
// llmops is interrupted, the next apply picks the same job up.
func (m *meta) transform(ctx context.Context, src, srcDigest, format string, t cty.Value) (string, sdk.Diagnostics) {
	var d sdk.Diagnostics
	argv := nestedStrings(t, "command")
	extra := nestedStringMap(t, "env")
	cmdPath := cty.GetAttrPath("transform").GetAttr("command")
	if err := jobs.CheckExtra(extra); err != nil {
		d.AttrErrorf(cty.GetAttrPath("transform").GetAttr("env"), "Invalid env", "%v", err)
		return "", d
	}
	identity, err := jobs.Identity("dataset_transform", map[string]any{"source": srcDigest, "command": argv, "env": extra, "format": format})
	if err != nil {
		d.FromError("Cannot compute the transform's identity", err)
		return "", d
	}
	rn, err := m.runner.forIdentity("dataset", identity)
	if err != nil {
		d.FromError("Cannot start the transform", err)
		return "", d
	}
	runID := jobs.RunID("transform", identity)
	env := jobs.Env{RunID: runID, OutputDir: rn.outputDir(), InputPath: src, Extra: extra}
	spec := &jobSpec{Kind: "dataset", RunID: runID, Identity: identity, Argv: argv, Dir: m.workDir,
		Env: m.jobEnviron(env, gpusUnmanaged), Secrets: sdk.Secrets(ctx).List(), Collect: "data", Format: format, Store: m.store.Root(), GPUs: gpusUnmanaged, KillGrace: killGrace().String()}
	rn, _, err = m.runner.start(spec)
	if err != nil {
		d.AttrErrorf(cmdPath, "Cannot start the transform", "%v", err)
		return "", d
	}
	st, err := m.runner.wait(ctx, rn, 100*time.Millisecond)
	if err != nil {
		d.AttrErrorf(cmdPath, "Interrupted", "The transform %s keeps running; the next apply picks it up (%v).", runID, err)
		return "", d
	}
	if st.state == stateDead {
		d.AttrErrorf(cmdPath, "The transform died", "Its supervisor is gone and left no result.%s", logTail(rn.logPath()))
		return "", d
	}
	if !st.manifest.Succeeded() {
		// A failed transform is not adopted again: the next apply reruns it.
		d.AttrErrorf(cmdPath, fmt.Sprintf("The transform %s %s: %s", runID, verb(st.manifest.Status), st.manifest.Reason), "The command %s ran in %s.%s", quoteArgv(argv), m.workDir, logTail(rn.logPath()))
		return "", d
	}
	out, ok := st.manifest.Outputs["data"]
	if !ok || !m.store.Has(artifacts.ID(out.ID)) {
		// Stored data gone (the store was cleaned): run it again.
		_ = m.runner.remove(rn, killGrace())
		return m.transform(ctx, src, srcDigest, format, t)
	}
	return out.Path, d
}
