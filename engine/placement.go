package engine

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

// placementRules are a placement block's evaluated settings.
type placementRules struct {
	strategy string
	maxCost  float64 // 0: no bound
	hasMax   bool
}

func (w *planWalk) placementRules(rc *configs.Resource, mod addrs.ModuleInstance) (placementRules, hcl.Diagnostics) {
	pr := placementRules{strategy: "ordered"}
	var diags hcl.Diagnostics
	scope := w.data.scope(mod, addrs.NoKey, cty.NilVal)
	if x := rc.Placement.Strategy; x != nil {
		v, ds := scope.EvalExpr(x, cty.String)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			v, _ = v.Unmark()
			if !v.IsKnown() || v.IsNull() || (v.AsString() != "ordered" && v.AsString() != "cheapest") {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid placement strategy", Detail: `strategy is "ordered" (the first candidate that can run it) or "cheapest".`, Subject: x.Range().Ptr()})
			} else {
				pr.strategy = v.AsString()
			}
		}
	}
	if x := rc.Placement.MaxHourlyCost; x != nil {
		v, ds := scope.EvalExpr(x, cty.Number)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			v, _ = v.Unmark()
			if !v.IsKnown() || v.IsNull() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid max_hourly_cost", Detail: "max_hourly_cost must be a number known when planning.", Subject: x.Range().Ptr()})
			} else {
				pr.maxCost, _ = v.AsBigFloat().Float64()
				pr.hasMax = true
			}
		}
	}
	return pr, diags
}

// candidateChoice is what placing on one candidate found.
type candidateChoice struct {
	addr   addrs.ProviderConfig
	pi     *providerInstance
	schema *protocol.Schema
	offer  *protocol.Offer
	reason string // why rejected; "" when acceptable
}

// place picks the candidate for a new (or replaced) instance.
func (w *planWalk) place(ctx context.Context, rc *configs.Resource, ri addrs.ResourceInstance, each cty.Value, rules placementRules, exclude *addrs.ProviderConfig) (*candidateChoice, *plans.Placement, hcl.Diagnostics) {
	refused := map[addrs.ProviderConfig]string{}
	if exclude != nil {
		refused[*exclude] = "it is where the object being replaced runs"
	}
	return placeOn(ctx, w.e, w.data, rc, ri, each, rules, refused)
}

// placeOn picks a candidate, leaving out those in refused (with the reason
// each was left out: the object being replaced runs there, or it refused
// the object at submit time).
func placeOn(ctx context.Context, e *Engine, data *evalData, rc *configs.Resource, ri addrs.ResourceInstance, each cty.Value, rules placementRules, refused map[addrs.ProviderConfig]string) (*candidateChoice, *plans.Placement, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	info := &plans.Placement{Strategy: rules.strategy}
	if rules.hasMax {
		info.MaxHourlyCost = rules.maxCost
	}
	var choices []*candidateChoice
	for _, cand := range rc.Placement.Candidates {
		c := &candidateChoice{addr: cand}
		choices = append(choices, c)
		pi, err := e.providers.get(ctx, cand)
		if err != nil {
			c.reason = "provider not available: " + err.Error()
			continue
		}
		c.pi = pi
		s, ds := pi.resourceSchema(ri.Resource.Type, rc.TypeRange.Ptr())
		if ds.HasErrors() {
			c.reason = fmt.Sprintf("it does not offer %s", ri.Resource.Type)
			continue
		}
		c.schema = s
		op, ok := pi.client.(protocol.OfferProvider)
		if !ok {
			c.offer = &protocol.Offer{Available: true}
			continue
		}
		cfgVal, ds := data.scope(ri.Resource.Module, ri.Key, each).EvalBody(e.forCandidate(ctx, rc, s).Config, DecoderSpec(s.Block))
		if ds.HasErrors() {
			diags = append(diags, ds...)
			c.reason = "the configuration is not valid for it"
			continue
		}
		raw, _ := completeObject(s.Block, cfgVal).UnmarkDeep()
		resp := op.GetOffers(ctx, protocol.GetOffersRequest{TypeName: ri.Resource.Type, Config: raw})
		if resp.Diagnostics.HasErrors() {
			c.reason = "it could not make an offer: " + resp.Diagnostics.Err().Error()
			continue
		}
		if resp.Unsupported {
			c.offer = &protocol.Offer{Available: true}
			continue
		}
		c.offer, c.reason = bestOffer(resp.Offers, rules)
	}
	pick := pickCandidate(choices, rules, refused)
	for _, c := range choices {
		if c == pick {
			continue
		}
		info.Rejected = append(info.Rejected, rejection(c, pick, rules, refused))
	}
	if pick == nil {
		var lines []string
		for _, r := range info.Rejected {
			lines = append(lines, fmt.Sprintf("  - %s: %s", r.Candidate, r.Reason))
		}
		return nil, info, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("No placement candidate can run %s", ri),
			Detail:   fmt.Sprintf("Every candidate was rejected:\n%s\nFree capacity, add a candidate, or raise max_hourly_cost if the budget allows.", strings.Join(lines, "\n")),
			Subject:  rc.Placement.DeclRange.Ptr(),
		})
	}
	info.Chosen = pick.addr.String()
	info.CanRunNow = pick.offer.Available
	info.Offer = &plans.PlacementOffer{GPUType: pick.offer.GPUType, GPUCount: pick.offer.GPUCount, PricePerHour: pick.offer.PricePerHour, QueueEstimate: pick.offer.QueueEstimate, Location: pick.offer.Location}
	return pick, info, diags
}

