package engine

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// harness runs the engine in process against a test provider and a
// SQLite state in a temp dir.
type harness struct {
	t   *testing.T
	dir string
	// keep are directories of the scenario that steps leave in place.
	keep    map[string]bool
	store   state.Store
	prov    *testProvider
	factory FactoryFunc
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := state.OpenSQLite(context.Background(), filepath.Join(dir, ".llmops", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &harness{t: t, dir: dir, store: st, prov: newTestProvider()}
}

func (h *harness) write(files map[string]string) {
	h.t.Helper()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(h.dir, name), []byte(src), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) engine(cli ...VarSource) (*Engine, hcl.Diagnostics) {
	h.t.Helper()
	cfg, diags := configs.LoadDir(h.dir)
	if diags.HasErrors() {
		return nil, diags
	}
	vars, diags := CollectVariables(cfg, cli, nil)
	if diags.HasErrors() {
		return nil, diags
	}
	key, _ := secrets.ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	e := New(Options{
		Config: cfg, Store: h.store, Variables: vars, ArtifactDir: filepath.Join(h.dir, ".llmops", "artifacts"), Secrets: key,
		Providers: h.providers(),
	})
	h.t.Cleanup(e.Close)
	return e, nil
}

func (h *harness) plan(opts PlanOptions, cli ...VarSource) *plans.Plan {
	h.t.Helper()
	e, diags := h.engine(cli...)
	if diags.HasErrors() {
		h.t.Fatalf("load: %s", diags.Error())
	}
	p, diags := e.Plan(context.Background(), opts)
	if diags.HasErrors() {
		h.t.Fatalf("plan: %s", diags.Error())
	}
	return p
}

func (h *harness) apply(opts PlanOptions, cli ...VarSource) (*plans.Plan, *ApplyResult, hcl.Diagnostics) {
	h.t.Helper()
	e, diags := h.engine(cli...)
	if diags.HasErrors() {
		h.t.Fatalf("load: %s", diags.Error())
	}
	p, diags := e.Plan(context.Background(), opts)
	if diags.HasErrors() {
		h.t.Fatalf("plan: %s", diags.Error())
	}
	res, diags := e.Apply(context.Background(), p, ApplyOptions{Who: "test", Command: "apply"})
	return p, res, diags
}

// actions summarises a plan as "addr:action" strings for non-no-op changes.
func actions(p *plans.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action != plans.NoOp {
			out = append(out, c.Addr.String()+":"+string(c.Action))
		}
	}
	sort.Strings(out)
	return out
}

const lifecycleConfig = `
variable "lr" {
  type    = number
  default = 0.0002
}
variable "names" {
  type    = set(string)
  default = ["a", "b"]
}
variable "gen" {
  type    = string
  default = "1"
}
locals {
  base = { lr = var.lr, epochs = 3 }
}
resource "test_value" "root" {
  input = local.base
}
resource "test_value" "chain" {
  count = 3
  input = { parent = test_value.root.output, i = count.index }
}
resource "test_value" "each" {
  for_each         = var.names
  input            = "${each.key}-${test_value.root.id}"
  triggers_replace = var.gen
}
resource "test_value" "after" {
  input      = "x"
  depends_on = [test_value.each]
}
output "ids" {
  value = [for c in test_value.chain : c.id]
}
`

func TestLifecycleEndToEnd(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": lifecycleConfig})

	p, res, diags := h.apply(PlanOptions{})
	if diags.HasErrors() {
		t.Fatalf("apply: %s", diags.Error())
	}
	if got := p.Counts(); got.Add != 7 {
		t.Fatalf("first plan adds %d, want 7: %v", got.Add, actions(p))
	}
	if res.Counts.Added != 7 || len(res.Failed) != 0 {
		t.Fatalf("apply result: %+v", res)
	}
	snap, _ := h.store.Snapshot(context.Background(), 0)
	if len(snap.Objects) != 7 || len(snap.Outputs) != 1 {
		t.Fatalf("state has %d objects, %d outputs", len(snap.Objects), len(snap.Outputs))
	}
	// Dependencies recorded.
	for _, o := range snap.Objects {
		if o.Addr.Resource.Name == "chain" && (len(o.Dependencies) != 1 || o.Dependencies[0].Name != "root") {
			t.Fatalf("chain deps: %v", o.Dependencies)
		}
	}

	if p := h.plan(PlanOptions{}); p.HasChanges() {
		t.Fatalf("re-plan should have no changes: %v", actions(p))
	}

	// Changing lr updates root in place; chain inputs reference root.output,
	// which is known after apply, so they update too.
	p = h.plan(PlanOptions{}, VarSource{Name: "lr", Value: "0.001"})
	want := []string{"test_value.chain[0]:update", "test_value.chain[1]:update", "test_value.chain[2]:update", "test_value.root:update"}
	if got := actions(p); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after lr change:\n got %v\nwant %v", got, want)
	}

	// Changing gen forces replacement of the for_each instances only.
	p = h.plan(PlanOptions{}, VarSource{Name: "gen", Value: "2"})
	want = []string{`test_value.each["a"]:delete-then-create`, `test_value.each["b"]:delete-then-create`}
	if got := actions(p); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after gen change:\n got %v\nwant %v", got, want)
	}
	for _, c := range p.Changes {
		if c.Action.IsReplace() && c.Reason != plans.ReasonRequiresReplace {
			t.Fatalf("%s reason %q", c.Addr, c.Reason)
		}
	}

	// Shrinking the set deletes one instance with the each-key reason.
	p = h.plan(PlanOptions{}, VarSource{Name: "names", Value: `["a"]`})
	if got := actions(p); strings.Join(got, " ") != `test_value.each["b"]:delete` {
		t.Fatalf("after names change: %v", got)
	}

	// Destroy removes everything, dependents first.
	_, res, diags = h.apply(PlanOptions{Mode: plans.DestroyMode})
	if diags.HasErrors() || res.Counts.Destroyed != 7 {
		t.Fatalf("destroy: %+v %s", res, diags.Error())
	}
	snap, _ = h.store.Snapshot(context.Background(), 0)
	if len(snap.Objects) != 0 {
		t.Fatalf("objects left after destroy: %d", len(snap.Objects))
	}
	applies := h.prov.appliesCopy()
	pos := map[string]int{}
	for i, a := range applies {
		pos[a] = i
	}
	// Everything depends on the root, so it is created first and destroyed last.
	rootID := strings.TrimPrefix(applies[0], "create:")
	for a, i := range pos {
		if strings.HasPrefix(a, "delete:") && a != "delete:"+rootID && i > pos["delete:"+rootID] {
			t.Fatalf("root destroyed before its dependent %s: %v", a, applies)
		}
	}
}

