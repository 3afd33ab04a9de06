package slurm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// harness drives the provider in process, as llmops does, against the
// real test cluster.
type harness struct {
	t       *testing.T
	env     *slurmEnv
	p       protocol.Provider
	schema  protocol.GetSchemaResponse
	store   *artifacts.Store
	workDir string
	meta    *meta
	// sensitive is sent as SensitivePaths with every call, as the engine
	// sends the paths of values marked sensitive.
	sensitive []cty.Path
}

// newHarness configures the provider with the test cluster, a
// configuration directory under the shared directory (the job user must
// read it) and an artifact store the job user cannot read (so inputs are
// staged).
func newHarness(t *testing.T, cfg map[string]any) *harness {
	t.Helper()
	env := needSlurm(t)
	h := &harness{t: t, env: env, p: sdk.NewProtocolProvider(Provider())}
	h.schema = h.p.GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if h.schema.Diagnostics.HasErrors() {
		t.Fatal(h.schema.Diagnostics.Err())
	}
	wd, err := os.MkdirTemp(env.Shared, "cfg-"+strings.ReplaceAll(t.Name(), "/", "-")+"-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(wd, 0o755)
	h.workDir = wd
	t.Cleanup(func() { os.RemoveAll(wd) })
	ad := filepath.Join(t.TempDir(), "artifacts")
	h.store, err = artifacts.Open(ad)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]any{"url": env.URL, "user": env.User, "token_file": env.TokenFile, "shared_dir": env.Shared, "partition": env.Partition}
	for k, v := range cfg {
		base[k] = v
	}
	pcfg := toCty(h.schema.Provider.Block.ImpliedType(), base)
	if vr := h.p.ValidateProviderConfig(context.Background(), protocol.ValidateProviderConfigRequest{Config: pcfg}); vr.Diagnostics.HasErrors() {
		t.Fatal(vr.Diagnostics.Err())
	}
	req := protocol.ConfigureProviderRequest{Config: pcfg, WorkingDir: wd, ArtifactDir: ad}
	if r := h.p.ConfigureProvider(context.Background(), req); r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	// The same configuration, for the tests that look at Slurm directly.
	m, d := configure(context.Background(), &sdk.ConfigureRequest{Config: objectOf(h.schema.Provider.Block.ImpliedType(), pcfg), WorkingDir: wd, ArtifactDir: ad})
	if d.HasErrors() {
		t.Fatal(d.Err())
	}
	h.meta = m.(*meta)
	return h
}

// objectOf wraps a value as an sdk.Object (for calling configure directly).
func objectOf(ty cty.Type, v cty.Value) sdk.Object {
	o := sdk.NullObject(ty)
	for name := range ty.AttributeTypes() {
		o.Set(name, v.GetAttr(name))
	}
	return o
}

func (h *harness) write(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.workDir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) ty(typ string) cty.Type { return h.schema.ResourceTypes[typ].Block.ImpliedType() }

// model stores a base model and returns its id.
func (h *harness) model(files map[string]string) string {
	h.t.Helper()
	dir := h.t.TempDir()
	for name, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(c), 0o644)
	}
	info, err := h.store.Put(dir, artifacts.PutOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return string(info.ID)
}

// dataset stores a dataset bundle and returns its id.
func (h *harness) dataset(rows []string, split map[string]float64) string {
	h.t.Helper()
	src := filepath.Join(h.t.TempDir(), "data.jsonl")
	os.WriteFile(src, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	dir := h.t.TempDir()
	if _, err := jobs.BuildDatasetBundle(dir, src, "jsonl", "sha256:"+strings.Repeat("0", 64), split, 1); err != nil {
		h.t.Fatal(err)
	}
	info, err := h.store.Put(dir, artifacts.PutOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return string(info.ID)
}

func (h *harness) plan(typ string, prior, cfg cty.Value) protocol.PlanResourceChangeResponse {
	h.t.Helper()
	if prior == cty.NilVal {
		prior = cty.NullVal(h.ty(typ))
	}
	return h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: typ, PriorState: prior, Config: cfg, SensitivePaths: h.sensitive})
}

