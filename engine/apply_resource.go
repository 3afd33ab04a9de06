package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// applyResource applies the planned changes of one configured resource
// (everything except deletions) and publishes its value.
func (w *applyWalk) applyResource(ctx context.Context, r addrs.Resource) (hcl.Diagnostics, bool) {
	rc := w.e.cfg.Resources[r]
	if rc == nil || w.plan.Mode == plans.DestroyMode {
		return nil, false
	}
	var diags hcl.Diagnostics
	lc, ds := w.e.evalLifecycle(w.data, rc)
	diags = append(diags, ds...)
	exp, keys, each, ds := w.e.expand(w.data, rc)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return diags, true
	}
	pi, ds := w.e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return ds, true
	}
	schema := w.cg.schemas[r]
	rec := w.recorded[r]

	vals := make(map[addrs.InstanceKey]cty.Value, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := false
	for _, k := range keys {
		ri := r.Instance(k)
		var prior *recordedObject
		if rec != nil {
			prior = rec.instances[k]
		}
		ch := w.changes[ri]
		if ch == nil || (ch.Action == plans.NoOp && (prior == nil || prior.obj.Status != state.StatusPending) && (prior == nil || valuesEqual(ch.Before, prior.value))) {
			v := cty.DynamicVal
			if ch != nil {
				v = ch.After
			} else if prior != nil {
				v = prior.value
			}
			vals[k] = v
			continue
		}
		wg.Add(1)
		go func(k addrs.InstanceKey, ch *plans.ResourceInstanceChange, prior *recordedObject) {
			defer wg.Done()
			if !w.e.acquire(ctx) {
				mu.Lock()
				failed = true
				mu.Unlock()
				return
			}
			ipi, ischema := pi, schema
			if ch.Provider != (addrs.ProviderConfig{}) && ch.Provider != pi.addr {
				// Placed on another candidate.
				p2, err := w.e.providers.get(ctx, ch.Provider)
				if err == nil {
					if s, ds := p2.resourceSchema(r.Type, rc.TypeRange.Ptr()); !ds.HasErrors() {
						ipi, ischema = p2, s
					}
				}
			}
			v, ok, ds := w.applyInstance(ctx, ipi, ischema, rc, r.Instance(k), each[k], ch, prior, lc)
			w.e.release()
			mu.Lock()
			vals[k] = v
			diags = append(diags, ds...)
			if !ok {
				failed = true
			}
			mu.Unlock()
		}(k, ch, prior)
	}
	wg.Wait()
	w.data.setResource(r, exp, vals)
	if w.isDeferred(r) {
		// Dependents of a job still running wait for the next apply.
		return diags, true
	}
	return diags, failed
}

func (w *applyWalk) isDeferred(r addrs.Resource) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deferred[r]
}

