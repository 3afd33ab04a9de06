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
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/state"
)

// planResource plans every instance of one resource (or, for an orphan,
// the deletion of every recorded instance) and publishes the resource's
// value for the blocks that refer to it.
func (w *planWalk) planResource(ctx context.Context, r addrs.Resource) hcl.Diagnostics {
	rc := w.resourceConfig(r)
	rec := w.recorded[r]
	if rc == nil {
		// Removed from the configuration: delete what is recorded.
		if rec == nil {
			return nil
		}
		for _, k := range sortedKeys(rec.instances) {
			ri := r.Instance(k)
			if !w.instanceSelected(ri) {
				continue
			}
			w.addChange(deleteChange(ri, rec.provider, rec.instances[k], plans.ReasonRemovedFromConfig))
		}
		return nil
	}
	var diags hcl.Diagnostics
	lc, ds := w.e.evalLifecycle(w.data, rc)
	diags = append(diags, ds...)
	exp, keys, each, ds := w.e.expand(w.data, rc)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		w.data.setResource(r, exp, nil)
		return diags
	}
	if w.opts.Mode == plans.DestroyMode {
		return w.planDestroyResource(r, rc, rec, lc)
	}
	pi, ds := w.e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return ds
	}
	schema := w.cg.schemas[r]
	var rules placementRules
	if rc.Placement != nil {
		var ds hcl.Diagnostics
		if rules, ds = w.placementRules(rc); ds.HasErrors() {
			w.data.setResource(r, exp, nil)
			return append(diags, ds...)
		}
	}

	planned := make(map[addrs.InstanceKey]cty.Value, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, k := range keys {
		ri := r.Instance(k)
		var prior *recordedObject
		if rec != nil {
			prior = rec.instances[k]
		}
		if !w.instanceSelected(ri) {
			// Not targeted: keep the recorded value for references.
			v := cty.DynamicVal
			if prior != nil {
				v = prior.value
			}
			planned[k] = v
			continue
		}
		wg.Add(1)
		go func(k addrs.InstanceKey, prior *recordedObject) {
			defer wg.Done()
			if !w.e.acquire(ctx) {
				return
			}
			var ch *plans.ResourceInstanceChange
			var v cty.Value
			var ds hcl.Diagnostics
			if rc.Placement != nil {
				ch, v, ds = w.planPlaced(ctx, rc, r.Instance(k), each[k], prior, lc, rules)
			} else {
				ch, v, ds = w.planInstance(ctx, pi, schema, rc, r.Instance(k), each[k], prior, lc)
			}
			w.e.release()
			mu.Lock()
			planned[k] = v
			diags = append(diags, ds...)
			mu.Unlock()
			if ch != nil {
				ch.Dependencies = w.cg.resourceDeps[r]
				ch.CreateBeforeDestroy = lc.createBeforeDestroy
				w.addChange(ch)
			}
		}(k, prior)
	}
	wg.Wait()
	if ctx.Err() != nil {
		w.data.setResource(r, exp, planned)
		return diags
	}
	// Recorded instances the expansion no longer has.
	if rec != nil {
		want := map[addrs.InstanceKey]bool{}
		for _, k := range keys {
			want[k] = true
		}
		for _, k := range sortedKeys(rec.instances) {
			if want[k] {
				continue
			}
			ri := r.Instance(k)
			if !w.instanceSelected(ri) {
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
	w.data.setResource(r, exp, planned)
	return diags
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

// planInstance refreshes one instance and plans its change. It returns the
// change and the value that references to the instance see.
func (w *planWalk) planInstance(ctx context.Context, pi *providerInstance, schema *protocol.Schema, rc *configs.Resource, ri addrs.ResourceInstance, each cty.Value, prior *recordedObject, lc lifecycle) (*plans.ResourceInstanceChange, cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	typ := ri.Resource.Type
	unknown := cty.UnknownVal(schema.Block.ImpliedType())

	// Refresh.
	var pending *protocol.Pending
	wasPending := prior != nil && prior.obj.Status == state.StatusPending
	if prior != nil {
		if prior.obj.Status == state.StatusPending {
			pending = &protocol.Pending{Handle: prior.obj.PendingHandle, Status: prior.obj.PendingStatus}
		}
		stateOnly := prior.obj.Status == state.StatusReady && pi.schema.HasCapability(protocol.CapabilityStateOnlyPrefix+typ)
		if !w.opts.SkipRefresh && prior.obj.Status != state.StatusCreating && !stateOnly {
			refreshed, pend, ds := w.e.refreshObject(ctx, pi, typ, ri, prior)
			if ds.HasErrors() && prior.obj.Status == state.StatusPending {
				// The long operation failed while nobody waited for it: say
				// why, and replace the object.
				for _, d := range ds {
					d.Severity = hcl.DiagWarning
					d.Summary = fmt.Sprintf("%s: the operation running in the background failed", ri)
				}
				diags = append(diags, ds...)
				obj := *prior.obj
				obj.Status = state.StatusTainted
				val := prior.value
				if refreshed != nil {
					val = refreshed.value
				}
				refreshed, pend, ds = &recordedObject{obj: &obj, value: val}, nil, nil
			}
			diags = append(diags, ds...)
			if ds.HasErrors() {
				return nil, unknown, diags
			}
			pending = pend
			if refreshed == nil {
				w.addDrift(&plans.ResourceInstanceChange{Addr: ri, Provider: pi.addr, Action: plans.Delete, Before: prior.value, After: cty.NullVal(prior.value.Type())})
				prior = nil
			} else {
				if prior.obj.Status != state.StatusPending && !valuesEqual(withoutReadings(typ, refreshed.value), withoutReadings(typ, prior.value)) {
					w.addDrift(&plans.ResourceInstanceChange{Addr: ri, Provider: pi.addr, Action: plans.Update, Before: prior.value, After: refreshed.value})
				}
				prior = refreshed
			}
		}
	}
	// llmops stopped between recording a create's intent and its result:
	// plan the create again; the provider adopts what it finds.
	interrupted := prior != nil && prior.obj.Status == state.StatusCreating
	var interruptedPrivate []byte
	if interrupted {
		// The provider gets the private data of the interrupted create, so
		// it can find (adopt) what it started.
		interruptedPrivate = prior.obj.Private
		prior = nil
	}
	if w.opts.Mode == plans.RefreshOnlyMode {
		if prior == nil {
			return nil, cty.DynamicVal, diags
		}
		return nil, prior.value, diags
	}

	// Evaluate the configuration.
	cfgVal, ds := w.data.scope(ri.Key, each).EvalBody(rc.Config, DecoderSpec(schema.Block))
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return nil, unknown, diags
	}
	cfgVal = completeObject(schema.Block, cfgVal)
	cfgRaw, sensitive, secrets := splitMarks(cfgVal, schema.Block)

	if !pi.schema.HasCapability(protocol.CapabilityPlanValidates) {
		vr := pi.client.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: typ, Config: cfgRaw,
			SensitivePaths: sensitive, // issue 13: the provider masks the values at these paths in its logs, errors and files.
		})
		diags = append(diags, providerDiags(vr.Diagnostics, rc.Config, rc.DeclRange, ri.String())...)
		if diags.HasErrors() {
			return nil, unknown, diags
		}
	}

	priorVal := cty.NullVal(schema.Block.ImpliedType())
	priorPrivate := interruptedPrivate
	if prior != nil {
		priorVal, _ = prior.value.UnmarkDeep()
		priorPrivate = prior.obj.Private
	}
	proposed := proposedNew(schema.Block, priorVal, cfgRaw, lc.ignore)
	if prior != nil && prior.obj.Status == state.StatusReady && pending == nil && !w.replaceRequested(ri) &&
		pi.schema.HasCapability(protocol.CapabilityPurePlanPrefix+typ) && valuesEqual(proposed, priorVal) {
		// Nothing changed and the provider's plan depends on nothing else:
		// no change, without asking (a no-op plan of 10,000 such objects
		// saves 10,000 calls).
		return &plans.ResourceInstanceChange{Addr: ri, Provider: pi.addr, Action: plans.NoOp, Before: prior.value, After: prior.value}, prior.value, diags
	}
	resp := pi.client.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{
		TypeName:         typ,
		PriorState:       priorVal,
		ProposedNewState: proposed,
		Config:           cfgRaw,
		PriorPrivate:     priorPrivate,
		SensitivePaths:   sensitive, // issue 13: the provider masks the values at these paths in its logs, errors and files.
	})
	diags = append(diags, providerDiags(resp.Diagnostics, rc.Config, rc.DeclRange, ri.String())...)
	if resp.Diagnostics.HasErrors() {
		return nil, unknown, diags
	}
	plannedVal := values.MarkSecretLeaves(values.MarkPaths(resp.PlannedState, sensitive), secrets)

	ch := &plans.ResourceInstanceChange{
		Addr:            ri,
		Provider:        pi.addr,
		After:           plannedVal,
		RequiresReplace: resp.RequiresReplace,
		Private:         resp.PlannedPrivate,
	}
	if prior == nil {
		ch.Action = plans.Create
		if interrupted {
			ch.Reason = plans.ReasonCreateInterrupted
		}
		ch.Before = cty.NullVal(plannedVal.Type())
		return ch, plannedVal, diags
	}

	ch.Before = prior.value
	replace, reason := false, plans.ReasonNone
	switch {
	case prior.obj.Status == state.StatusTainted:
		replace, reason = true, plans.ReasonTainted
	case prior.obj.Status == state.StatusCreating:
		replace, reason = true, plans.ReasonCreateInterrupted
	case w.replaceRequested(ri):
		replace, reason = true, plans.ReasonReplaceRequested
	case len(resp.RequiresReplace) > 0:
		replace, reason = true, plans.ReasonRequiresReplace
	}
	switch {
	case replace:
		ch.Action = plans.DeleteThenCreate
		if lc.createBeforeDestroy {
			ch.Action = plans.CreateThenDelete
		}
		ch.Reason = reason
		if lc.preventDestroy {
			diags = append(diags, preventDestroyDiag(ri, rc))
		}
	case valuesEqual(plannedVal, prior.value):
		ch.Action = plans.NoOp
		ch.After = prior.value
	default:
		ch.Action = plans.Update
	}
	if pin, ok := w.opts.Pins[ri]; ok && ch.Action != plans.NoOp && reason != plans.ReasonTainted && reason != plans.ReasonCreateInterrupted {
		if pin.ConfigHash == rc.SourceHash {
			w.mu.Lock()
			w.notes = append(w.notes, fmt.Sprintf("%s was rolled back to serial %d by rollback; the configuration declares serial %d's %s (run `llmops rollback --release %s` to roll forward).",
				ri, pin.ToSerial, pin.FromSerial, changedAttrs(prior.value, plannedVal), ri))
			w.mu.Unlock()
			// Keep the rolled-back configuration, but still repair what
			// refresh found broken: plan against the object's own settings.
			return w.planPinned(ctx, pi, schema, rc, ri, prior, lc, sensitive, secrets)
		}
		w.mu.Lock()
		w.notes = append(w.notes, fmt.Sprintf("%s was rolled back to serial %d, but its configuration has changed since: the rollback no longer holds, and this plan applies the configuration.", ri, pin.ToSerial))
		w.release = append(w.release, ri.String())
		w.mu.Unlock()
	}
	if wasPending && pending == nil && ch.Action == plans.NoOp {
		// The job finished while nobody waited: apply records its result.
		ch.Action = plans.Wait
		ch.PendingStatus = "finished"
		ch.PendingMessage = "the background operation finished; apply records its result"
		return ch, ch.After, diags
	}
	if pending != nil && (ch.Action == plans.NoOp || ch.Action == plans.Update) {
		ch.Action = plans.Wait
		// What the job will compute is not known yet: dependents plan
		// against unknown values, not the nulls of the partial state.
		ch.After = unknownComputed(schema.Block, prior.value)
		ch.PendingStatus = pending.Status
		ch.PendingMessage = pending.Message
	}
	return ch, ch.After, diags
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

// refreshObject reads one recorded object through its provider. It
// returns nil when the object no longer exists, and the pending job when
// the object is still being created.
func (e *Engine) refreshObject(ctx context.Context, pi *providerInstance, typ string, ri addrs.ResourceInstance, prior *recordedObject) (*recordedObject, *protocol.Pending, hcl.Diagnostics) {
	e.hooks.PreRefresh(ri)
	raw, _ := prior.value.UnmarkDeep()
	sensitive := values.SensitivePaths(prior.value)
	req := protocol.ReadResourceRequest{TypeName: typ, CurrentState: raw, Private: prior.obj.Private,
		SensitivePaths: sensitive, // issue 13: the provider masks the values at these paths in its logs, errors and files.
	}
	if prior.obj.Status == state.StatusPending {
		req.Pending = &protocol.Pending{Handle: prior.obj.PendingHandle, Status: prior.obj.PendingStatus}
	}
	resp := pi.client.ReadResource(ctx, req)
	if resp.Diagnostics.HasErrors() {
		err := resp.Diagnostics.Err()
		e.hooks.PostRefresh(ri, err)
		diags := hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Cannot refresh %s", ri),
			Detail:   fmt.Sprintf("The provider %s could not read the object: %s", pi.addr, err),
		}}
		// A failed long operation comes with the state the provider reached
		// (e.g. an evaluation's results with a failed gate): keep it.
		if resp.NewState != cty.NilVal && !resp.NewState.IsNull() {
			obj := *prior.obj
			obj.Private = resp.Private
			return &recordedObject{obj: &obj, value: values.MarkPaths(resp.NewState, sensitive)}, nil, diags
		}
		return nil, nil, diags
	}
	e.hooks.PostRefresh(ri, nil)
	if resp.NewState == cty.NilVal || resp.NewState.IsNull() {
		return nil, nil, nil
	}
	obj := *prior.obj
	obj.Private = resp.Private
	if resp.Pending != nil {
		obj.Status = state.StatusPending
		obj.PendingHandle = resp.Pending.Handle
		obj.PendingStatus = resp.Pending.Status
	} else if obj.Status == state.StatusPending {
		obj.Status = state.StatusReady
		obj.PendingHandle, obj.PendingStatus = "", ""
	}
	return &recordedObject{obj: &obj, value: values.MarkPaths(resp.NewState, sensitive)}, resp.Pending, nil
}

