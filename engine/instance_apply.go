package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// apply carries out one planned change (anything but a delete) and
// records the result. It returns the value references see and whether
// the change succeeded.
func (x *instance) apply(ctx context.Context, w *applyWalk, ch *plans.ResourceInstanceChange) (cty.Value, bool, hcl.Diagnostics) {
	meta := x.meta()
	switch ch.Action {
	case plans.NoOp:
		if x.priorStatus() == state.StatusPending {
			return x.wait(ctx, w, x.prior, meta, plans.NoOp)
		}
		// Accept what refresh found (drift, or a finished long operation).
		if err := x.persist(w.rec, ch.Before, x.priorPrivate(), state.StatusReady, nil, meta); err != nil {
			return ch.Before, false, stateWriteDiag(err)
		}
		return ch.Before, true, nil
	case plans.Wait:
		if x.prior == nil {
			return ch.After, true, nil
		}
		return x.wait(ctx, w, x.prior, meta, plans.Wait)
	}

	cv, diags := x.applyConfig(w, ch)
	if diags.HasErrors() {
		w.fail(x.addr, ch.Action, diags.Error())
		return x.unknown(), false, diags
	}
	req := planRequest{config: cv, prior: cty.NullVal(x.schema.Block.ImpliedType())}
	if ch.Action == plans.Update {
		// The object as the plan saw it (refreshed), as Terraform does.
		req.prior, _ = ch.Before.UnmarkDeep()
		req.priorPrivate = x.priorPrivate()
	} else if x.prior == nil {
		req.priorPrivate = ch.Private // an interrupted create's private data
	}
	if ch.Action.IsReplace() {
		meta.version++
	}
	p, ds := x.finalPlan(w.callCtx, ch, req)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		w.fail(x.addr, ch.Action, diags.Error())
		if ch.Action == plans.Update {
			return x.prior.value, false, diags
		}
		return x.unknown(), false, diags
	}
	if ch.Action == plans.Update && valuesEqual(p.value, req.prior) && valuesEqual(ch.Before, x.prior.value) {
		// Now that its dependencies are applied, the update changes
		// nothing: no call, no new history row, not counted.
		return x.prior.value, true, diags
	}

	// create_before_destroy: the old object is first recorded as deposed
	// (one transaction), so that it stays in the state until it is
	// destroyed, whatever happens next.
	deposedKey := ""
	if ch.Action == plans.CreateThenDelete && x.prior != nil {
		deposedKey = newDeposedKey()
		wr, err := w.rec.writer()
		if err == nil {
			err = wr.Depose(w.callCtx, x.addr, deposedKey)
		}
		if err != nil {
			w.fail(x.addr, ch.Action, err.Error())
			return x.prior.value, false, stateWriteDiag(err)
		}
	}

	// Intent before effect: a create is recorded before the provider is
	// asked, so that a crash between the two never orphans what the
	// provider made (the next plan plans the create again and the
	// provider adopts the object it finds). Objects that live only in the
	// state have nothing to orphan.
	creating := req.prior.IsNull()
	if creating && !x.stateOnly() {
		intent := cty.UnknownAsNull(cv.mark(p.value))
		if err := x.persist(w.rec, intent, p.private, state.StatusCreating, nil, meta); err != nil {
			w.fail(x.addr, ch.Action, err.Error())
			return x.unknown(), false, stateWriteDiag(err)
		}
	}
	start := w.inflight.begin(x.addr, ch.Action)
	x.e.hooks.PreApply(x.addr, ch.Action)
	resp := x.prov.client.ApplyResourceChange(w.callCtx, protocol.ApplyResourceChangeRequest{
		TypeName: x.typ(), PriorState: req.prior, PlannedState: p.value, Config: cv.raw, PlannedPrivate: p.private,
	})
	w.inflight.end(x.addr)
	raw := resp.NewState
	if raw == cty.NilVal {
		raw = cty.NullVal(x.schema.Block.ImpliedType())
	}
	newVal := withVersion(x.addr, cv.mark(raw), meta.version)

	if resp.Diagnostics.HasErrors() {
		return x.applyFailed(w, ch, resp, newVal, meta, deposedKey, creating, start)
	}
	warnings := x.diags(resp.Diagnostics)
	if resp.Pending == nil {
		if found := checkApplied(p.value, raw); len(found) > 0 {
			return x.applyInconsistent(w, ch, resp, newVal, meta, cv, found, start)
		}
	}
	if resp.Pending != nil {
		if err := x.persist(w.rec, newVal, resp.Private, state.StatusPending, resp.Pending, meta); err != nil {
			w.fail(x.addr, ch.Action, err.Error())
			return newVal, false, stateWriteDiag(err)
		}
		rec := &recordedObject{obj: &state.Object{Addr: x.addr, Provider: meta.provider, Status: state.StatusPending, Private: resp.Private,
			PendingHandle: resp.Pending.Handle, PendingStatus: resp.Pending.Status, Version: meta.version}, value: newVal}
		v, ok, ds := x.wait(ctx, w, rec, meta, ch.Action)
		warnings = append(warnings, ds...)
		if !ok {
			return v, false, warnings
		}
		if w.isDeferred(x.addr.Resource) {
			w.count(ch.Action)
			return v, true, warnings
		}
		newVal = v
	} else if err := x.persist(w.rec, newVal, resp.Private, state.StatusReady, nil, meta); err != nil {
		w.fail(x.addr, ch.Action, err.Error())
		return newVal, false, stateWriteDiag(err)
	}
	if deposedKey != "" {
		if ds := x.destroyReplaced(w, deposedKey, newVal, ch.Action, start); ds.HasErrors() {
			return newVal, false, ds
		}
	}
	w.count(ch.Action)
	x.e.hooks.PostApply(x.addr, ch.Action, time.Since(start), objectID(newVal), nil)
	return newVal, true, warnings
}

