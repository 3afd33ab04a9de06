package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/state"
)

// planResource plans every instance of one configured resource in every
// instance of its module (or, for an orphan, the deletion of every
// recorded instance) and publishes the resource's values for the blocks
// that refer to them. r is a configuration address.
func (w *planWalk) planResource(ctx context.Context, r addrs.Resource) hcl.Diagnostics {
	rc := w.resourceConfig(r)
	if rc == nil {
		// Removed from the configuration: delete what is recorded.
		for _, abs := range recordedIn(w.recorded, r) {
			w.deleteRecorded(abs, plans.ReasonRemovedFromConfig)
		}
		return nil
	}
	if w.opts.Mode == plans.DestroyMode {
		return w.planDestroyRecorded(r, rc)
	}
	var diags hcl.Diagnostics
	live := map[addrs.ModuleInstance]bool{}
	for _, mi := range w.data.moduleInstances(r.Module.Module()) {
		live[mi] = true
		diags = append(diags, w.planResourceIn(ctx, r.InModule(mi), rc)...)
	}
	if ctx.Err() == nil && !diags.HasErrors() {
		// Instances of module instances that count or for_each no longer make.
		for _, abs := range recordedIn(w.recorded, r) {
			if !live[abs.Module] {
				w.deleteRecorded(abs, plans.ReasonModuleInstanceRemoved)
			}
		}
	}
	return diags
}

// planDestroyRecorded plans, for a destroy, the deletion of every recorded
// instance of the configured resource r: what the state records, in
// whatever module instances, whatever count and for_each say now (they
// may depend on objects being destroyed).
func (w *planWalk) planDestroyRecorded(r addrs.Resource, rc *configs.Resource) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, abs := range recordedIn(w.recorded, r) {
		// What refers to it (a module's for_each, a lifecycle) sees
		// the recorded values.
		insts, exp := recordedValues(w.recorded[abs])
		w.data.setResource(abs, exp, insts)
		lc, ds := w.e.evalLifecycle(w.data, rc, abs.Module)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue // prevent_destroy cannot be told: destroy nothing of it
		}
		diags = append(diags, w.planDestroyResource(abs, rc, w.recorded[abs], lc)...)
	}
	return diags
}

// deleteRecorded plans the deletion of every recorded instance of r.
func (w *planWalk) deleteRecorded(r addrs.Resource, reason plans.Reason) {
	rec := w.recorded[r]
	for _, k := range sortedKeys(rec.instances) {
		if ri := r.Instance(k); w.instanceSelected(ri) {
			w.addChange(deleteChange(ri, rec.provider, rec.instances[k], reason))
		}
	}
}

// planResourceIn plans the instances of resource r of one module
// instance.
func (w *planWalk) planResourceIn(ctx context.Context, r addrs.Resource, rc *configs.Resource) hcl.Diagnostics {
	if rc.Addr.IsData() {
		return w.planData(ctx, r, rc)
	}
	rec := w.recorded[r]
	cfgAddr := rc.Addr
	var diags hcl.Diagnostics
	lc, ds := w.e.evalLifecycle(w.data, rc, r.Module)
	diags = append(diags, ds...)
	exp, keys, each, ds := w.e.expand(w.data, rc, r.Module)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		w.data.setResource(r, exp, nil)
		return diags
	}
	pi, ds := w.e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return ds
	}
	var rules placementRules
	if rc.Placement != nil {
		if rules, ds = w.placementRules(rc, r.Module); ds.HasErrors() {
			w.data.setResource(r, exp, nil)
			return append(diags, ds...)
		}
	}
	planned := make(map[addrs.InstanceKey]cty.Value, len(keys))
	var mu sync.Mutex
	var grp panics.Group
	for _, k := range keys {
		x := &instance{e: w.e, addr: r.Instance(k), cfg: rc, prov: pi, schema: w.cg.schemas[cfgAddr], lc: lc, each: each[k], deps: w.cg.resourceDeps[cfgAddr], body: w.cg.bodies[cfgAddr]}
		if rec != nil {
			x.prior = rec.instances[k]
		}
		if !w.instanceSelected(x.addr) {
			// Not targeted: keep the recorded value for references.
			v := cty.DynamicVal
			if x.prior != nil {
				v = x.prior.value
			}
			planned[k] = v
			continue
		}
		grp.Go(func() {
			if !w.e.acquire(ctx) {
				return
			}
			defer w.e.release()
			var ch *plans.ResourceInstanceChange
			v := cty.DynamicVal
			var ds hcl.Diagnostics
			if err := w.e.catchPanic(func() {
				if rc.Placement != nil {
					ch, v, ds = w.planPlaced(ctx, x, rules)
				} else {
					ch, v, ds = w.planOne(ctx, x)
				}
			}); err != nil {
				ch, v, ds = nil, cty.DynamicVal, hcl.Diagnostics{panicDiag("planning "+x.addr.String(), err)}
			}
			mu.Lock()
			planned[k] = v
			diags = append(diags, ds...)
			mu.Unlock()
			if ch != nil {
				w.addChange(ch)
			}
		})
	}
	grp.Wait()
	if ctx.Err() == nil && rec != nil {
		w.planRemovedInstances(r, exp, keys, rec)
	}
	w.data.setResource(r, exp, planned)
	return diags
}