// bestOffer picks the cheapest available offer within budget, or says why
// none is acceptable.
func bestOffer(offers []protocol.Offer, rules placementRules) (*protocol.Offer, string) {
	if len(offers) == 0 {
		return nil, "no capacity"
	}
	sorted := append([]protocol.Offer(nil), offers...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].PricePerHour < sorted[j].PricePerHour })
	var reasons []string
	for i := range sorted {
		o := &sorted[i]
		switch {
		case !o.Available:
			r := o.Reason
			if r == "" {
				r = "no capacity"
			}
			reasons = append(reasons, r)
		case rules.hasMax && o.PricePerHour > rules.maxCost:
			reasons = append(reasons, fmt.Sprintf("over budget: %.2f/h > max_hourly_cost %.2f", o.PricePerHour, rules.maxCost))
		default:
			return o, ""
		}
	}
	return nil, strings.Join(dedupe(reasons), "; ")
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// projectCost fills the projected cost from the object's max_duration.
func projectCost(info *plans.Placement, planned cty.Value) {
	if info == nil || info.Offer == nil {
		return
	}
	res := attrOf(planned, "resources")
	d := attrOf(res, "max_duration")
	if d == cty.NilVal || d.IsNull() || !d.IsKnown() || d.Type() != cty.String {
		return
	}
	dur, err := schema.ParseDuration(d.AsString())
	if err != nil {
		return
	}
	info.Hours = dur.Hours()
	info.ProjectedCost = math.Round(info.Offer.PricePerHour*dur.Hours()*100) / 100
	for i, r := range info.Rejected {
		if r.PricePerHour != nil {
			c := math.Round(*r.PricePerHour*dur.Hours()*100) / 100
			info.Rejected[i].ProjectedCost = &c
		}
	}
}

func attrOf(v cty.Value, name string) cty.Value {
	if v == cty.NilVal {
		return cty.NilVal
	}
	u, _ := v.Unmark()
	if u.IsNull() || !u.IsKnown() || !u.Type().IsObjectType() || !u.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return u.GetAttr(name)
}

// planPlaced plans an instance of a resource with a placement block: it
// stays on the candidate it was placed on, unless it is being replaced (or
// is tainted, or -replace asks), in which case it is placed again.
func (w *planWalk) planPlaced(ctx context.Context, x *instance, rules placementRules) (*plans.ResourceInstanceChange, cty.Value, hcl.Diagnostics) {
	rc, ri := x.cfg, x.addr
	on := func(c *candidateChoice, prior *recordedObject) *instance {
		y := *x
		y.prov, y.schema, y.prior = c.pi, c.schema, prior
		y.cfg = w.e.forCandidate(ctx, rc, c.schema)
		return &y
	}
	if x.prior != nil && isCandidate(rc, x.prior.obj.Provider) {
		if pi, err := w.e.providers.get(ctx, x.prior.obj.Provider); err == nil {
			if s, ds := pi.resourceSchema(ri.Resource.Type, rc.TypeRange.Ptr()); !ds.HasErrors() {
				return w.planKept(ctx, on(&candidateChoice{addr: pi.addr, pi: pi, schema: s}, x.prior), rules, on)
			}
		}
	}
	pick, info, diags := w.place(ctx, rc, ri, x.each, rules, nil)
	if pick == nil {
		return nil, cty.DynamicVal, diags
	}
	ch, v, ds := w.planOne(ctx, on(pick, x.prior))
	diags = append(diags, ds...)
	if ch != nil {
		if x.prior != nil && x.prior.obj.Provider != pick.addr {
			old := x.prior.obj.Provider
			ch.PriorProvider = &old
		}
		ch.Placement = info
		projectCost(info, ch.After)
	}
	return ch, v, diags
}

// planKept plans an object on the candidate it was placed on; a
// replacement is placed again, possibly elsewhere.
func (w *planWalk) planKept(ctx context.Context, x *instance, rules placementRules, on func(*candidateChoice, *recordedObject) *instance) (*plans.ResourceInstanceChange, cty.Value, hcl.Diagnostics) {
	ch, v, diags := w.planOne(ctx, x)
	if ch == nil {
		return ch, v, diags
	}
	info := &plans.Placement{Strategy: rules.strategy, Chosen: x.prov.addr.String(), Kept: true}
	if rules.hasMax {
		info.MaxHourlyCost = rules.maxCost
	}
	if !ch.Action.IsReplace() {
		ch.Placement = info
		return ch, v, diags
	}
	pick, pinfo, ds := w.place(ctx, x.cfg, x.addr, x.each, rules, nil)
	diags = append(diags, ds...)
	if pick == nil {
		return nil, cty.DynamicVal, diags
	}
	if pick.addr != x.prov.addr {
		nch, nv, ds := w.planOne(ctx, on(pick, nil))
		diags = append(diags, ds...)
		if nch == nil {
			return nil, nv, diags
		}
		old := x.prov.addr
		nch.Action, nch.Reason, nch.Before, nch.RequiresReplace = ch.Action, ch.Reason, ch.Before, ch.RequiresReplace
		nch.PriorProvider = &old
		ch, v = nch, nv
	}
	ch.Placement = pinfo
	projectCost(pinfo, ch.After)
	return ch, v, diags
}

func isCandidate(rc *configs.Resource, pc addrs.ProviderConfig) bool {
	for _, c := range rc.Placement.Candidates {
		if c == pc {
			return true
		}
	}
	return false
}
