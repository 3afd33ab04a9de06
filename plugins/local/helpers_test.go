package local_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/llmops/llmops/plugins/local"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// fixtures writes a base model and a small dataset into a directory.
func fixtures(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "base"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "base", "weights.bin"), []byte("base weights"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "base", "config.json"), []byte(`{"format":"fake"}`), 0o644))
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString(`{"text": "ticket number ` + strings.Repeat("a", i%7) + ` ` + itoa(i) + `"}` + "\n")
	}
	must(t, os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(b.String()), 0o644))
	return dir
}

func itoa(i int) string { return strings.TrimLeft(string(rune('0'+i/10))+string(rune('0'+i%10)), "0") }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func str(s string) cty.Value { return cty.StringVal(s) }
func obj(m map[string]cty.Value) cty.Value {
	return cty.ObjectVal(m)
}
func strs(ss ...string) cty.Value {
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}
func smap(m map[string]string) cty.Value {
	vals := map[string]cty.Value{}
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

// harness drives the provider in process, the way the engine does.
type harness struct {
	t       testing.TB
	p       protocol.Provider
	schemas map[string]*protocol.Schema
	workDir string
	store   string
	// sensitive is sent as SensitivePaths with every call, as the engine
	// sends the paths of values marked sensitive.
	sensitive []cty.Path
}

func newHarness(t testing.TB, workDir string, roots ...string) *harness {
	t.Helper()
	return newHarnessWith(t, workDir, nil, roots...)
}

// newHarnessWith is newHarness with more provider block attributes.
func newHarnessWith(t testing.TB, workDir string, attrs map[string]cty.Value, roots ...string) *harness {
	t.Helper()
	p := sdk.NewProtocolProvider(local.Provider())
	t.Cleanup(func() { _ = p.Close() })
	s := p.GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if s.Diagnostics.HasErrors() {
		t.Fatal(s.Diagnostics.Err())
	}
	var rv []cty.Value
	for _, r := range roots {
		rv = append(rv, cty.StringVal(r))
	}
	pcfg := map[string]cty.Value{"allowed_roots": cty.NullVal(cty.List(cty.String))}
	if len(rv) > 0 {
		pcfg["allowed_roots"] = cty.ListVal(rv)
	}
	for k, v := range attrs {
		pcfg[k] = v
	}
	cfg := cty.ObjectVal(pcfg)
	store := filepath.Join(workDir, ".llmops", "artifacts")
	r := p.ConfigureProvider(context.Background(), protocol.ConfigureProviderRequest{Config: cfg, WorkingDir: workDir, ArtifactDir: store})
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	h := &harness{t: t, p: p, schemas: s.ResourceTypes, workDir: workDir, store: store}
	t.Cleanup(h.killJobs)
	return h
}

// killJobs stops the jobs a test left running (by the pids their
// supervisors recorded), so no test leaks processes.
func (h *harness) killJobs() {
	matches, _ := filepath.Glob(filepath.Join(h.store, "runs", "local", "*", "*", "supervisor.json"))
	for _, m := range matches {
		killRecorded(m)
	}
}

// fill completes a partial configuration with nulls in the type's schema.
func (h *harness) fill(typ string, m map[string]cty.Value) cty.Value {
	h.t.Helper()
	ty := h.schemas[typ].Block.ImpliedType()
	attrs := map[string]cty.Value{}
	for n, at := range ty.AttributeTypes() {
		if v, ok := m[n]; ok {
			attrs[n] = v
		} else {
			attrs[n] = cty.NullVal(at)
		}
	}
	v, err := convert.Convert(cty.ObjectVal(attrs), ty)
	if err != nil {
		h.t.Fatalf("%s config: %v", typ, err)
	}
	return v
}

type applied struct {
	state   cty.Value
	private []byte
	pending *protocol.Pending
	diags   protocol.Diagnostics
}

// plan plans a change from prior (null for a create) to config.
func (h *harness) plan(typ string, prior, config cty.Value) protocol.PlanResourceChangeResponse {
	h.t.Helper()
	if prior == cty.NilVal {
		prior = cty.NullVal(h.schemas[typ].Block.ImpliedType())
	}
	vd := h.p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: typ, Config: config})
	if vd.Diagnostics.HasErrors() {
		return protocol.PlanResourceChangeResponse{Diagnostics: vd.Diagnostics}
	}
	return h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: typ, PriorState: prior, Config: config, SensitivePaths: h.sensitive})
}

// apply plans and applies config over prior without waiting for a pending
// job.
func (h *harness) applyNoWait(typ string, prior, config cty.Value) applied {
	h.t.Helper()
	pr := h.plan(typ, prior, config)
	if pr.Diagnostics.HasErrors() {
		return applied{diags: pr.Diagnostics}
	}
	if prior == cty.NilVal {
		prior = cty.NullVal(h.schemas[typ].Block.ImpliedType())
	}
	if len(pr.RequiresReplace) > 0 {
		prior = cty.NullVal(h.schemas[typ].Block.ImpliedType())
	}
	r := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: typ, PriorState: prior, PlannedState: pr.PlannedState, Config: config, PlannedPrivate: pr.PlannedPrivate, SensitivePaths: h.sensitive})
	return applied{state: r.NewState, private: r.Private, pending: r.Pending, diags: r.Diagnostics}
}

// apply plans, applies and waits for a pending job, as `llmops apply` does.
func (h *harness) apply(typ string, prior, config cty.Value) applied {
	h.t.Helper()
	a := h.applyNoWait(typ, prior, config)
	return h.wait(typ, a)
}

func (h *harness) wait(typ string, a applied) applied {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for a.pending != nil && !a.diags.HasErrors() {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s still pending: %+v", typ, *a.pending)
		}
		time.Sleep(30 * time.Millisecond)
		r := h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: typ, CurrentState: a.state, Private: a.private, Pending: a.pending, SensitivePaths: h.sensitive})
		a.state, a.pending, a.diags = r.NewState, r.Pending, append(a.diags, r.Diagnostics...)
	}
	return a
}

func (h *harness) read(typ string, st cty.Value) protocol.ReadResourceResponse {
	return h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: typ, CurrentState: st})
}

func (h *harness) delete(typ string, st cty.Value) protocol.Diagnostics {
	r := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: typ, PriorState: st, PlannedState: cty.NullVal(st.Type()), Config: cty.NullVal(st.Type())})
	return r.Diagnostics
}

func attrStr(v cty.Value, name string) string {
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	return a.AsString()
}

func diagText(ds protocol.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Summary + ": " + d.Detail + " [" + protocol.PathString(d.Attribute) + "]\n")
	}
	return b.String()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func (h *harness) validateProvider(cfg cty.Value) protocol.Diagnostics {
	return h.p.ValidateProviderConfig(context.Background(), protocol.ValidateProviderConfigRequest{Config: cfg}).Diagnostics
}