// applyConfig is the configuration a change is applied with: the one the
// plan recorded for it (a rollback's, or a rolled-back object's own), or
// the configuration block evaluated again now that its dependencies are
// applied.
func (x *instance) applyConfig(w *applyWalk, ch *plans.ResourceInstanceChange) (configValue, hcl.Diagnostics) {
	if ch.Config != cty.NilVal {
		return splitConfig(x.schema.Block, ch.Config), nil
	}
	if x.cfg == nil {
		return configValue{}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s is not in the configuration", x.addr),
			Detail: "The plan changes an object whose block is no longer in the configuration. Plan again."}}
	}
	return x.evaluate(w.data.scope(x.addr.Key, x.each))
}

// finalPlan plans the change again with every dependency applied and
// holds the answer to what the plan shown promised: a change planned in
// place cannot turn into a replacement, and values known when planning
// keep their values.
func (x *instance) finalPlan(ctx context.Context, ch *plans.ResourceInstanceChange, req planRequest) (planned, hcl.Diagnostics) {
	p, diags := x.plan(ctx, req)
	if diags.HasErrors() {
		return p, diags
	}
	if ch.Action == plans.Update && len(p.requiresReplace) > 0 {
		msg := fmt.Sprintf("The plan said %s would be updated in place, but now that its dependencies are applied the provider %s requires replacing it (%s). Nothing was changed; run apply again to plan the replacement.", x.addr, x.prov.addr, pathList(p.requiresReplace))
		return p, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summaryInconsistentFinal, Detail: msg, Subject: x.declRange()})
	}
	before, _ := ch.After.UnmarkDeep()
	if found := checkApplied(before, p.value); len(found) > 0 {
		return p, append(diags, inconsistencyDiag(summaryInconsistentFinal, x.prov.addr, x.addr, append(req.config.sensitive, sensitivePathsOf(ch.After)...), x.declRange(), found))
	}
	return p, diags
}

// applyFailed records what a failed apply left: the object the provider
// reports (tainted when it was being created), the old object again when
// a create_before_destroy replacement made nothing, or nothing when a
// create made nothing.
func (x *instance) applyFailed(w *applyWalk, ch *plans.ResourceInstanceChange, resp protocol.ApplyResourceChangeResponse, newVal cty.Value, meta objMeta, deposedKey string, creating bool, start time.Time) (cty.Value, bool, hcl.Diagnostics) {
	err := resp.Diagnostics.Err()
	ds := x.diags(resp.Diagnostics)
	switch {
	case !newVal.IsNull():
		status := state.StatusTainted
		if ch.Action == plans.Update {
			status = state.StatusReady
		}
		if perr := x.persist(w.rec, newVal, resp.Private, status, nil, meta); perr != nil {
			ds = append(ds, stateWriteDiag(perr)...)
		}
	case deposedKey != "":
		wr, _ := w.rec.writer()
		if perr := wr.RestoreDeposed(w.callCtx, x.addr, deposedKey); perr != nil {
			ds = append(ds, stateWriteDiag(perr)...)
		}
	case creating && !x.stateOnly():
		if perr := w.rec.remove(x.addr); perr != nil {
			ds = append(ds, stateWriteDiag(perr)...)
		}
	}
	w.fail(x.addr, ch.Action, err.Error())
	x.e.hooks.PostApply(x.addr, ch.Action, time.Since(start), "", err)
	return newVal, false, ds
}