// applyInstance carries out one instance's change and records the result.
func (w *applyWalk) applyInstance(ctx context.Context, pi *providerInstance, schema *protocol.Schema, rc *configs.Resource, ri addrs.ResourceInstance, each cty.Value, ch *plans.ResourceInstanceChange, prior *recordedObject, lc lifecycle) (cty.Value, bool, hcl.Diagnostics) {
	typ := ri.Resource.Type
	deps := w.cg.resourceDeps[ri.Resource]
	meta := objMeta{provider: pi.addr, schemaVersion: schema.Version, deps: deps, cbd: lc.createBeforeDestroy, version: 1}
	if prior != nil {
		meta.version = prior.obj.Version
		if meta.version == 0 {
			meta.version = 1
		}
	}

	switch ch.Action {
	case plans.NoOp:
		// Accept what refresh found (drift, or a finished long operation).
		if prior != nil && prior.obj.Status == state.StatusPending {
			return w.waitPending(ctx, pi, typ, ri, prior, meta, plans.NoOp)
		}
		if err := w.persist(ri, ch.Before, prior.obj.Private, state.StatusReady, nil, meta); err != nil {
			return ch.Before, false, stateWriteDiag(err)
		}
		return ch.Before, true, nil
	case plans.Wait:
		if prior == nil {
			return ch.After, true, nil
		}
		return w.waitPending(ctx, pi, typ, ri, prior, meta, plans.Wait)
	}

	// Evaluate the configuration again, now that dependencies are applied.
	cfgVal, diags := w.data.scope(ri.Key, each).EvalBody(rc.Config, DecoderSpec(schema.Block))
	if diags.HasErrors() {
		w.fail(ri, ch.Action, diags.Error())
		return cty.UnknownVal(schema.Block.ImpliedType()), false, diags
	}
	cfgVal = completeObject(schema.Block, cfgVal)
	cfgRaw, sensitive, secrets := splitMarks(cfgVal, schema.Block)

	priorVal := cty.NullVal(schema.Block.ImpliedType())
	var priorPrivate []byte
	if ch.Action == plans.Update && prior != nil {
		priorVal, _ = prior.value.UnmarkDeep()
		priorPrivate = prior.obj.Private
	}
	if ch.Action.IsReplace() {
		meta.version++
	}
	proposed := proposedNew(schema.Block, priorVal, cfgRaw, lc.ignore)
	pr := pi.client.PlanResourceChange(w.callCtx, protocol.PlanResourceChangeRequest{
		TypeName: typ, PriorState: priorVal, ProposedNewState: proposed, Config: cfgRaw, PriorPrivate: priorPrivate,
		SensitivePaths: sensitive, // issue 13: the provider masks the values at these paths in its logs, errors and files.
	})
	if pr.Diagnostics.HasErrors() {
		ds := providerDiags(pr.Diagnostics, rc.Config, rc.DeclRange, ri.String())
		w.fail(ri, ch.Action, pr.Diagnostics.Err().Error())
		return cty.UnknownVal(schema.Block.ImpliedType()), false, ds
	}
	if ch.Action == plans.Update && len(pr.RequiresReplace) > 0 {
		msg := fmt.Sprintf("The plan said %s would be updated in place, but now that its dependencies are applied the provider %s requires replacing it (%s). Nothing was changed; run apply again to plan the replacement.", ri, pi.addr, pathList(pr.RequiresReplace))
		w.fail(ri, ch.Action, msg)
		return prior.value, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Provider produced an inconsistent final plan", Detail: msg, Subject: rc.DeclRange.Ptr()}}
	}

	// create_before_destroy: the old object is first recorded as deposed
	// (one transaction), so that it stays in the state until it is
	// destroyed, whatever happens next; the replacement then goes through
	// the create path below.
	deposedKey := ""
	if ch.Action == plans.CreateThenDelete && prior != nil {
		deposedKey = newDeposedKey()
		wr, err := w.getWriter(w.callCtx)
		if err == nil {
			err = wr.Depose(w.callCtx, ri, deposedKey)
		}
		if err != nil {
			w.fail(ri, ch.Action, err.Error())
			return prior.value, false, stateWriteDiag(err)
		}
	}

	// Intent before effect: a create is recorded before the provider is
	// asked, so that a crash between the two never orphans what the
	// provider made (the next plan plans the create again and the
	// provider adopts the object it finds).
	// Objects that live only in the state (state_only) have nothing to
	// orphan: they need no intent record.
	stateOnly := pi.schema.HasCapability(protocol.CapabilityStateOnlyPrefix + typ)
	if priorVal.IsNull() && !stateOnly {
		intent := cty.UnknownAsNull(values.MarkPaths(pr.PlannedState, sensitive))
		if err := w.persist(ri, intent, pr.PlannedPrivate, state.StatusCreating, nil, meta); err != nil {
			w.fail(ri, ch.Action, err.Error())
			return cty.UnknownVal(schema.Block.ImpliedType()), false, stateWriteDiag(err)
		}
	}
	start := w.inflight.begin(ri, ch.Action)
	w.e.hooks.PreApply(ri, ch.Action)
	resp := pi.client.ApplyResourceChange(w.callCtx, protocol.ApplyResourceChangeRequest{
		TypeName: typ, PriorState: priorVal, PlannedState: pr.PlannedState, Config: cfgRaw, PlannedPrivate: pr.PlannedPrivate,
		SensitivePaths: sensitive, // issue 13: the provider masks the values at these paths in its logs, errors and files.
	})
	w.inflight.end(ri)
	newVal := resp.NewState
	if newVal == cty.NilVal {
		newVal = cty.NullVal(schema.Block.ImpliedType())
	}
	newVal = values.MarkSecretLeaves(values.MarkPaths(newVal, sensitive), secrets)
	newVal = withVersion(ri, newVal, meta.version)

	if resp.Diagnostics.HasErrors() {
		err := resp.Diagnostics.Err()
		ds := providerDiags(resp.Diagnostics, rc.Config, rc.DeclRange, ri.String())
		switch {
		case !newVal.IsNull():
			status := state.StatusTainted
			if ch.Action == plans.Update {
				status = state.StatusReady
			}
			if perr := w.persist(ri, newVal, resp.Private, status, nil, meta); perr != nil {
				ds = append(ds, stateWriteDiag(perr)...)
			}
		case deposedKey != "":
			// Nothing was created: the old object is current again.
			if perr := w.writer.RestoreDeposed(w.callCtx, ri, deposedKey); perr != nil {
				ds = append(ds, stateWriteDiag(perr)...)
			}
		case priorVal.IsNull() && !stateOnly:
			// Nothing was created: drop the intent.
			if perr := w.remove(ri); perr != nil {
				ds = append(ds, stateWriteDiag(perr)...)
			}
		}
		w.fail(ri, ch.Action, err.Error())
		w.e.hooks.PostApply(ri, ch.Action, time.Since(start), "", err)
		return newVal, false, ds
	}
	// What the provider warns of on success (an empty split, a
	// deprecated setting) reaches the user with the apply's result.
	warnings := providerDiags(resp.Diagnostics, rc.Config, rc.DeclRange, ri.String())
	if resp.Pending != nil {
		if err := w.persist(ri, newVal, resp.Private, state.StatusPending, resp.Pending, meta); err != nil {
			w.fail(ri, ch.Action, err.Error())
			return newVal, false, stateWriteDiag(err)
		}
		rec := &recordedObject{obj: &state.Object{Addr: ri, Provider: meta.provider, Status: state.StatusPending, Private: resp.Private, PendingHandle: resp.Pending.Handle, PendingStatus: resp.Pending.Status, Version: meta.version}, value: newVal}
		v, ok, ds := w.waitPending(ctx, pi, typ, ri, rec, meta, ch.Action)
		warnings = append(warnings, ds...)
		if !ok {
			return v, false, warnings
		}
		if w.isDeferred(ri.Resource) {
			w.count(ch.Action)
			return v, true, warnings
		}
		newVal = v
	} else if err := w.persist(ri, newVal, resp.Private, state.StatusReady, nil, meta); err != nil {
		w.fail(ri, ch.Action, err.Error())
		return newVal, false, stateWriteDiag(err)
	}

	if deposedKey != "" {
		oldRaw, _ := prior.value.UnmarkDeep()
		dr := w.providerOf(pi, prior.obj.Provider).client.ApplyResourceChange(w.callCtx, deleteRequest(typ, oldRaw, prior.obj.Private))
		err := dr.Diagnostics.Err()
		if err == nil {
			if err = w.writer.RemoveDeposed(w.callCtx, ri, deposedKey); err != nil {
				w.fail(ri, ch.Action, err.Error())
				return newVal, false, stateWriteDiag(err)
			}
		}
		if err != nil {
			msg := fmt.Sprintf("The replacement was created, but the old object (id %s) could not be destroyed: %s. It stays in the state as deposed object %s, and the next apply destroys it.", objectID(prior.value), err, deposedKey)
			w.fail(ri, ch.Action, msg)
			w.e.hooks.PostApply(ri, ch.Action, time.Since(start), objectID(newVal), fmt.Errorf("%s", msg))
			return newVal, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Old object not destroyed", Detail: msg, Subject: rc.DeclRange.Ptr()}}
		}
	}
	w.count(ch.Action)
	w.e.hooks.PostApply(ri, ch.Action, time.Since(start), objectID(newVal), nil)
	return newVal, true, warnings
}

