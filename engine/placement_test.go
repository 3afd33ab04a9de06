package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
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

// A block that only some candidates define is accepted, validated by
// those that define it, and passed only to them; a block no candidate
// defines is refused.
func TestPlacementProviderSpecificBlocks(t *testing.T) {
	onprem, cloud := newTestProvider(), newTestProvider()
	onprem.runBlocks = map[string]*protocol.NestedBlock{"onprem": {Nesting: protocol.NestingSingle, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{"partition": {Type: cty.String, Optional: true}}}}}
	cloud.runBlocks = map[string]*protocol.NestedBlock{"cloud": {Nesting: protocol.NestingSingle, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{"image": {Type: cty.String, Optional: true}}}}}
	onprem.offers = []protocol.Offer{{Available: false, Reason: "drained"}}
	cloud.offers = []protocol.Offer{{Available: true, PricePerHour: 3}}
	cloud.kindsOnly = true
	h := placementHarness(t, map[string]*testProvider{"onprem": onprem, "workstation": onprem, "cloud": cloud})
	// Schemas are per provider type: the cloud is another type.
	hcl2 := strings.NewReplacer(`provider "test" { alias = "cloud" }`, `provider "other" { alias = "cloud" }`, "test.cloud", "other.cloud").Replace(placementHCL)
	h.write(map[string]string{"main.llmops.hcl": strings.Replace(hcl2, `input            = "train"`, `input = "train"
  onprem { partition = "gpu" }
  cloud { image = var.gen }`, 1)})
	e, diags := h.engine()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if diags := e.Validate(context.Background()); diags.HasErrors() {
		t.Fatalf("validate: %s", diags.Error())
	}
	if len(onprem.validated) == 0 || len(cloud.validated) == 0 {
		t.Fatalf("every candidate validates the object: onprem %d, cloud %d validations", len(onprem.validated), len(cloud.validated))
	}
	if v := cloud.validated[0]; !v.Type().HasAttribute("cloud") || v.Type().HasAttribute("onprem") {
		t.Fatalf("the cloud candidate sees %s", v.Type().FriendlyName())
	}
	if _, res, diags := h.apply(PlanOptions{}); diags.HasErrors() || res.Counts.Added != 1 {
		t.Fatalf("apply: %v %+v", diags, res)
	}
	if len(cloud.created) != 1 || cloud.created[0].GetAttr("cloud").GetAttr("image").AsString() != "1" {
		t.Fatalf("created on cloud with %v", cloud.created)
	}

	h.write(map[string]string{"main.llmops.hcl": strings.Replace(hcl2, `input            = "train"`, `input = "train"
  bogus { x = 1 }`, 1)})
	e, _ = h.engine()
	if diags := e.Validate(context.Background()); !diags.HasErrors() || !strings.Contains(diags.Error(), "bogus") {
		t.Fatalf("a block no candidate defines must be refused, got %v", diags)
	}
}

// Equal prices are a tie, not "dearer"; every rejected candidate says
// what it offered (can run now, price, projected cost).
func TestPlacementEqualPricesAndOffers(t *testing.T) {
	a, b, c := newTestProvider(), newTestProvider(), newTestProvider()
	a.offers = []protocol.Offer{{Available: true, PricePerHour: 2}}
	b.offers = []protocol.Offer{{Available: true, PricePerHour: 2}}
	c.offers = []protocol.Offer{{Available: true, PricePerHour: 5}}
	h := placementHarness(t, map[string]*testProvider{"onprem": a, "workstation": b, "cloud": c})
	h.write(map[string]string{"main.llmops.hcl": strings.Replace(placementHCL, `"ordered"`, `"cheapest"`, 1)})
	pl := h.plan(PlanOptions{}).Changes[0].Placement
	if pl.Chosen != "test.onprem" || !pl.CanRunNow {
		t.Fatalf("chosen %s (can run now %v)", pl.Chosen, pl.CanRunNow)
	}
	got := map[string]plans.PlacementRejection{}
	for _, r := range pl.Rejected {
		got[r.Candidate] = r
	}
	if r := got["test.workstation"]; !strings.Contains(r.Reason, "same price") || strings.Contains(r.Reason, "dearer") {
		t.Fatalf("equal price reported as %q", r.Reason)
	}
	if r := got["test.cloud"]; !strings.Contains(r.Reason, "dearer (5.00/h)") || !r.CanRunNow || r.ProjectedCost == nil || *r.ProjectedCost != 30 {
		t.Fatalf("cloud: %+v", r)
	}
}

// A candidate that refuses at submit time (no capacity) makes apply fall
// back to the next one; the state records where the object runs.
func TestPlacementFallsBackOnSubmitRefusal(t *testing.T) {
	cheap, next, dear := newTestProvider(), newTestProvider(), newTestProvider()
	cheap.offers = []protocol.Offer{{Available: true, PricePerHour: 1}}
	cheap.refuse = true
	next.offers = []protocol.Offer{{Available: true, PricePerHour: 2}}
	dear.offers = []protocol.Offer{{Available: true, PricePerHour: 50}}
	h := placementHarness(t, map[string]*testProvider{"onprem": dear, "workstation": cheap, "cloud": next})
	h.write(map[string]string{"main.llmops.hcl": strings.Replace(placementHCL, `"ordered"`, `"cheapest"`, 1)})
	p, res, diags := h.apply(PlanOptions{})
	if p.Changes[0].Placement.Chosen != "test.workstation" {
		t.Fatalf("plan chose %s", p.Changes[0].Placement.Chosen)
	}
	if diags.HasErrors() || res.Counts.Added != 1 || len(res.Failed) != 0 {
		t.Fatalf("apply: %v %+v", diags, res)
	}
	if !strings.Contains(diagText(diags), "placed on test.cloud instead") || !strings.Contains(diagText(diags), "quota exhausted") {
		t.Fatalf("want a warning naming the refusal and the fallback, got %v", diags)
	}
	if len(next.created) != 1 || len(dear.created) != 0 {
		t.Fatalf("created on next %d, dear %d (dear is over budget)", len(next.created), len(dear.created))
	}
	snap, _ := h.store.Snapshot(context.Background(), 0)
	if len(snap.Objects) != 1 || snap.Objects[0].Provider.Alias != "cloud" {
		t.Fatalf("recorded %+v", snap.Objects)
	}
	if p := h.plan(PlanOptions{}); p.HasChanges() {
		t.Fatalf("the object stays where it ran: %v", actions(p))
	}

	// Every candidate refusing is an error naming each refusal.
	next.refuse = true
	h2 := placementHarness(t, map[string]*testProvider{"onprem": dear, "workstation": cheap, "cloud": next})
	h2.write(map[string]string{"main.llmops.hcl": strings.Replace(placementHCL, `"ordered"`, `"cheapest"`, 1)})
	_, res, diags = h2.apply(PlanOptions{})
	if !diags.HasErrors() || !strings.Contains(diagText(diags), "No placement candidate could take") || len(res.Failed) != 1 {
		t.Fatalf("want a failure naming the refusals, got %v %+v", diags, res)
	}
}

func diagText(ds hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}
