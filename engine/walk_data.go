package engine

import (
	"context"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
)

// planData reads the instances of data source r (in one module instance)
// through the executor's evaluate and read steps: now, when the
// configuration is known, or during apply when it depends on values known
// only then (the plan shows those as read during apply, with their
// computed attributes unknown).
func (w *planWalk) planData(ctx context.Context, r addrs.Resource, rc *configs.Resource) hcl.Diagnostics {
	exp, keys, each, diags := w.e.expand(w.data, rc, r.Module)
	if diags.HasErrors() || w.opts.Mode == plans.DestroyMode {
		w.data.setResource(r, exp, nil)
		return diags
	}
	pi, ds := w.e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return append(diags, ds...)
	}
	vals := make(map[addrs.InstanceKey]cty.Value, len(keys))
	for _, k := range keys {
		x := &instance{e: w.e, addr: r.Instance(k), cfg: rc, prov: pi, schema: w.cg.schemas[rc.Addr], each: each[k]}
		if !w.instanceSelected(x.addr) {
			vals[k] = cty.DynamicVal
			continue
		}
		v, ch, ds := w.readOne(ctx, x)
		diags = append(diags, ds...)
		vals[k] = v
		if ch != nil {
			w.mu.Lock()
			w.dataReads = append(w.dataReads, ch)
			w.mu.Unlock()
		}
	}
	w.data.setResource(r, exp, vals)
	return diags
}

// readOne evaluates and reads one data source instance, or leaves it to
// apply.
func (w *planWalk) readOne(ctx context.Context, x *instance) (cty.Value, *plans.ResourceInstanceChange, hcl.Diagnostics) {
	if !w.e.acquire(ctx) {
		return x.unknown(), nil, nil
	}
	defer w.e.release()
	cv, diags := x.evaluate(w.data.scope(x.addr.Resource.Module, x.addr.Key, x.each))
	if diags.HasErrors() {
		return x.unknown(), nil, diags
	}
	ch := &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Action: plans.Read, Before: cty.NullVal(x.schema.Block.ImpliedType())}
	if !cv.raw.IsWhollyKnown() || w.dependsOnChanges(x.cfg) {
		ch.Reason, ch.After = plans.ReasonReadDuringApply, x.pendingData(cv)
		return ch.After, ch, diags
	}
	v, ds := x.readData(ctx, cv)
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return v, nil, diags
	}
	ch.After = v
	return v, ch, diags
}

// applyData publishes the values of data source r (in one module
// instance): those read during plan as the plan has them, the others read
// now through the executor, their configuration known at last.
func (w *applyWalk) applyData(ctx context.Context, r addrs.Resource, rc *configs.Resource) (hcl.Diagnostics, bool) {
	exp, keys, each, diags := w.e.expand(w.data, rc, r.Module)
	if diags.HasErrors() {
		return diags, true
	}
	pi, ds := w.e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return append(diags, ds...), true
	}
	vals := make(map[addrs.InstanceKey]cty.Value, len(keys))
	failed := false
	for _, k := range keys {
		ri := r.Instance(k)
		read := w.dataReads[ri]
		switch {
		case read == nil:
			vals[k] = cty.DynamicVal
		case read.Reason != plans.ReasonReadDuringApply:
			vals[k] = read.After
		default:
			x := &instance{e: w.e, addr: ri, cfg: rc, prov: pi, schema: w.cg.schemas[rc.Addr], each: each[k]}
			cv, ds := x.evaluate(w.data.scope(r.Module, k, each[k]))
			diags = append(diags, ds...)
			if ds.HasErrors() {
				failed = true
				continue
			}
			if !w.e.acquire(ctx) {
				failed = true
				continue
			}
			v, ds := x.readData(w.callCtx, cv)
			w.e.release()
			diags = append(diags, ds...)
			failed = failed || ds.HasErrors()
			vals[k] = v
		}
	}
	w.data.setResource(r, exp, vals)
	return diags, failed
}

// dependsOnChanges reports whether an object the data source's
// depends_on names (directly or through what it depends on) has a
// planned change: reading it now would read what apply is about to
// change, so it is read during apply instead.
func (w *planWalk) dependsOnChanges(rc *configs.Resource) bool {
	if len(rc.DependsOn) == 0 {
		return false
	}
	deps := map[addrs.Resource]bool{}
	for _, d := range w.cg.resourceDeps[rc.Addr] {
		deps[d] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.changes {
		if c.Action != plans.NoOp && deps[c.Addr.Resource.Config()] {
			return true
		}
	}
	return false
}
