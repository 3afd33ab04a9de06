package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// instance is the executor of one resource instance: every change llmops
// makes to the world goes through one. It holds what the steps need (the
// provider, the schema, the configuration, the address, the recorded
// object and the lifecycle settings), and each step is a method in a file
// of its own:
//
//	refresh   (instance_refresh.go)   read the recorded object through its provider
//	evaluate  (instance_evaluate.go)  the configuration value, from HCL or a recorded version
//	plan      (instance_plan.go)      the provider's plan, checked (consistency.go)
//	classify  (instance_classify.go)  the action and its reason
//	apply     (instance_apply.go)     intent record, the provider's apply, checked; pending jobs (instance_wait.go)
//	persist   (instance_persist.go)   one state transaction per object
//
// The walks (walk_plan.go, walk_apply.go) only expand resources into
// instances, order them and collect results; plan, apply, destroy,
// rollback, import and watch's restarts all run these same steps.
type instance struct {
	e    *Engine
	addr addrs.ResourceInstance
	// cfg is the resource's configuration block; nil when the object is no
	// longer configured (an orphan being destroyed).
	cfg    *configs.Resource
	prov   *providerInstance
	schema *protocol.Schema
	lc     lifecycle
	// each is the each.value of a for_each instance.
	each cty.Value
	// deps are the resources the instance depends on (recorded with it).
	deps []addrs.Resource
	// prior is the recorded object (refreshed once refresh ran); nil when
	// nothing is recorded at the address.
	prior *recordedObject
	// body, when set, is cfg's decoder spec and references under schema
	// (see configGraph.bodies), so evaluate need not find them again.
	body *resourceBody
}

// typ is the instance's resource type.
func (x *instance) typ() string { return x.addr.Resource.Type }

// priorValue is the unmarked prior value, or a typed null.
func (x *instance) priorValue() cty.Value {
	if x.prior == nil {
		return cty.NullVal(x.schema.Block.ImpliedType())
	}
	v, _ := x.prior.value.UnmarkDeep()
	return v
}

// priorPrivate is the provider's private data of the recorded object.
func (x *instance) priorPrivate() []byte {
	if x.prior == nil {
		return nil
	}
	return x.prior.obj.Private
}

// priorStatus is the status of the recorded object ("" when none).
func (x *instance) priorStatus() state.ObjectStatus {
	if x.prior == nil {
		return ""
	}
	return x.prior.obj.Status
}

// unknown is the instance's value when nothing about it is known.
func (x *instance) unknown() cty.Value {
	return cty.UnknownVal(x.schema.Block.ImpliedType())
}

// noRefresh reports whether the provider's Read of the type returns the
// recorded state unchanged (nothing exists outside llmops's state to read
// or orphan), so refreshing it is skipped.
func (x *instance) noRefresh() bool {
	return x.prov.schema.HasCapability(protocol.CapabilityNoRefreshPrefix + x.typ())
}

// purePlan reports whether the provider's plan of the type depends only on
// the prior state and the configuration.
func (x *instance) purePlan() bool {
	return x.prov.schema.HasCapability(protocol.CapabilityPurePlanPrefix + x.typ())
}

// meta is what persist records beside a value of this instance.
func (x *instance) meta() objMeta {
	m := objMeta{provider: x.prov.addr, schemaVersion: x.schema.Version, deps: x.deps, cbd: x.lc.createBeforeDestroy, version: 1}
	if x.prior != nil && x.prior.obj.Version > 0 {
		m.version = x.prior.obj.Version
	}
	return m
}

// declRange is the source range of the instance's block, nil when it is
// no longer configured.
func (x *instance) declRange() *hcl.Range {
	if x.cfg == nil {
		return nil
	}
	return x.cfg.DeclRange.Ptr()
}

// diags turns a provider's diagnostics into HCL diagnostics pointing at
// the attributes of the instance's block (or the block itself).
func (x *instance) diags(pds protocol.Diagnostics) hcl.Diagnostics {
	if x.cfg == nil {
		return providerDiags(pds, hcl.EmptyBody(), hcl.Range{}, x.addr.String())
	}
	return providerDiags(pds, x.cfg.Config, x.cfg.DeclRange, x.addr.String())
}