// A provider's warnings on a successful apply reach the user, pointing at
// the attribute they are about.
func TestApplyKeepsProviderWarnings(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
resource "test_value" "w" {
  input = "warn"
}
`})
	_, res, diags := h.apply(PlanOptions{})
	if diags.HasErrors() || len(res.Failed) > 0 {
		t.Fatalf("a warning is not a failure: %v %+v", diags, res.Failed)
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Summary != "Test warning" {
		t.Fatalf("want the provider's warning, got %v", diags)
	}
	if s := diags[0].Subject; s == nil || s.Start.Line != 3 || s.Filename != "main.llmops.hcl" {
		t.Fatalf("the warning should point at input (line 3): %+v", s)
	}
}

func TestFailureStopsOnlyDependents(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
resource "test_value" "bad" {
  input = "b"
  fail  = true
}
resource "test_value" "child" {
  input = test_value.bad.id
}
resource "test_value" "ok" {
  input = "fine"
}
`})
	_, res, diags := h.apply(PlanOptions{})
	if !diags.HasErrors() {
		t.Fatal("want an error diagnostic")
	}
	if len(res.Failed) != 1 || res.Failed[0].Addr.String() != "test_value.bad" {
		t.Fatalf("failed: %+v", res.Failed)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].String() != "test_value.child" {
		t.Fatalf("skipped: %v", res.Skipped)
	}
	snap, _ := h.store.Snapshot(context.Background(), 0)
	if len(snap.Objects) != 1 || snap.Objects[0].Addr.String() != "test_value.ok" {
		t.Fatalf("state: %d objects", len(snap.Objects))
	}
	vs, _ := h.store.Versions(context.Background())
	if len(vs) != 1 || vs[0].Status != state.VersionPartial {
		t.Fatalf("versions: %+v", vs)
	}
}

