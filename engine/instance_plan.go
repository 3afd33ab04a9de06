package engine

import (
	"context"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// planned is a provider's plan for one instance, checked.
type planned struct {
	// value is the planned new value without marks, as the provider
	// returned it; null for a delete.
	value           cty.Value
	requiresReplace []cty.Path
	private         []byte
	// proposed is the engine's proposal the provider started from.
	proposed cty.Value
}

// planRequest is the input of the plan step.
type planRequest struct {
	config configValue
	// prior is the object the change starts from (unmarked): the recorded
	// object for an update, null for a create or a replacement's create.
	prior        cty.Value
	priorPrivate []byte
	// validate asks the provider to validate the configuration first
	// (unless its plan validates already).
	validate bool
}

// plan asks the provider to plan the change from req.prior to the
// configuration, and holds the answer to the plan contract (checkPlan).
func (x *instance) plan(ctx context.Context, req planRequest) (planned, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if req.validate && !x.prov.schema.HasCapability(protocol.CapabilityPlanValidates) {
		vr := x.prov.client.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: x.typ(), Config: req.config.raw, SensitivePaths: req.config.sensitive})
		diags = append(diags, x.diags(vr.Diagnostics)...)
		if diags.HasErrors() {
			return planned{}, diags
		}
	}
	proposed := x.propose(req.config, req.prior)
	resp := x.prov.client.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{
		TypeName:         x.typ(),
		PriorState:       req.prior,
		ProposedNewState: proposed,
		Config:           req.config.raw,
		PriorPrivate:     req.priorPrivate,
		// The provider masks the values at these paths in its logs,
		// errors and files.
		SensitivePaths: req.config.sensitive,
	})
	diags = append(diags, x.diags(resp.Diagnostics)...)
	if resp.Diagnostics.HasErrors() {
		return planned{}, diags
	}
	pv := resp.PlannedState
	if pv == cty.NilVal {
		pv = cty.NullVal(x.schema.Block.ImpliedType())
	}
	if found := checkPlan(x.schema.Block, req.config.raw, proposed, pv); len(found) > 0 {
		return planned{}, append(diags, inconsistencyDiag(summaryInvalidPlan, x.prov.addr, x.addr, req.config.sensitive, x.declRange(), found))
	}
	return planned{value: pv, requiresReplace: resp.RequiresReplace, private: resp.PlannedPrivate, proposed: proposed}, diags
}

// propose merges the configuration with the prior object (computed
// attributes left unset keep their prior value; ignore_changes keeps the
// prior value of the attributes it names).
func (x *instance) propose(cv configValue, prior cty.Value) cty.Value {
	return proposedNew(x.schema.Block, prior, cv.raw, x.lc.ignore)
}
