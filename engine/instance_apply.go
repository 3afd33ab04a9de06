package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// applying is one change being applied: what the apply step's parts
// share.
type applying struct {
	x    *instance
	w    *applyWalk
	ch   *plans.ResourceInstanceChange
	meta objMeta
	cv   configValue
	req  planRequest
	p    planned
	// deposedKey names the old object of a create_before_destroy
	// replacement, deposed before the create.
	deposedKey string
	start      time.Time
	resp       protocol.ApplyResourceChangeResponse
	// raw is the provider's new value; newVal the same, marked and
	// versioned, as recorded.
	raw, newVal cty.Value
}

// apply carries out one planned change (anything but a delete) and
// records the result. It returns the value references see and whether
// the change succeeded.
func (x *instance) apply(ctx context.Context, w *applyWalk, ch *plans.ResourceInstanceChange) (cty.Value, bool, hcl.Diagnostics) {
	a := &applying{x: x, w: w, ch: ch, meta: x.meta()}
	if ch.Action == plans.NoOp || ch.Action == plans.Wait {
		return x.applyNoChange(ctx, w, ch, a.meta)
	}
	if v, diags := a.prepare(); diags.HasErrors() {
		w.fail(x.addr, ch.Action, diags.Error())
		return v, false, diags
	} else if v != cty.NilVal {
		return v, true, diags // nothing to do after all
	}
	if ch.Action == plans.CreateThenDelete && x.prior != nil {
		var err error
		if a.deposedKey, err = x.depose(w); err != nil {
			w.fail(x.addr, ch.Action, err.Error())
			return x.prior.value, false, stateWriteDiag(err)
		}
	}
	if err := a.intent(); err != nil {
		w.fail(x.addr, ch.Action, err.Error())
		return x.unknown(), false, stateWriteDiag(err)
	}
	a.call()
	if a.resp.Diagnostics.HasErrors() {
		return a.failed()
	}
	warnings := x.diags(a.resp.Diagnostics)
	if a.resp.Pending == nil {
		if found := checkApplied(a.p.value, a.raw); len(found) > 0 {
			return a.inconsistent(found)
		}
		if err := x.persist(w.rec, a.newVal, a.resp.Private, state.StatusReady, nil, a.meta); err != nil {
			w.fail(x.addr, ch.Action, err.Error())
			return a.newVal, false, stateWriteDiag(err)
		}
	} else {
		v, ok, ds := a.pending(ctx)
		warnings = append(warnings, ds...)
		if !ok {
			return v, false, warnings
		}
		if w.isDeferred(x.addr.Resource) {
			w.count(ch.Action)
			return v, true, warnings
		}
		a.newVal = v
	}
	if a.deposedKey != "" {
		if ds := a.destroyReplaced(); ds.HasErrors() {
			return a.newVal, false, ds
		}
	}
	w.count(ch.Action)
	x.e.hooks.PostApply(x.addr, ch.Action, time.Since(a.start), objectID(a.newVal), nil)
	return a.newVal, true, warnings
}

// prepare evaluates the configuration and makes the final plan. It
// returns a value (and no error) when the update turns out to change
// nothing now that its dependencies are applied: no call, no new history
// row, not counted.
func (a *applying) prepare() (cty.Value, hcl.Diagnostics) {
	x, ch := a.x, a.ch
	cv, diags := x.applyConfig(a.w, ch)
	if diags.HasErrors() {
		return x.unknown(), diags
	}
	a.cv = cv
	a.req = planRequest{config: cv, prior: cty.NullVal(x.schema.Block.ImpliedType())}
	if ch.Action == plans.Update {
		// The object as the plan saw it (refreshed), as Terraform does,
		// and the private data the plan answered with: the recorded one
		// for a provider that passes it through, or what the provider
		// pinned while planning (the traffic snapshot a dataset version
		// is made of), so the final plan reproduces the plan's decision.
		a.req.prior, _ = ch.Before.UnmarkDeep()
		a.req.priorPrivate = ch.Private
	} else if x.prior == nil {
		a.req.priorPrivate = ch.Private // an interrupted create's private data
	}
	if ch.Action.IsReplace() {
		a.meta.version++
	}
	p, ds := x.finalPlan(a.w.callCtx, ch, a.req)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		if ch.Action == plans.Update {
			return x.prior.value, diags
		}
		return x.unknown(), diags
	}
	a.p = p
	if ch.Action == plans.Update && valuesEqual(p.value, a.req.prior) && valuesEqual(ch.Before, x.prior.value) {
		return x.prior.value, diags
	}
	return cty.NilVal, diags
}

