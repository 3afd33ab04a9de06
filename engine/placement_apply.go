package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// capacityRefused reports whether a failed apply is a provider's refusal
// for lack of capacity at submit time (protocol.CapacityRefused): nothing
// was made, and a placed object may go to its next candidate.
func capacityRefused(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && protocol.IsCapacityRefused(d.Summary) {
			return true
		}
	}
	return false
}

// fallBack places a placed object whose create the chosen candidate
// refused for lack of capacity on the next acceptable candidate (by the
// plan's strategy and budget, leaving out every candidate that refused),
// and applies it there: the refusal becomes a warning, and the state
// records the candidate it ran on. Without another candidate the refusals
// stay errors.
func (w *applyWalk) fallBack(ctx context.Context, x *instance, ch *plans.ResourceInstanceChange, v cty.Value, diags hcl.Diagnostics) (cty.Value, bool, hcl.Diagnostics) {
	rc := w.e.cfg.Resource(x.addr.Resource)
	if rc == nil || rc.Placement == nil || (ch.Action != plans.Create && ch.Action != plans.DeleteThenCreate) || ch.Config != cty.NilVal {
		return v, false, diags
	}
	rules := placementRules{strategy: "ordered"}
	if ch.Placement != nil {
		rules.strategy = ch.Placement.Strategy
		rules.maxCost, rules.hasMax = ch.Placement.MaxHourlyCost, ch.Placement.MaxHourlyCost > 0
	}
	refused := map[addrs.ProviderConfig]string{}
	var notes []string
	cur := x
	for {
		why := refusalText(diags)
		refused[cur.prov.addr] = "it refused at submit time: " + why
		notes = append(notes, fmt.Sprintf("%s refused it (%s)", cur.prov.addr, why))
		pick, _, _ := placeOn(ctx, w.e, w.data, rc, x.addr, x.each, rules, refused)
		if pick == nil {
			return v, false, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("No placement candidate could take %s", x.addr),
				Detail:  strings.Join(notes, "; ") + ", and no other candidate can run it. Free capacity or raise the quota, add a candidate, or raise max_hourly_cost if the budget allows.",
				Subject: x.declRange()})
		}
		w.unfail(x.addr)
		y := *x
		y.prov, y.schema = pick.pi, pick.schema
		y.cfg = w.e.forCandidate(ctx, rc, pick.schema)
		y.prior = nil
		nch := *ch
		nch.Action = plans.Create
		nch.Provider = pick.addr
		nch.Before = cty.NullVal(pick.schema.Block.ImpliedType())
		nch.After = cty.UnknownVal(pick.schema.Block.ImpliedType())
		nv, ok, nds := y.apply(ctx, w, &nch)
		if ok || !capacityRefused(nds) {
			warn := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: fmt.Sprintf("%s placed on %s instead", x.addr, pick.addr),
				Detail: strings.Join(notes, "; ") + fmt.Sprintf("; it was placed on %s, the next candidate (strategy %s).", pick.addr, rules.strategy), Subject: x.declRange()}
			return nv, ok, append(nds, warn)
		}
		cur, v, diags = &y, nv, nds
	}
}

// refusalText is the first refusal's summary without its prefix.
func refusalText(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && protocol.IsCapacityRefused(d.Summary) {
			return strings.TrimPrefix(d.Summary, protocol.CapacityRefusedPrefix)
		}
	}
	return "no capacity"
}

// unfail forgets the recorded failure of an instance whose refused create
// falls back to another candidate.
func (w *applyWalk) unfail(ri addrs.ResourceInstance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.result.Failed) - 1; i >= 0; i-- {
		if w.result.Failed[i].Addr == ri {
			w.result.Failed = append(w.result.Failed[:i], w.result.Failed[i+1:]...)
			return
		}
	}
}
