package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// configureFromState configures every provider for an operation that is
// not a plan of the configuration (rollback, import): locals are
// evaluated and resources take their recorded values, so provider blocks
// that refer to them work.
func (e *Engine) configureFromState(ctx context.Context) (*configGraph, map[addrs.Resource]*recordedResource, *evalData, hcl.Diagnostics) {
	_, recorded, diags := e.loadRecorded(ctx)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	cg, ds := e.prepareGraph(ctx, recorded)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	d := e.newEvalData(cg)
	var mu = make(chan struct{}, 1)
	cg.g.Walk(ctx, 0, func(ctx context.Context, n node) graph.Result {
		var ds hcl.Diagnostics
		if err := e.catchPanic(func() {
			switch n.kind {
			case nkLocal:
				ds = e.evalLocal(d, n.mod, n.name)
			case nkModule:
				ds = e.evalModuleCall(d, n.mod)
			case nkOutput:
				if !n.mod.IsRoot() {
					ds = e.evalModuleOutput(d, n.mod, n.name)
				}
			case nkProvider:
				ds = e.configureProvider(ctx, d, n.prov)
			case nkResource:
				for _, abs := range recordedIn(recorded, n.res) {
					insts, exp := recordedValues(recorded[abs])
					d.setResource(abs, exp, insts)
				}
			}
		}); err != nil {
			ds = hcl.Diagnostics{panicDiag("configuring "+n.String(), err)}
		}
		mu <- struct{}{}
		diags = append(diags, ds...)
		<-mu
		return graph.OK
	}, nil)
	return cg, recorded, d, diags
}

// recordedValues are the recorded instances' values of a resource, and
// how the resource expands.
func recordedValues(rr *recordedResource) (map[addrs.InstanceKey]cty.Value, expansion) {
	insts := map[addrs.InstanceKey]cty.Value{}
	exp := expandSingle
	if rr == nil {
		return insts, exp
	}
	for k, ro := range rr.instances {
		insts[k] = ro.value
		switch k.(type) {
		case addrs.IntKey:
			exp = expandCount
		case addrs.StringKey:
			exp = expandForEach
		}
	}
	return insts, exp
}

// PlanRollback plans putting each target back to what it was in version
// toSerial. It is an ordinary plan, applied by Apply: each change is
// planned by the provider from the current object to the configuration of
// the recorded one (for a deployment, an update to the earlier model: no
// training), carries that configuration (Config) and ReasonRollback, and
// applying it pins the object there (history.Pin).
func (e *Engine) PlanRollback(ctx context.Context, targets []addrs.ResourceInstance, toSerial int64) (*plans.Plan, hcl.Diagnostics) {
	cg, recorded, data, diags := e.configureFromState(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	oldObjs, ds := e.readVersion(ctx, toSerial)
	if ds.HasErrors() {
		return nil, append(diags, ds...)
	}
	p := &plans.Plan{Mode: plans.NormalMode, CreatedAt: time.Now().UTC(), Lineage: e.opts.Store.Lineage(), PrevSerial: e.snap.Serial, ConfigDigest: e.cfg.Digest, RollbackTo: toSerial}
	for _, ri := range targets {
		x, ds := e.rollbackInstance(ctx, cg, recorded, data, ri, oldObjs[ri], toSerial)
		diags = append(diags, ds...)
		if x == nil {
			continue
		}
		ch, ds := x.planChange(ctx, refreshed{}, x.recordedConfig(x.to), plans.ReasonNone)
		diags = append(diags, ds...)
		if ch == nil {
			continue
		}
		ch.Reason = plans.ReasonRollback
		if ch.Action != plans.NoOp {
			ch.Config = x.recordedConfig(x.to).marked
		}
		p.Changes = append(p.Changes, ch)
	}
	p.Sort()
	return p, diags
}

// readVersion decodes the objects of state version serial, opening their
// sealed values with the state key (rolling back restores them).
func (e *Engine) readVersion(ctx context.Context, serial int64) (map[addrs.ResourceInstance]*history.Object, hcl.Diagnostics) {
	old, err := e.opts.Store.Snapshot(ctx, serial)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the state version", Detail: err.Error()}}
	}
	if old.Serial != serial {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No such state version", Detail: fmt.Sprintf("There is no state version %d; `llmops history` lists them.", serial)}}
	}
	objs, err := history.Decode(old, e.opts.Secrets)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid state version", Detail: err.Error()}}
	}
	return objs, nil
}