// create plans and applies a create; it fails the test on errors.
func (h *harness) create(typ string, cfg cty.Value) (cty.Value, *protocol.Pending) {
	h.t.Helper()
	pr := h.plan(typ, cty.NilVal, cfg)
	if pr.Diagnostics.HasErrors() {
		h.t.Fatalf("plan: %v", pr.Diagnostics.Err())
	}
	ar := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{
		TypeName: typ, PriorState: cty.NullVal(h.ty(typ)), PlannedState: pr.PlannedState, Config: cfg, PlannedPrivate: pr.PlannedPrivate,
		SensitivePaths: h.sensitive,
	})
	if ar.Diagnostics.HasErrors() {
		h.t.Fatalf("apply: %v", ar.Diagnostics.Err())
	}
	return ar.NewState, ar.Pending
}

// wait polls a pending object until it is no longer pending (or until
// stop says so) and returns the last answer.
func (h *harness) wait(typ string, st cty.Value, pend *protocol.Pending, timeout time.Duration, stop func(*protocol.Pending) bool) protocol.ReadResourceResponse {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		r := h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: typ, CurrentState: st, Pending: pend, SensitivePaths: h.sensitive})
		if r.Pending == nil || (stop != nil && stop(r.Pending)) {
			return r
		}
		if msg := r.Pending.Status + ": " + r.Pending.Message; msg != last {
			h.t.Logf("pending %s", msg)
			last = msg
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("still pending after %s: %s %s", timeout, r.Pending.Status, r.Pending.Message)
		}
		st, pend = r.NewState, r.Pending
		time.Sleep(300 * time.Millisecond)
	}
}

// run creates an object and waits for its job.
func (h *harness) run(typ string, cfg cty.Value) protocol.ReadResourceResponse {
	h.t.Helper()
	st, pend := h.create(typ, cfg)
	if pend == nil {
		return protocol.ReadResourceResponse{NewState: st}
	}
	return h.wait(typ, st, pend, 5*time.Minute, nil)
}

func (h *harness) destroy(typ string, st cty.Value) protocol.Diagnostics {
	r := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: typ, PriorState: st, PlannedState: cty.NullVal(h.ty(typ)), Config: cty.NullVal(h.ty(typ))})
	return r.Diagnostics
}

// slurmState asks Slurm for a job's state.
func (h *harness) slurmState(id string) string {
	ji, err := h.meta.sched.Job(context.Background(), id)
	if err != nil {
		return err.Error()
	}
	return ji.State
}

func str(v cty.Value, name string) string {
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	if a.Type() == cty.Number {
		return a.AsBigFloat().Text('f', -1)
	}
	return a.AsString()
}

// toCty converts Go values to a value of type ty, with nulls for whatever
// is not given: map[string]any for objects, []string / []any for lists,
// map[string]string for string maps, cty.Value as is.
func toCty(ty cty.Type, v any) cty.Value {
	if v == nil {
		return cty.NullVal(ty)
	}
	if cv, ok := v.(cty.Value); ok {
		return cv
	}
	switch {
	case ty.IsObjectType():
		m := v.(map[string]any)
		attrs := map[string]cty.Value{}
		for name, at := range ty.AttributeTypes() {
			attrs[name] = toCty(at, m[name])
		}
		for name := range m {
			if !ty.HasAttribute(name) {
				panic(fmt.Sprintf("no attribute %q in %s", name, ty.FriendlyName()))
			}
		}
		return cty.ObjectVal(attrs)
	case ty.IsListType():
		rv := reflect.ValueOf(v)
		if rv.Len() == 0 {
			return cty.ListValEmpty(ty.ElementType())
		}
		var elems []cty.Value
		for i := 0; i < rv.Len(); i++ {
			elems = append(elems, toCty(ty.ElementType(), rv.Index(i).Interface()))
		}
		return cty.ListVal(elems)
	case ty.IsMapType():
		m := map[string]cty.Value{}
		switch x := v.(type) {
		case map[string]string:
			for k, e := range x {
				m[k] = cty.StringVal(e)
			}
		case map[string]float64:
			for k, e := range x {
				m[k] = cty.NumberFloatVal(e)
			}
		}
		if len(m) == 0 {
			return cty.MapValEmpty(ty.ElementType())
		}
		return cty.MapVal(m)
	case ty == cty.String:
		return cty.StringVal(v.(string))
	case ty == cty.Bool:
		return cty.BoolVal(v.(bool))
	case ty == cty.Number:
		switch x := v.(type) {
		case int:
			return cty.NumberIntVal(int64(x))
		case float64:
			return cty.NumberFloatVal(x)
		}
	}
	panic(fmt.Sprintf("toCty: %T for %s", v, ty.FriendlyName()))
}