// intent records a create before the provider is asked (intent before
// effect), so that a crash between the two never orphans what the
// provider made: the next plan plans the create again and the provider
// adopts the object it finds. Objects that live only in the state have
// nothing to orphan.
func (a *applying) intent() error {
	if !a.req.prior.IsNull() || a.x.noRefresh() {
		return nil
	}
	intent := cty.UnknownAsNull(a.cv.mark(a.p.value))
	return a.x.persist(a.w.rec, intent, a.p.private, state.StatusCreating, nil, a.meta)
}

// call asks the provider to apply the final plan.
func (a *applying) call() {
	x := a.x
	a.start = a.w.inflight.begin(x.addr, a.ch.Action)
	x.e.hooks.PreApply(x.addr, a.ch.Action)
	a.resp = x.prov.client.ApplyResourceChange(a.w.callCtx, protocol.ApplyResourceChangeRequest{
		TypeName: x.typ(), PriorState: a.req.prior, PlannedState: a.p.value, Config: a.cv.raw, PlannedPrivate: a.p.private,
		SensitivePaths: a.cv.sensitive, Address: x.addr.String(),
	})
	a.w.inflight.end(x.addr)
	a.raw = a.resp.NewState
	if a.raw == cty.NilVal {
		a.raw = cty.NullVal(x.schema.Block.ImpliedType())
	}
	a.newVal = withVersion(x.addr, a.cv.mark(a.raw), a.meta.version)
}

// applyNoChange carries out a no-op or a wait: it records what refresh
// found (drift, or a finished long operation), or waits for the job that
// runs.
func (x *instance) applyNoChange(ctx context.Context, w *applyWalk, ch *plans.ResourceInstanceChange, meta objMeta) (cty.Value, bool, hcl.Diagnostics) {
	if ch.Action == plans.Wait && x.prior == nil {
		return ch.After, true, nil
	}
	if ch.Action == plans.Wait || x.priorStatus() == state.StatusPending {
		return x.wait(ctx, w, x.prior, meta, ch.Action)
	}
	if err := x.persist(w.rec, ch.Before, x.priorPrivate(), state.StatusReady, nil, meta); err != nil {
		return ch.Before, false, stateWriteDiag(err)
	}
	return ch.Before, true, nil
}

// depose records the recorded object as deposed (one transaction) before
// its create_before_destroy replacement is made, so that it stays in the
// state until it is destroyed, whatever happens next. It returns the key.
func (x *instance) depose(w *applyWalk) (string, error) {
	key := newDeposedKey()
	wr, err := w.rec.writer()
	if err == nil {
		err = wr.Depose(w.callCtx, x.addr, key)
	}
	return key, err
}