// rollbackInstance builds the executor for one rollback target, or says
// why it cannot be rolled back.
func (e *Engine) rollbackInstance(ctx context.Context, cg *configGraph, recorded map[addrs.Resource]*recordedResource, data *evalData, ri addrs.ResourceInstance, target *history.Object, toSerial int64) (*rollbackTarget, hcl.Diagnostics) {
	fail := func(summary, detail string) (*rollbackTarget, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
	}
	if target == nil {
		return fail("Nothing to roll back to", fmt.Sprintf("%s did not exist in state version %d. `llmops history %s` lists its versions.", ri, toSerial, ri))
	}
	if target.Sealed {
		return fail("The state key is needed", fmt.Sprintf("%s had sensitive values in state version %d, sealed with the state key; rolling back restores them. %s", ri, toSerial, secretsHelp))
	}
	var cur *recordedObject
	if rr := recorded[ri.Resource]; rr != nil {
		cur = rr.instances[ri.Key]
	}
	if cur == nil {
		return fail("Object not in the state", fmt.Sprintf("%s is not recorded now; apply the configuration first, or import it.", ri))
	}
	rc := e.cfg.Resource(ri.Resource)
	if rc == nil {
		return fail("Object not in the configuration", fmt.Sprintf("%s is recorded, but its block is no longer in the configuration. Put the block back to roll it back.", ri))
	}
	if _, keys, _, ds := e.expand(data, rc, ri.Resource.Module); ds.HasErrors() || !containsKey(keys, ri.Key) {
		return fail("Object not in the configuration", fmt.Sprintf("The configuration of %s no longer has the instance %s (count or for_each changed). Put it back to roll it back.", ri.Resource, ri))
	}
	pi, err := e.providers.get(ctx, cur.obj.Provider)
	if err != nil {
		return fail("Cannot start provider "+cur.obj.Provider.String(), err.Error())
	}
	schema, ds := pi.resourceSchema(ri.Resource.Type, nil)
	if ds.HasErrors() {
		return nil, ds
	}
	lc, ds := e.evalLifecycle(data, rc, ri.Resource.Module)
	if ds.HasErrors() {
		return nil, ds
	}
	// The old object keeps serving until the one rolled back to exists.
	lc.createBeforeDestroy = true
	// What was sensitive in either version stays sensitive.
	tv := values.MarkPaths(target.Value, values.SensitivePaths(cur.value))
	return &rollbackTarget{
		instance: &instance{e: e, addr: ri, cfg: rc, prov: pi, schema: schema, lc: lc, deps: cg.resourceDeps[rc.Addr], prior: cur},
		to:       tv,
	}, nil
}

// rollbackTarget is the executor of a rollback target with the value of
// the version it returns to.
type rollbackTarget struct {
	*instance
	to cty.Value
}

func containsKey(keys []addrs.InstanceKey, k addrs.InstanceKey) bool {
	for _, kk := range keys {
		if kk == k {
			return true
		}
	}
	return false
}

// Import adopts the existing object named id into the state at addr: the
// provider finds it, the executor reads it and records it.
func (e *Engine) Import(ctx context.Context, addr addrs.ResourceInstance, id string, opts ApplyOptions) (cty.Value, hcl.Diagnostics) {
	rc := e.cfg.Resource(addr.Resource)
	if rc == nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Import needs a configuration block",
			Detail: fmt.Sprintf("Declare %s in the configuration first (its attributes describe the object), then import it. llmops will then manage it.", addr.Resource)}}
	}
	cg, recorded, data, diags := e.configureFromState(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if rr := recorded[addr.Resource]; rr != nil && rr.instances[addr.Key] != nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Already managed", Detail: fmt.Sprintf("%s is already in the state. Remove it first with `llmops state rm %s` to import another object there.", addr, addr)}}
	}
	pi, ds := e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return cty.NilVal, ds
	}
	lc, ds := e.evalLifecycle(data, rc, addr.Resource.Module)
	diags = append(diags, ds...)
	x := &instance{e: e, addr: addr, cfg: rc, prov: pi, schema: cg.schemas[rc.Addr], lc: lc, deps: cg.resourceDeps[rc.Addr]}
	// The import request carries the resource's configuration (what the
	// id does not tell, such as a credential for the read that follows);
	// one that cannot be evaluated yet is left out.
	cfgVal := cty.NilVal
	if cv, ds := x.evaluate(data.scope(addr.Resource.Module, addr.Key, cty.DynamicVal)); !ds.HasErrors() {
		cfgVal = cv.raw
	}
	rec := e.newRecorder(ctx, opts)
	v, ds := x.importObject(ctx, rec, id, cfgVal)
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return cty.NilVal, diags
	}
	if _, ds := rec.finish(false, state.Counts{Added: 1}); ds.HasErrors() {
		return cty.NilVal, append(diags, ds...)
	}
	e.snap, e.recorded = nil, nil
	return v, diags
}