// planRemovedInstances plans the deletion of recorded instances that the
// expansion no longer has.
func (w *planWalk) planRemovedInstances(r addrs.Resource, exp expansion, keys []addrs.InstanceKey, rec *recordedResource) {
	want := make(map[addrs.InstanceKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	for _, k := range sortedKeys(rec.instances) {
		ri := r.Instance(k)
		if want[k] || !w.instanceSelected(ri) {
			continue
		}
		reason := plans.ReasonCountIndex
		if _, ok := k.(addrs.StringKey); ok {
			reason = plans.ReasonEachKey
		}
		if exp == expandSingle || (exp == expandCount && k == addrs.NoKey) {
			reason = plans.ReasonRemovedFromConfig
		}
		w.addChange(deleteChange(ri, rec.provider, rec.instances[k], reason))
	}
}

// planOne runs the executor's plan steps for one instance: refresh,
// evaluate, plan, classify. It returns the change and the value that
// references to the instance see.
func (w *planWalk) planOne(ctx context.Context, x *instance) (*plans.ResourceInstanceChange, cty.Value, hcl.Diagnostics) {
	r, diags := x.refresh(ctx, w.opts.SkipRefresh)
	if diags.HasErrors() {
		return nil, x.unknown(), diags
	}
	if r.drift != nil {
		w.addDrift(r.drift)
	}
	if w.opts.Mode == plans.RefreshOnlyMode {
		if x.prior == nil {
			return nil, cty.DynamicVal, diags
		}
		return nil, x.prior.value, diags
	}
	cv, ds := x.evaluate(w.data.scope(x.addr.Resource.Module, x.addr.Key, x.each))
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return nil, x.unknown(), diags
	}
	ch, ds := x.planChange(ctx, r, cv, x.replaceReason(w.replaceRequested(x.addr)))
	diags = append(diags, ds...)
	if ch == nil {
		return nil, x.unknown(), diags
	}
	if ch.Action.IsReplace() && x.lc.preventDestroy {
		diags = append(diags, preventDestroyDiag(x.addr, x.cfg))
	}
	if pin, ok := w.opts.Pins[x.addr]; ok && ch.Action != plans.NoOp && ch.Reason != plans.ReasonTainted && ch.Reason != plans.ReasonCreateInterrupted {
		if pch, held, ds := w.planPinned(ctx, x, r, pin, ch); held {
			return pch, pch.After, append(diags, ds...)
		}
	}
	return ch, ch.After, diags
}

// planChange plans and classifies the change of an evaluated instance.
// reason forces a replacement (tainted, interrupted, -replace).
func (x *instance) planChange(ctx context.Context, r refreshed, cv configValue, reason plans.Reason) (*plans.ResourceInstanceChange, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := classification{refresh: r, config: cv, reason: reason}
	validate := true
	if x.prior != nil && reason == plans.ReasonNone {
		priorVal := x.priorValue()
		if x.priorStatus() == state.StatusReady && r.pending == nil && x.purePlan() && valuesEqual(x.propose(cv, priorVal), priorVal) {
			// Nothing changed and the provider's plan depends on nothing
			// else: no change, without asking (a no-op plan of 10,000 such
			// objects saves 10,000 calls).
			return &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Action: plans.NoOp, Before: x.prior.value, After: x.prior.value,
				Dependencies: x.deps, CreateBeforeDestroy: x.lc.createBeforeDestroy}, nil
		}
		p, ds := x.plan(ctx, planRequest{config: cv, prior: priorVal, priorPrivate: x.priorPrivate(), validate: true})
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return nil, diags
		}
		c.update, validate = p, false
		if len(p.requiresReplace) > 0 {
			c.reason = plans.ReasonRequiresReplace
		}
	}
	if x.prior == nil || c.reason != plans.ReasonNone {
		// A create, or a replacement's create: planned from nothing, so
		// that what the new object will compute is unknown to dependents.
		p, ds := x.plan(ctx, planRequest{config: cv, prior: cty.NullVal(x.schema.Block.ImpliedType()), priorPrivate: r.interruptedPrivate, validate: validate})
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return nil, diags
		}
		c.create = p
	}
	ch := x.classify(c)
	if ch != nil && ch.After != cty.NilVal && !ch.After.IsNull() {
		ch.WriteOnlySet = writeOnlySet(x.schema.Block, cv.raw)
	}
	return ch, diags
}