func TestTargetAndExclude(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
resource "test_value" "a" { input = 1 }
resource "test_value" "b" { input = test_value.a.output }
resource "test_value" "c" { input = 3 }
`})
	tgt, _ := addrs.ParsePattern("test_value.b")
	p := h.plan(PlanOptions{Targets: []addrs.Pattern{tgt}})
	if got := strings.Join(actions(p), " "); got != "test_value.a:create test_value.b:create" {
		t.Fatalf("target: %s", got)
	}
	ex, _ := addrs.ParsePattern("test_value.a")
	p = h.plan(PlanOptions{Excludes: []addrs.Pattern{ex}})
	if got := strings.Join(actions(p), " "); got != "test_value.c:create" {
		t.Fatalf("exclude: %s", got)
	}
	glob, _ := addrs.ParsePattern("test_value.*")
	p = h.plan(PlanOptions{Targets: []addrs.Pattern{glob}})
	if len(actions(p)) != 3 {
		t.Fatalf("glob target: %v", actions(p))
	}
}

func TestPreventDestroyAndCBD(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
variable "protect" { default = true }
variable "gen" { default = "1" }
locals { cbd = true }
resource "test_value" "p" {
  input            = "x"
  triggers_replace = var.gen
  lifecycle {
    prevent_destroy       = var.protect
    create_before_destroy = local.cbd
  }
}
`})
	if _, _, diags := h.apply(PlanOptions{}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	e, _ := h.engine(VarSource{Name: "gen", Value: "2"})
	_, diags := e.Plan(context.Background(), PlanOptions{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "prevent_destroy") {
		t.Fatalf("want prevent_destroy error, got %v", diags)
	}
	p := h.plan(PlanOptions{}, VarSource{Name: "gen", Value: "2"}, VarSource{Name: "protect", Value: "false"})
	if got := strings.Join(actions(p), " "); got != "test_value.p:create-then-delete" {
		t.Fatalf("cbd: %s", got)
	}
}

func TestSensitiveVariableIsMarked(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
variable "key" {
  type      = string
  sensitive = true
}
resource "test_value" "s" { input = var.key }
`})
	p := h.plan(PlanOptions{}, VarSource{Name: "key", Value: "hunter2"})
	c := p.Changes[0]
	if !values.IsSensitive(c.After.GetAttr("input")) {
		t.Fatalf("input not marked sensitive: %#v", c.After)
	}
	if _, _, diags := h.apply(PlanOptions{}, VarSource{Name: "key", Value: "hunter2"}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	snap, _ := h.store.Snapshot(context.Background(), 0)
	if len(snap.Objects[0].SensitivePaths) == 0 {
		t.Fatal("sensitive paths not recorded in state")
	}
	_ = cty.NilVal
}

func (h *harness) providers() FactoryFunc {
	if h.factory != nil {
		return h.factory
	}
	return func(ctx context.Context, addr addrs.ProviderConfig) (protocol.Provider, error) {
		return h.prov, nil
	}
}

// A provider announcing pure_plan is not asked to plan objects whose
// configuration matches their state; changed ones still go to it.
func TestPurePlanSkipsUnchangedObjects(t *testing.T) {
	h := newHarness(t)
	h.prov.pure = true
	h.write(map[string]string{"main.llmops.hcl": `
variable "x" { default = "a" }
resource "test_value" "r" {
  count = 20
  input = count.index == 7 ? var.x : "same"
}
`})
	if _, _, diags := h.apply(PlanOptions{}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h.prov.plans.Store(0)
	if p := h.plan(PlanOptions{}); p.HasChanges() {
		t.Fatalf("no-op plan has changes: %v", actions(p))
	}
	if n := h.prov.plans.Load(); n != 0 {
		t.Fatalf("%d plan calls for unchanged objects, want 0", n)
	}
	p := h.plan(PlanOptions{}, VarSource{Name: "x", Value: "b"})
	if got := strings.Join(actions(p), " "); got != "test_value.r[7]:update" {
		t.Fatalf("actions: %s", got)
	}
	if n := h.prov.plans.Load(); n != 1 {
		t.Fatalf("%d plan calls, want 1 (the changed object)", n)
	}
}