// pending records a long operation the provider started (pending, with
// its handle) and waits for it.
func (a *applying) pending(ctx context.Context) (cty.Value, bool, hcl.Diagnostics) {
	x, resp := a.x, a.resp
	if err := x.persist(a.w.rec, a.newVal, resp.Private, state.StatusPending, resp.Pending, a.meta); err != nil {
		a.w.fail(x.addr, a.ch.Action, err.Error())
		return a.newVal, false, stateWriteDiag(err)
	}
	rec := &recordedObject{obj: &state.Object{Addr: x.addr, Provider: a.meta.provider, Status: state.StatusPending, Private: resp.Private,
		PendingHandle: resp.Pending.Handle, PendingStatus: resp.Pending.Status, Version: a.meta.version}, value: a.newVal}
	return x.wait(ctx, a.w, rec, a.meta, a.ch.Action)
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
	return x.evaluate(w.data.scope(x.addr.Resource.Module, x.addr.Key, x.each))
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

// failed records what a failed apply left: the object the provider
// reports (tainted when it was being created), the old object again when
// a create_before_destroy replacement made nothing, or nothing when a
// create made nothing.
func (a *applying) failed() (cty.Value, bool, hcl.Diagnostics) {
	x, w, ch := a.x, a.w, a.ch
	err := a.resp.Diagnostics.Err()
	ds := x.diags(a.resp.Diagnostics)
	switch {
	case !a.newVal.IsNull():
		status := state.StatusTainted
		if ch.Action == plans.Update {
			status = state.StatusReady
		}
		if perr := x.persist(w.rec, a.newVal, a.resp.Private, status, nil, a.meta); perr != nil {
			ds = append(ds, stateWriteDiag(perr)...)
		}
	case a.deposedKey != "":
		wr, _ := w.rec.writer()
		if perr := wr.RestoreDeposed(w.callCtx, x.addr, a.deposedKey); perr != nil {
			ds = append(ds, stateWriteDiag(perr)...)
		}
	case a.req.prior.IsNull() && !x.noRefresh():
		if perr := w.rec.remove(x.addr); perr != nil {
			ds = append(ds, stateWriteDiag(perr)...)
		}
	}
	w.fail(x.addr, ch.Action, err.Error())
	x.e.hooks.PostApply(x.addr, ch.Action, time.Since(a.start), "", err)
	return a.newVal, false, ds
}

// inconsistent records the object a provider made although it is not
// what the plan promised (so it is never orphaned: tainted when it was
// being created, to be replaced), and reports the provider's bug.
func (a *applying) inconsistent(found []inconsistency) (cty.Value, bool, hcl.Diagnostics) {
	x, w, ch := a.x, a.w, a.ch
	d := inconsistencyDiag(summaryInconsistentResult, x.prov.addr, x.addr, a.cv.sensitive, x.declRange(), found)
	status := state.StatusTainted
	if ch.Action == plans.Update {
		status = state.StatusReady
	}
	ds := hcl.Diagnostics{d}
	if err := x.persist(w.rec, a.newVal, a.resp.Private, status, nil, a.meta); err != nil {
		ds = append(ds, stateWriteDiag(err)...)
	}
	w.fail(x.addr, ch.Action, d.Summary)
	x.e.hooks.PostApply(x.addr, ch.Action, time.Since(a.start), objectID(a.newVal), fmt.Errorf("%s", d.Summary))
	return a.newVal, false, ds
}

// destroyReplaced destroys the old object of a create_before_destroy
// replacement (deposed) once its replacement is recorded.
func (a *applying) destroyReplaced() hcl.Diagnostics {
	x, w := a.x, a.w
	old := x.prior
	oldRaw, _ := old.value.UnmarkDeep()
	oldProv := w.providerOf(x.prov, old.obj.Provider)
	dr := oldProv.client.ApplyResourceChange(w.callCtx, deleteRequest(x.typ(), old.value, oldRaw, old.obj.Private))
	err := dr.Diagnostics.Err()
	if err == nil && dr.Pending != nil {
		// A long delete, polled through the old object's provider.
		ox := *x
		ox.prov = oldProv
		err = ox.waitDelete(w, old.value, dr)
	}
	if err == nil {
		wr, _ := w.rec.writer()
		if err = wr.RemoveDeposed(w.callCtx, x.addr, a.deposedKey); err != nil {
			w.fail(x.addr, a.ch.Action, err.Error())
			return stateWriteDiag(err)
		}
		return nil
	}
	msg := fmt.Sprintf("The replacement was created, but the old object (id %s) could not be destroyed: %s. It stays in the state as deposed object %s, and the next apply destroys it.", objectID(old.value), err, a.deposedKey)
	w.fail(x.addr, a.ch.Action, msg)
	x.e.hooks.PostApply(x.addr, a.ch.Action, time.Since(a.start), objectID(a.newVal), fmt.Errorf("%s", msg))
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Old object not destroyed", Detail: msg, Subject: x.declRange()}}
}

// destroy deletes the object before (unmarked in the request) through the
// instance's provider. It reports only the provider's answer; recording
// is the caller's (a current object is removed, a deposed one too).
func (x *instance) destroy(w *applyWalk, before cty.Value, private []byte) (time.Time, error) {
	raw, _ := before.UnmarkDeep()
	start := w.inflight.begin(x.addr, plans.Delete)
	x.e.hooks.PreApply(x.addr, plans.Delete)
	resp := x.prov.client.ApplyResourceChange(w.callCtx, deleteRequest(x.typ(), before, raw, private))
	w.inflight.end(x.addr)
	if err := resp.Diagnostics.Err(); err != nil || resp.Pending == nil {
		return start, err
	}
	return start, x.waitDelete(w, before, resp)
}

// deleteRequest asks a provider to destroy the object prior of type typ:
// raw is prior without its marks, which say what the provider must mask.
func deleteRequest(typ string, prior, raw cty.Value, private []byte) protocol.ApplyResourceChangeRequest {
	return protocol.ApplyResourceChangeRequest{
		TypeName: typ, PriorState: raw, PlannedState: cty.NullVal(raw.Type()), Config: cty.NullVal(raw.Type()), PlannedPrivate: private,
		SensitivePaths: values.SensitivePaths(prior),
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
