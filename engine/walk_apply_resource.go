package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/state"
)

// applyResource applies the planned changes of one configured resource
// (everything except deletions) in every instance of its module, and
// publishes its values. r is a configuration address.
func (w *applyWalk) applyResource(ctx context.Context, r addrs.Resource) (hcl.Diagnostics, bool) {
	rc := w.e.cfg.Resource(r)
	if rc == nil || w.plan.Mode == plans.DestroyMode {
		return nil, false
	}
	var diags hcl.Diagnostics
	failed := false
	for _, mi := range w.data.moduleInstances(r.Module.Module()) {
		ds, f := w.applyResourceIn(ctx, r.InModule(mi), rc)
		diags = append(diags, ds...)
		failed = failed || f
	}
	if w.isDeferred(r) {
		// Dependents of a job still running wait for the next apply.
		return diags, true
	}
	return diags, failed
}

// applyResourceIn applies the changes of resource r of one module
// instance.
func (w *applyWalk) applyResourceIn(ctx context.Context, r addrs.Resource, rc *configs.Resource) (hcl.Diagnostics, bool) {
	if rc.Addr.IsData() {
		return w.applyData(ctx, r, rc)
	}
	var diags hcl.Diagnostics
	lc, ds := w.e.evalLifecycle(w.data, rc, r.Module)
	diags = append(diags, ds...)
	exp, keys, each, ds := w.e.expand(w.data, rc, r.Module)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return diags, true
	}
	pi, ds := w.e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return ds, true
	}
	rec := w.recorded[r]
	vals := make(map[addrs.InstanceKey]cty.Value, len(keys))
	var mu sync.Mutex
	var grp panics.Group
	failed := false
	for _, k := range keys {
		x := &instance{e: w.e, addr: r.Instance(k), cfg: rc, prov: pi, schema: w.cg.schemas[rc.Addr], lc: lc, each: each[k], deps: w.cg.resourceDeps[rc.Addr], body: w.cg.bodies[rc.Addr]}
		if rec != nil {
			x.prior = rec.instances[k]
		}
		ch := w.changes[x.addr]
		if ch != nil && ch.PrevAddr != nil && x.prior != nil {
			if err := x.move(w.rec, *ch.PrevAddr); err != nil {
				w.fail(x.addr, ch.Action, err.Error())
				diags = append(diags, stateWriteDiag(err)...)
				failed = true
				continue
			}
		}
		if w.nothingToDo(x, ch) {
			v := cty.DynamicVal
			if ch != nil {
				v = ch.After
			} else if x.prior != nil {
				v = x.prior.value
			}
			vals[k] = v
			continue
		}
		grp.Go(func() {
			v, ok, ds := w.applyOne(ctx, x, ch)
			mu.Lock()
			vals[k] = v
			diags = append(diags, ds...)
			if !ok {
				failed = true
			}
			mu.Unlock()
		})
	}
	grp.Wait()
	w.data.setResource(r, exp, vals)
	return diags, failed
}

// nothingToDo reports an instance whose planned change is a no-op on an
// object that is recorded as it was planned.
func (w *applyWalk) nothingToDo(x *instance, ch *plans.ResourceInstanceChange) bool {
	if ch == nil {
		return true
	}
	if ch.Action != plans.NoOp {
		return false
	}
	return x.prior == nil || (x.prior.obj.Status != state.StatusPending && valuesEqual(ch.Before, x.prior.value))
}

// applyOne runs the executor's apply step for one instance, on the
// candidate it was placed on, within the parallelism bound.
func (w *applyWalk) applyOne(ctx context.Context, x *instance, ch *plans.ResourceInstanceChange) (v cty.Value, ok bool, diags hcl.Diagnostics) {
	if !w.e.acquire(ctx) {
		return cty.DynamicVal, false, nil
	}
	defer w.e.release()
	if ch.Provider != (addrs.ProviderConfig{}) && ch.Provider != x.prov.addr {
		// Placed on another candidate.
		if p2, err := w.e.providers.get(ctx, ch.Provider); err == nil {
			if s, ds := p2.resourceSchema(x.typ(), x.cfg.TypeRange.Ptr()); !ds.HasErrors() {
				x.prov, x.schema = p2, s
			}
		}
	}
	x.cfg = w.e.forCandidate(ctx, x.cfg, x.schema)
	v = cty.DynamicVal
	if err := w.e.catchPanic(func() { v, ok, diags = x.apply(ctx, w, ch) }); err != nil {
		w.fail(x.addr, ch.Action, err.Error())
		return cty.DynamicVal, false, hcl.Diagnostics{panicDiag("applying "+x.addr.String(), err)}
	}
	if !ok && capacityRefused(diags) {
		v, ok, diags = w.fallBack(ctx, x, ch, v, diags)
	}
	if ok && ch.Reason == plans.ReasonRollback && ch.Action != plans.NoOp {
		diags = append(diags, w.pin(x, ch)...)
	}
	return v, ok, diags
}

