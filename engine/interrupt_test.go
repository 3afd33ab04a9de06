package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// cancelOnPending cancels the operation the first time a long operation
// reports its status: an interrupt (Ctrl-C) while apply waits.
type cancelOnPending struct {
	NoopHooks
	once   sync.Once
	cancel context.CancelFunc
}

func (h *cancelOnPending) Pending(addrs.ResourceInstance, string, string, time.Duration) {
	h.once.Do(h.cancel)
}

// A rollback is applied by the apply walk: interrupted while the object
// it creates is still pending, it leaves that object recorded pending with
// its handle (not ready, not lost), the old object deposed, and the next
// plan waits for the job and then destroys the old object.
func TestInterruptedRollbackKeepsThePendingObject(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
variable "t" {
  default = "1"
}
resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = var.t
  behavior         = "pending:1"
  lifecycle {
    create_before_destroy = true
  }
}
`})
	for _, v := range []string{"1", "2"} {
		if _, res, diags := h.apply(PlanOptions{}, VarSource{Name: "t", Value: v}); diags.HasErrors() || len(res.Failed) > 0 {
			t.Fatalf("apply t=%s: %s %+v", v, diags.Error(), res)
		}
	}
	h.prov.hold.Store(true)
	e, diags := h.engine(VarSource{Name: "t", Value: "2"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := e.PlanRollback(context.Background(), []addrs.ResourceInstance{mustInstance(t, "test_value.a")}, 1)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if c := p.Changes[0]; c.Action != plans.CreateThenDelete || c.Reason != plans.ReasonRollback {
		t.Fatalf("rollback plan: %s (%s)", c.Action, c.Reason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.hooks = &cancelOnPending{cancel: cancel}
	res, diags := e.Apply(ctx, p, ApplyOptions{Who: "test", Command: "rollback"})
	if res == nil || len(res.StillPending) != 1 {
		t.Fatalf("interrupted rollback: %+v %s", res, diags.Error())
	}
	snap, err := h.store.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cur := snap.Object(mustInstance(t, "test_value.a"))
	if cur == nil || cur.Status != state.StatusPending || cur.PendingHandle != "a#3" {
		t.Fatalf("current object after the interrupt: %+v", cur)
	}
	if len(snap.Deposed) != 1 {
		t.Fatalf("the old object must stay recorded (deposed): %d deposed", len(snap.Deposed))
	}
	// The job finishes; the next plan waits for it and destroys the old one.
	h.prov.hold.Store(false)
	p2 := h.plan(PlanOptions{Pins: pins(t, h.store)}, VarSource{Name: "t", Value: "2"})
	if got := p2.Change(mustInstance(t, "test_value.a")); got == nil || got.Action != plans.Wait {
		t.Fatalf("plan after the interrupt: %v", actions(p2))
	}
	if len(p2.Deposed) != 1 {
		t.Fatalf("the deposed object is not planned for destroy: %+v", p2.Deposed)
	}
}

func pins(t *testing.T, st state.Store) map[addrs.ResourceInstance]history.Pin {
	evs, err := st.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return history.ActivePins(evs)
}

func mustInstance(t *testing.T, s string) addrs.ResourceInstance {
	a, err := addrs.ParseResourceInstance(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// An object recorded "creating" (llmops stopped between the intent and
// the result) is planned as a create again, with the private data of the
// intent, so the provider can adopt what it started.
func TestInterruptedCreateIsPlannedAgain(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
resource "test_value" "a" {
  name  = "a"
  input = "x"
}
`})
	w, err := h.store.Begin(context.Background(), state.VersionInfo{CreatedAt: time.Now(), Status: state.VersionInProgress})
	if err != nil {
		t.Fatal(err)
	}
	intent := cty.ObjectVal(map[string]cty.Value{"input": cty.StringVal("x"), "name": cty.StringVal("a"), "id": cty.NullVal(cty.String)})
	enc, err := values.Encode(intent)
	if err != nil {
		t.Fatal(err)
	}
	a := mustInstance(t, "test_value.a")
	if err := w.PutObject(context.Background(), &state.Object{Addr: a, Provider: addrs.ProviderConfig{Type: "test"}, Status: state.StatusCreating,
		ValueJSON: enc.Value, TypeJSON: enc.Type, Private: []byte("started-job-42"), Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(context.Background(), state.VersionPartial, state.Counts{}); err != nil {
		t.Fatal(err)
	}
	p, res, diags := h.apply(PlanOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	c := p.Change(a)
	if c.Action != plans.Create || c.Reason != plans.ReasonCreateInterrupted || string(c.Private) != "started-job-42" {
		t.Fatalf("plan: %s (%s) private %q", c.Action, c.Reason, c.Private)
	}
	if res.Counts.Added != 1 {
		t.Fatalf("apply: %+v", res)
	}
}