// waitPending polls a long operation until it ends (or, with -wait=false
// or after an interrupt, leaves it running and recorded as pending).
func (w *applyWalk) waitPending(ctx context.Context, pi *providerInstance, typ string, ri addrs.ResourceInstance, rec *recordedObject, meta objMeta, action plans.Action) (cty.Value, bool, hcl.Diagnostics) {
	start := time.Now()
	for {
		if w.opts.NoWait || ctx.Err() != nil {
			w.mu.Lock()
			w.result.StillPending = append(w.result.StillPending, ri)
			w.deferred[ri.Resource] = true
			w.mu.Unlock()
			w.e.hooks.Pending(ri, "submitted, still running", rec.obj.PendingStatus, time.Since(start))
			return rec.value, true, nil
		}
		refreshed, pend, ds := w.e.refreshObject(w.callCtx, pi, typ, ri, rec)
		if ds.HasErrors() {
			// The job failed: the provider reports why (with the log tail)
			// and returns the state it reached, which is recorded tainted.
			w.fail(ri, action, ds[0].Detail)
			w.e.hooks.PostApply(ri, action, time.Since(start), "", fmt.Errorf("%s", ds[0].Detail))
			val, priv := rec.value, rec.obj.Private
			if refreshed != nil {
				val, priv = withVersion(ri, refreshed.value, meta.version), refreshed.obj.Private
			}
			if perr := w.persist(ri, val, priv, state.StatusTainted, nil, meta); perr != nil {
				ds = append(ds, stateWriteDiag(perr)...)
			}
			return val, false, ds
		}
		if refreshed == nil {
			msg := "the object disappeared while its operation was running"
			w.fail(ri, action, msg)
			if err := w.remove(ri); err != nil {
				return cty.DynamicVal, false, stateWriteDiag(err)
			}
			return cty.DynamicVal, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s failed", ri), Detail: msg}}
		}
		refreshed.value = withVersion(ri, refreshed.value, meta.version)
		if pend == nil {
			if st := jobStatus(ri, refreshed.value); failedJobStatuses[st] {
				// The job ended without succeeding (cancelled by an admin,
				// timed out...) and the provider reported it as a status.
				msg := fmt.Sprintf("the job ended with status %q", st)
				w.fail(ri, action, msg)
				w.e.hooks.PostApply(ri, action, time.Since(start), "", fmt.Errorf("%s", msg))
				if err := w.persist(ri, refreshed.value, refreshed.obj.Private, state.StatusTainted, nil, meta); err != nil {
					return refreshed.value, false, stateWriteDiag(err)
				}
				return refreshed.value, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s did not succeed", ri),
					Detail: msg + "; it is recorded as tainted and the next apply replaces it."}}
			}
			if err := w.persist(ri, refreshed.value, refreshed.obj.Private, state.StatusReady, nil, meta); err != nil {
				return refreshed.value, false, stateWriteDiag(err)
			}
			if action == plans.Wait {
				w.e.hooks.PostApply(ri, action, time.Since(start), objectID(refreshed.value), nil)
			}
			return refreshed.value, true, ds // warnings of the final reading
		}
		rec = refreshed
		if err := w.persist(ri, rec.value, rec.obj.Private, state.StatusPending, pend, meta); err != nil {
			return rec.value, false, stateWriteDiag(err)
		}
		w.e.hooks.Pending(ri, pend.Status, pend.Message, time.Since(start))
		select {
		case <-ctx.Done():
		case <-time.After(w.e.opts.PollInterval):
		}
	}
}

