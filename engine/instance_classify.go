package engine

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// replaceReason says why the recorded object must be replaced whatever the
// provider plans: it is tainted, its create was interrupted, or -replace
// names it. ReasonNone otherwise.
func (x *instance) replaceReason(requested bool) plans.Reason {
	switch {
	case x.prior == nil:
		return plans.ReasonNone
	case x.prior.obj.Status == state.StatusTainted:
		return plans.ReasonTainted
	case x.prior.obj.Status == state.StatusCreating:
		return plans.ReasonCreateInterrupted
	case requested:
		return plans.ReasonReplaceRequested
	}
	return plans.ReasonNone
}

// classification is the input of the classify step.
type classification struct {
	refresh refreshed
	config  configValue
	// reason forces a replacement (replaceReason, or requires-replace).
	reason plans.Reason
	// update is the provider's plan from the recorded object (when there
	// is one and it was planned); create is its plan from nothing (for a
	// create, or the create half of a replacement).
	update, create planned
}

// classify picks the action for the instance and records why. The
// change's After is what references to the instance see while planning:
// for a create or a replacement, the create plan, whose computed values
// are unknown ("known after apply") rather than those of the object being
// replaced (which may be a failed one with no values at all).
func (x *instance) classify(c classification) *plans.ResourceInstanceChange {
	ch := &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Dependencies: x.deps, CreateBeforeDestroy: x.lc.createBeforeDestroy}
	switch {
	case x.prior == nil:
		ch.Action = plans.Create
		if c.refresh.interrupted {
			ch.Reason = plans.ReasonCreateInterrupted
		}
		ch.After = c.config.mark(c.create.value)
		ch.Before = cty.NullVal(ch.After.Type())
		ch.Private = c.create.private
		return ch
	case c.reason != plans.ReasonNone:
		ch.Action = plans.DeleteThenCreate
		if x.lc.createBeforeDestroy {
			ch.Action = plans.CreateThenDelete
		}
		ch.Reason = c.reason
		ch.Before = x.prior.value
		ch.After = c.config.mark(c.create.value)
		ch.RequiresReplace = c.update.requiresReplace
		ch.Private = c.create.private
		return ch
	}
	ch.Before = x.prior.value
	after := c.config.mark(c.update.value)
	if valuesEqual(after, x.prior.value) {
		ch.Action, ch.After = plans.NoOp, x.prior.value
	} else {
		ch.Action, ch.After, ch.Private = plans.Update, after, c.update.private
	}
	return x.classifyPending(ch, c.refresh)
}

// classifyPending turns the change of an object whose long operation
// runs (or ran while nobody waited) into a Wait.
func (x *instance) classifyPending(ch *plans.ResourceInstanceChange, r refreshed) *plans.ResourceInstanceChange {
	switch {
	case r.wasPending && r.pending == nil && ch.Action == plans.NoOp:
		// The job finished while nobody waited: apply records its result.
		ch.Action = plans.Wait
		ch.PendingStatus = "finished"
		ch.PendingMessage = "the background operation finished; apply records its result"
	case r.pending != nil && (ch.Action == plans.NoOp || ch.Action == plans.Update):
		ch.Action = plans.Wait
		// What the job will compute is not known yet: dependents plan
		// against unknown values, not the nulls of the partial state.
		ch.After = unknownComputed(x.schema.Block, x.prior.value)
		ch.PendingStatus = r.pending.Status
		ch.PendingMessage = r.pending.Message
	}
	return ch
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