// pin records that a rollback put x back to the plan's version, so that
// later plans keep it there until its configuration changes (history.Pin).
func (w *applyWalk) pin(x *instance, ch *plans.ResourceInstanceChange) hcl.Diagnostics {
	pin := history.Pin{ToSerial: w.plan.RollbackTo, ConfigHash: x.cfg.SourceHash}
	if x.prior != nil {
		pin.FromSerial = x.prior.obj.Serial
	}
	err := w.rec.event(state.Event{Kind: history.EventRollbackPin, Addr: x.addr.String(),
		Message: fmt.Sprintf("rolled back to serial %d", w.plan.RollbackTo), Data: history.PinData(pin)})
	if err != nil {
		return stateWriteDiag(err)
	}
	return nil
}

func (w *applyWalk) isDeferred(r addrs.Resource) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deferred[r]
}

// leavePending notes a long operation left running (-wait=false, or an
// interrupt): its dependents wait for a later apply.
func (w *applyWalk) leavePending(ri addrs.ResourceInstance) {
	w.mu.Lock()
	w.result.StillPending = append(w.result.StillPending, ri)
	w.deferred[ri.Resource.Config()] = true
	w.mu.Unlock()
}

// destroyResource deletes the instances of r planned for deletion
// (including the destroy half of delete-then-create replacements).
func (w *applyWalk) destroyResource(ctx context.Context, r addrs.Resource) (hcl.Diagnostics, bool) {
	var prov addrs.ProviderConfig
	if rc := w.e.cfg.Resource(r); rc != nil {
		prov = rc.Provider
	} else if abs := recordedIn(w.recorded, r); len(abs) > 0 {
		prov = w.recorded[abs[0]].provider
	}
	pi, err := w.e.providers.get(ctx, prov)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot start provider %s", prov), Detail: err.Error()}}, true
	}
	var diags hcl.Diagnostics
	var mu sync.Mutex
	var grp panics.Group
	failed := false
	for _, ch := range w.plan.Changes {
		if ch.Addr.Resource.Config() != r || (ch.Action != plans.Delete && ch.Action != plans.DeleteThenCreate) {
			continue
		}
		grp.Go(func() {
			ok := false
			var ds hcl.Diagnostics
			if w.e.acquire(ctx) {
				if err := w.e.catchPanic(func() { ds, ok = w.destroyInstance(pi, ch) }); err != nil {
					w.fail(ch.Addr, ch.Action, err.Error())
					ds, ok = hcl.Diagnostics{panicDiag("destroying "+ch.Addr.String(), err)}, false
				}
				w.e.release()
			}
			mu.Lock()
			diags = append(diags, ds...)
			if !ok {
				failed = true
			}
			mu.Unlock()
		})
	}
	grp.Wait()
	return diags, failed
}

// destroyInstance deletes one recorded object through the executor and
// ends its record.
func (w *applyWalk) destroyInstance(pi *providerInstance, ch *plans.ResourceInstanceChange) (hcl.Diagnostics, bool) {
	var prior *recordedObject
	if rr := w.recorded[ch.Addr.Resource]; rr != nil {
		prior = rr.instances[ch.Addr.Key]
	}
	if prior == nil {
		return nil, true
	}
	x := &instance{e: w.e, addr: ch.Addr, cfg: w.e.cfg.Resource(ch.Addr.Resource), prov: w.providerOf(pi, prior.obj.Provider), prior: prior}
	start, err := x.destroy(w, ch.Before, prior.obj.Private)
	if err != nil {
		w.fail(x.addr, ch.Action, err.Error())
		x.e.hooks.PostApply(x.addr, plans.Delete, time.Since(start), "", err)
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot destroy %s", x.addr), Detail: err.Error(), Subject: x.declRange()}}, false
	}
	recordedAt := x.addr
	if ch.PrevAddr != nil {
		recordedAt = *ch.PrevAddr // moved, then removed: never recorded here
	}
	if err := w.rec.remove(recordedAt); err != nil {
		w.fail(x.addr, ch.Action, err.Error())
		return stateWriteDiag(err), false
	}
	if ch.Action == plans.Delete {
		w.count(plans.Delete)
	}
	x.e.hooks.PostApply(x.addr, plans.Delete, time.Since(start), "", nil)
	return nil, true
}

// providerOf returns the instance of the provider that recorded an object:
// pi, unless the object lives with another candidate (placed elsewhere).
func (w *applyWalk) providerOf(pi *providerInstance, recorded addrs.ProviderConfig) *providerInstance {
	if recorded == pi.addr {
		return pi
	}
	if p2, err := w.e.providers.get(w.callCtx, recorded); err == nil {
		return p2
	}
	return pi
}
