package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

const placementHCL = `
provider "test" { alias = "onprem" }
provider "test" { alias = "workstation" }
provider "test" { alias = "cloud" }
variable "budget" { default = 40 }
variable "gen" { default = "1" }
training_run "ft" {
  input            = "train"
  triggers_replace = var.gen
  resources = { gpus = 1, max_duration = "6h" }
  placement {
    candidates      = [test.onprem, test.workstation, test.cloud]
    strategy        = "ordered"
    max_hourly_cost = var.budget
  }
}
`

// placementHarness serves one test provider per alias.
func placementHarness(t *testing.T, provs map[string]*testProvider) *harness {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": placementHCL})
	h.factory = func(ctx context.Context, addr addrs.ProviderConfig) (protocol.Provider, error) {
		return provs[addr.Alias], nil
	}
	return h
}

func TestPlacementOrderedFallsBackWithReasons(t *testing.T) {
	busy, free, pricey := newTestProvider(), newTestProvider(), newTestProvider()
	busy.offers = []protocol.Offer{{Available: false, Reason: "no capacity: 2 of 2 GPUs busy"}}
	free.offers = []protocol.Offer{{Available: true, GPUType: "rtx4090", GPUCount: 1, PricePerHour: 2.5}}
	pricey.offers = []protocol.Offer{{Available: true, GPUType: "h100", GPUCount: 1, PricePerHour: 55}}
	h := placementHarness(t, map[string]*testProvider{"onprem": busy, "workstation": free, "cloud": pricey})

	p := h.plan(PlanOptions{})
	ch := p.Change(addrs.Resource{Type: "training_run", Name: "ft"}.Instance(addrs.NoKey))
	if ch == nil || ch.Placement == nil {
		t.Fatalf("no placement in the plan: %+v", ch)
	}
	pl := ch.Placement
	if pl.Chosen != "test.workstation" || ch.Provider.Alias != "workstation" {
		t.Fatalf("chosen %s (provider %s), want test.workstation", pl.Chosen, ch.Provider)
	}
	if pl.ProjectedCost != 15 || pl.Hours != 6 {
		t.Fatalf("projected cost %.2f over %.1fh, want 15.00 over 6h", pl.ProjectedCost, pl.Hours)
	}
	reasons := map[string]string{}
	for _, r := range pl.Rejected {
		reasons[r.Candidate] = r.Reason
	}
	if !strings.Contains(reasons["test.onprem"], "no capacity") || !strings.Contains(reasons["test.cloud"], "over budget") {
		t.Fatalf("rejections: %v", reasons)
	}

	// Applied, the object lives on the workstation and stays there.
	if _, res, diags := h.apply(PlanOptions{}); diags.HasErrors() || res.Counts.Added != 1 {
		t.Fatalf("apply: %v %+v", diags, res)
	}
	if len(free.appliesCopy()) != 1 || len(busy.appliesCopy()) != 0 {
		t.Fatalf("created on the wrong provider: free %v busy %v", free.appliesCopy(), busy.appliesCopy())
	}
	busy.offers = []protocol.Offer{{Available: true, PricePerHour: 0}}
	p = h.plan(PlanOptions{})
	if p.HasChanges() {
		t.Fatalf("a placed object must stay where it is: %v", actions(p))
	}
	// A replacement is placed again: now on-prem has room.
	p = h.plan(PlanOptions{}, VarSource{Name: "gen", Value: "2"})
	ch = p.Changes[0]
	if !ch.Action.IsReplace() || ch.Provider.Alias != "onprem" || ch.PriorProvider == nil || ch.PriorProvider.Alias != "workstation" {
		t.Fatalf("replacement placement: action %s provider %s prior %v", ch.Action, ch.Provider, ch.PriorProvider)
	}
	if _, _, diags := h.apply(PlanOptions{}, VarSource{Name: "gen", Value: "2"}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := free.appliesCopy(); len(got) != 2 || !strings.HasPrefix(got[1], "delete:") {
		t.Fatalf("the old object must be destroyed on its own provider: %v", got)
	}
	snap, _ := h.store.Snapshot(context.Background(), 0)
	if snap.Objects[0].Provider.Alias != "onprem" {
		t.Fatalf("recorded provider %s", snap.Objects[0].Provider)
	}
}

func TestPlacementOverBudgetFails(t *testing.T) {
	busy, pricey := newTestProvider(), newTestProvider()
	busy.offers = []protocol.Offer{{Available: false, Reason: "drained"}}
	pricey.offers = []protocol.Offer{{Available: true, PricePerHour: 55}}
	h := placementHarness(t, map[string]*testProvider{"onprem": busy, "workstation": busy, "cloud": pricey})
	e, _ := h.engine()
	_, diags := e.Plan(context.Background(), PlanOptions{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "over budget: 55.00/h > max_hourly_cost 40.00") || !strings.Contains(diags.Error(), "drained") {
		t.Fatalf("want an over-budget diagnostic naming every rejection, got %v", diags)
	}
	// Raising the budget allows it.
	p := h.plan(PlanOptions{}, VarSource{Name: "budget", Value: "60"})
	if p.Changes[0].Placement.Chosen != "test.cloud" {
		t.Fatalf("chosen %s", p.Changes[0].Placement.Chosen)
	}
}