// destroyResource deletes the instances of r planned for deletion
// (including the destroy half of delete-then-create replacements).
func (w *applyWalk) destroyResource(ctx context.Context, r addrs.Resource) (hcl.Diagnostics, bool) {
	var prov addrs.ProviderConfig
	if rc, ok := w.e.cfg.Resources[r]; ok {
		prov = rc.Provider
	} else if rr, ok := w.recorded[r]; ok {
		prov = rr.provider
	}
	pi, err := w.e.providers.get(ctx, prov)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot start provider %s", prov), Detail: err.Error()}}, true
	}
	var diags hcl.Diagnostics
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := false
	for _, ch := range w.plan.Changes {
		if ch.Addr.Resource != r || (ch.Action != plans.Delete && ch.Action != plans.DeleteThenCreate) {
			continue
		}
		wg.Add(1)
		go func(ch *plans.ResourceInstanceChange) {
			defer wg.Done()
			if !w.e.acquire(ctx) {
				mu.Lock()
				failed = true
				mu.Unlock()
				return
			}
			defer w.e.release()
			ds, ok := w.destroyInstance(pi, ch)
			mu.Lock()
			diags = append(diags, ds...)
			if !ok {
				failed = true
			}
			mu.Unlock()
		}(ch)
	}
	wg.Wait()
	return diags, failed
}