// splitMarks separates a configuration value from its sensitive marks: the
// unmarked value for the provider, the paths to mark in what it returns
// (marked in the configuration or sensitive in the schema) and the secret
// values a provider might copy into other attributes.
func splitMarks(cfgVal cty.Value, b *protocol.Block) (cty.Value, []cty.Path, []cty.Value) {
	sensitive := b.SensitivePaths()
	if !cfgVal.ContainsMarked() {
		return cfgVal, sensitive, nil
	}
	raw, pvm := cfgVal.UnmarkDeepWithPaths()
	for _, pm := range pvm {
		if _, ok := pm.Marks[values.Sensitive]; ok {
			sensitive = append(sensitive, pm.Path)
		}
	}
	return raw, sensitive, values.SecretLeaves(cfgVal)
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

// unknownComputed turns the null computed attributes of a partial state
// (a job still running) into unknown values.
func unknownComputed(b *protocol.Block, v cty.Value) cty.Value {
	u, marks := v.Unmark()
	if u.IsNull() || !u.IsKnown() || !u.Type().IsObjectType() {
		return v
	}
	m := u.AsValueMap()
	changed := false
	for name, a := range b.Attributes {
		if !a.Computed || name == "id" {
			continue
		}
		if cur, ok := m[name]; ok && cur.IsKnown() && cur.IsNull() {
			m[name] = cty.UnknownVal(cur.Type())
			changed = true
		}
	}
	if !changed {
		return v
	}
	return cty.ObjectVal(m).WithMarks(marks)
}

// planPinned plans a rolled-back object against its recorded settings
// instead of the configuration: no roll-forward, but repairs (a replica
// that died) still happen.
func (w *planWalk) planPinned(ctx context.Context, pi *providerInstance, schema *protocol.Schema, rc *configs.Resource, ri addrs.ResourceInstance, prior *recordedObject, lc lifecycle, sensitive []cty.Path, secrets []cty.Value) (*plans.ResourceInstanceChange, cty.Value, hcl.Diagnostics) {
	priorVal, _ := prior.value.UnmarkDeep()
	config := configOnly(schema.Block, priorVal)
	resp := pi.client.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{
		TypeName: ri.Resource.Type, PriorState: priorVal, ProposedNewState: proposedNew(schema.Block, priorVal, config, lc.ignore),
		Config: config, PriorPrivate: prior.obj.Private,
		SensitivePaths: sensitive, // issue 13: the provider masks the values at these paths in its logs, errors and files.
	})
	ch := &plans.ResourceInstanceChange{Addr: ri, Provider: pi.addr, Before: prior.value, After: prior.value, Action: plans.NoOp}
	if resp.Diagnostics.HasErrors() {
		return ch, prior.value, providerDiags(resp.Diagnostics, rc.Config, rc.DeclRange, ri.String())
	}
	planned := values.MarkSecretLeaves(values.MarkPaths(resp.PlannedState, sensitive), secrets)
	if len(resp.RequiresReplace) == 0 && !valuesEqual(planned, prior.value) {
		ch.Action, ch.After, ch.Private = plans.Update, planned, resp.PlannedPrivate
	}
	return ch, ch.After, nil
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