// planPinned keeps a rolled-back object where the rollback put it while
// its configuration is the one it was rolled back from: the object plans
// against its own recorded settings (no roll-forward), so repairs (a
// replica that died) still happen. It reports false when the pin no
// longer holds (the configuration changed since): the plan then applies
// the configuration and the pin is released.
func (w *planWalk) planPinned(ctx context.Context, x *instance, r refreshed, pin history.Pin, ch *plans.ResourceInstanceChange) (*plans.ResourceInstanceChange, bool, hcl.Diagnostics) {
	if pin.ConfigHash != x.cfg.SourceHash {
		w.note(fmt.Sprintf("%s was rolled back to serial %d, but its configuration has changed since: the rollback no longer holds, and this plan applies the configuration.", x.addr, pin.ToSerial))
		w.mu.Lock()
		w.release = append(w.release, x.addr.String())
		w.mu.Unlock()
		return nil, false, nil
	}
	w.note(fmt.Sprintf("%s was rolled back to serial %d by rollback; the configuration declares serial %d's %s (run `llmops rollback --release %s` to roll forward).",
		x.addr, pin.ToSerial, pin.FromSerial, changedAttrs(x.prior.value, ch.After), x.addr))
	cv := x.recordedConfig(x.prior.value)
	pch, diags := x.planChange(ctx, r, cv, plans.ReasonNone)
	if pch == nil {
		return &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Action: plans.NoOp, Before: x.prior.value, After: x.prior.value}, true, diags
	}
	if pch.Action.IsReplace() {
		// Repairing it would replace it: keep it as it is.
		pch = &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Action: plans.NoOp, Before: x.prior.value, After: x.prior.value}
	}
	if pch.Action != plans.NoOp {
		pch.Config = cv.marked
	}
	return pch, true, diags
}

func (w *planWalk) note(s string) {
	w.mu.Lock()
	w.notes = append(w.notes, s)
	w.mu.Unlock()
}

func deleteChange(ri addrs.ResourceInstance, prov addrs.ProviderConfig, prior *recordedObject, reason plans.Reason) *plans.ResourceInstanceChange {
	return &plans.ResourceInstanceChange{
		Addr:         ri,
		Provider:     prov,
		Action:       plans.Delete,
		Reason:       reason,
		Before:       prior.value,
		After:        cty.NullVal(prior.value.Type()),
		Dependencies: prior.obj.Dependencies,
	}
}

func (w *planWalk) planDestroyResource(r addrs.Resource, rc *configs.Resource, rec *recordedResource, lc lifecycle) hcl.Diagnostics {
	if rec == nil {
		return nil
	}
	var diags hcl.Diagnostics
	for _, k := range sortedKeys(rec.instances) {
		ri := r.Instance(k)
		if !w.instanceSelected(ri) {
			continue
		}
		if lc.preventDestroy {
			diags = append(diags, preventDestroyDiag(ri, rc))
			continue
		}
		w.addChange(deleteChange(ri, rec.provider, rec.instances[k], plans.ReasonDestroy))
	}
	return diags
}

func preventDestroyDiag(ri addrs.ResourceInstance, rc *configs.Resource) *hcl.Diagnostic {
	rng := rc.DeclRange
	if rc.Lifecycle.PreventDestroy != nil {
		rng = rc.Lifecycle.PreventDestroy.Range()
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Instance cannot be destroyed",
		Detail:   fmt.Sprintf("%s has lifecycle.prevent_destroy set, but the plan would destroy it. To destroy it on purpose, set prevent_destroy = false first; otherwise change the plan so that it is kept (for example, undo the change that forces a replacement, or use -exclude).", ri),
		Subject:  rng.Ptr(),
	}
}

func (w *planWalk) replaceRequested(ri addrs.ResourceInstance) bool {
	for _, p := range w.opts.Replace {
		if p.MatchInstance(ri) {
			return true
		}
	}
	return false
}

func (w *planWalk) addDrift(c *plans.ResourceInstanceChange) {
	w.mu.Lock()
	w.drift = append(w.drift, c)
	w.mu.Unlock()
}

// changedAttrs names the top-level attributes that differ, for notes.
func changedAttrs(a, b cty.Value) string {
	am, bm := objAttrs(a), objAttrs(b)
	var names []string
	for k, av := range am {
		if bv, ok := bm[k]; !ok || !valuesEqual(av, bv) {
			if bv, ok := bm[k]; ok && !bv.IsWhollyKnown() {
				continue
			}
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "values"
	}
	return strings.Join(names, ", ")
}

func objAttrs(v cty.Value) map[string]cty.Value {
	u, _ := v.Unmark()
	if u.IsNull() || !u.IsKnown() || !u.Type().IsObjectType() {
		return nil
	}
	return u.AsValueMap()
}

// withoutReadings drops the attributes that are measurements taken by
// refresh (a monitor's readings), which change on their own and are not
// drift.
func withoutReadings(typ string, v cty.Value) cty.Value {
	names := schema.Readings[typ]
	u, marks := v.Unmark()
	if len(names) == 0 || u.IsNull() || !u.IsKnown() || !u.Type().IsObjectType() {
		return v
	}
	m := u.AsValueMap()
	for _, n := range names {
		if cur, ok := m[n]; ok {
			m[n] = cty.NullVal(cur.Type())
		}
	}
	return cty.ObjectVal(m).WithMarks(marks)
}