func (w *applyWalk) destroyInstance(pi *providerInstance, ch *plans.ResourceInstanceChange) (hcl.Diagnostics, bool) {
	ri := ch.Addr
	var prior *recordedObject
	if rr := w.recorded[ri.Resource]; rr != nil {
		prior = rr.instances[ri.Key]
	}
	if prior == nil {
		return nil, true
	}
	pi = w.providerOf(pi, prior.obj.Provider)
	before, _ := ch.Before.UnmarkDeep()
	start := w.inflight.begin(ri, plans.Delete)
	w.e.hooks.PreApply(ri, plans.Delete)
	resp := pi.client.ApplyResourceChange(w.callCtx, deleteRequest(ri.Resource.Type, before, prior.obj.Private))
	w.inflight.end(ri)
	if resp.Diagnostics.HasErrors() {
		err := resp.Diagnostics.Err()
		w.fail(ri, ch.Action, err.Error())
		w.e.hooks.PostApply(ri, plans.Delete, time.Since(start), "", err)
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot destroy %s", ri), Detail: err.Error()}}, false
	}
	if err := w.remove(ri); err != nil {
		w.fail(ri, ch.Action, err.Error())
		return stateWriteDiag(err), false
	}
	if ch.Action == plans.Delete {
		w.count(plans.Delete)
	}
	w.e.hooks.PostApply(ri, plans.Delete, time.Since(start), "", nil)
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

// deleteRequest asks a provider to destroy the object prior (unmarked)
// of type typ.
func deleteRequest(typ string, prior cty.Value, private []byte) protocol.ApplyResourceChangeRequest {
	return protocol.ApplyResourceChangeRequest{
		TypeName: typ, PriorState: prior, PlannedState: cty.NullVal(prior.Type()), Config: cty.NullVal(prior.Type()), PlannedPrivate: private,
	}
}

// objMeta is what persist records beside the value.
type objMeta struct {
	provider      addrs.ProviderConfig
	schemaVersion int64
	deps          []addrs.Resource
	cbd           bool
	version       int64
}

func (w *applyWalk) persist(ri addrs.ResourceInstance, v cty.Value, private []byte, status state.ObjectStatus, pending *protocol.Pending, meta objMeta) error {
	wr, err := w.getWriter(w.callCtx)
	if err != nil {
		return err
	}
	enc, err := values.EncodeSealed(withVersion(ri, v, meta.version), w.e.opts.Secrets, false)
	if errors.Is(err, values.ErrNeedsKey) {
		return fmt.Errorf("%s has sensitive values and no state key is configured to seal them. %s", ri, secretsHelp)
	}
	if err != nil {
		return fmt.Errorf("cannot encode %s: %w", ri, err)
	}
	obj := &state.Object{
		Addr: ri, Provider: meta.provider, Status: status, SchemaVersion: meta.schemaVersion,
		ValueJSON: enc.Value, TypeJSON: enc.Type, SensitivePaths: enc.Sensitive, Private: private,
		Dependencies: meta.deps, CreateBeforeDestroy: meta.cbd, Version: meta.version,
	}
	if pending != nil {
		obj.PendingHandle, obj.PendingStatus = pending.Handle, pending.Status
	}
	return wr.PutObject(w.callCtx, obj)
}

func (w *applyWalk) remove(ri addrs.ResourceInstance) error {
	wr, err := w.getWriter(w.callCtx)
	if err != nil {
		return err
	}
	return wr.RemoveObject(w.callCtx, ri)
}

// objectID returns the id attribute of an object value, if any.
func objectID(v cty.Value) string {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute("id") {
		return ""
	}
	id := v.GetAttr("id")
	if id.IsNull() || !id.IsKnown() || id.Type() != cty.String {
		return ""
	}
	return id.AsString()
}

func pathList(paths []cty.Path) string {
	s := ""
	for i, p := range paths {
		if i > 0 {
			s += ", "
		}
		s += protocol.PathString(p)
	}
	return s
}

// failedJobStatuses are the `status` values of a job kind that mean it
// ended without succeeding.
var failedJobStatuses = map[string]bool{"failed": true, "cancelled": true, "canceled": true, "timeout": true, "preempted": true, "node_fail": true, "oom": true, "error": true}

// jobStatus is the `status` attribute of a lifecycle kind object.
func jobStatus(ri addrs.ResourceInstance, v cty.Value) string {
	if !ri.Resource.IsKind() {
		return ""
	}
	u, _ := v.Unmark()
	if u.IsNull() || !u.IsKnown() || !u.Type().IsObjectType() || !u.Type().HasAttribute("status") {
		return ""
	}
	s := u.GetAttr("status")
	if s.IsNull() || !s.IsKnown() || s.Type() != cty.String {
		return ""
	}
	return s.AsString()
}