// applyInconsistent records the object a provider made although it is
// not what the plan promised (so it is never orphaned: tainted when it was
// being created, to be replaced), and reports the provider's bug.
func (x *instance) applyInconsistent(w *applyWalk, ch *plans.ResourceInstanceChange, resp protocol.ApplyResourceChangeResponse, newVal cty.Value, meta objMeta, cv configValue, found []inconsistency, start time.Time) (cty.Value, bool, hcl.Diagnostics) {
	d := inconsistencyDiag(summaryInconsistentResult, x.prov.addr, x.addr, cv.sensitive, x.declRange(), found)
	status := state.StatusTainted
	if ch.Action == plans.Update {
		status = state.StatusReady
	}
	ds := hcl.Diagnostics{d}
	if err := x.persist(w.rec, newVal, resp.Private, status, nil, meta); err != nil {
		ds = append(ds, stateWriteDiag(err)...)
	}
	w.fail(x.addr, ch.Action, d.Summary)
	x.e.hooks.PostApply(x.addr, ch.Action, time.Since(start), objectID(newVal), fmt.Errorf("%s", d.Summary))
	return newVal, false, ds
}

// destroyReplaced destroys the old object of a create_before_destroy
// replacement (deposed under key) once its replacement is recorded.
func (x *instance) destroyReplaced(w *applyWalk, key string, newVal cty.Value, action plans.Action, start time.Time) hcl.Diagnostics {
	old := x.prior
	oldRaw, _ := old.value.UnmarkDeep()
	dr := w.providerOf(x.prov, old.obj.Provider).client.ApplyResourceChange(w.callCtx, deleteRequest(x.typ(), oldRaw, old.obj.Private))
	err := dr.Diagnostics.Err()
	if err == nil {
		wr, _ := w.rec.writer()
		if err = wr.RemoveDeposed(w.callCtx, x.addr, key); err != nil {
			w.fail(x.addr, action, err.Error())
			return stateWriteDiag(err)
		}
		return nil
	}
	msg := fmt.Sprintf("The replacement was created, but the old object (id %s) could not be destroyed: %s. It stays in the state as deposed object %s, and the next apply destroys it.", objectID(old.value), err, key)
	w.fail(x.addr, action, msg)
	x.e.hooks.PostApply(x.addr, action, time.Since(start), objectID(newVal), fmt.Errorf("%s", msg))
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Old object not destroyed", Detail: msg, Subject: x.declRange()}}
}

// destroy deletes the object before (unmarked in the request) through the
// instance's provider. It reports only the provider's answer; recording
// is the caller's (a current object is removed, a deposed one too).
func (x *instance) destroy(w *applyWalk, before cty.Value, private []byte) (time.Time, error) {
	raw, _ := before.UnmarkDeep()
	start := w.inflight.begin(x.addr, plans.Delete)
	x.e.hooks.PreApply(x.addr, plans.Delete)
	resp := x.prov.client.ApplyResourceChange(w.callCtx, deleteRequest(x.typ(), raw, private))
	w.inflight.end(x.addr)
	return start, resp.Diagnostics.Err()
}

// deleteRequest asks a provider to destroy the object prior (unmarked)
// of type typ.
func deleteRequest(typ string, prior cty.Value, private []byte) protocol.ApplyResourceChangeRequest {
	return protocol.ApplyResourceChangeRequest{
		TypeName: typ, PriorState: prior, PlannedState: cty.NullVal(prior.Type()), Config: cty.NullVal(prior.Type()), PlannedPrivate: private,
	}
}

// sensitivePathsOf lists the sensitive paths of a marked value.
func sensitivePathsOf(v cty.Value) []cty.Path {
	if v == cty.NilVal {
		return nil
	}
	_, pvm := v.UnmarkDeepWithPaths()
	out := make([]cty.Path, 0, len(pvm))
	for _, pm := range pvm {
		out = append(out, pm.Path)
	}
	return out
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
