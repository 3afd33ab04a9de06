package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

// wait polls a long operation until it ends and records its result. With
// -wait=false, or once llmops is interrupted, it leaves the operation
// running and recorded as pending with its handle, so the next plan or
// apply picks it up where it is. Polls wait on the context, never on a
// bare sleep, so an interrupt is seen at once.
func (x *instance) wait(ctx context.Context, w *applyWalk, rec *recordedObject, meta objMeta, action plans.Action) (cty.Value, bool, hcl.Diagnostics) {
	start := time.Now()
	for {
		if w.opts.NoWait || ctx.Err() != nil {
			w.leavePending(x.addr)
			x.e.hooks.Pending(x.addr, "submitted, still running", rec.obj.PendingStatus, time.Since(start))
			return rec.value, true, nil
		}
		now, pend, ds := x.read(w.callCtx, rec)
		if ds.HasErrors() {
			return x.waitFailed(w, rec, now, meta, action, ds, start)
		}
		if now == nil {
			msg := "the object disappeared while its operation was running"
			w.fail(x.addr, action, msg)
			if err := w.rec.remove(x.addr); err != nil {
				return cty.DynamicVal, false, stateWriteDiag(err)
			}
			return cty.DynamicVal, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s failed", x.addr), Detail: msg, Subject: x.declRange()}}
		}
		now.value = withVersion(x.addr, now.value, meta.version)
		if pend == nil {
			return x.waitDone(w, now, meta, action, ds, start)
		}
		rec = now
		if err := x.persist(w.rec, rec.value, rec.obj.Private, state.StatusPending, pend, meta); err != nil {
			return rec.value, false, stateWriteDiag(err)
		}
		x.e.hooks.Pending(x.addr, pend.Status, pend.Message, time.Since(start))
		select {
		case <-ctx.Done():
		case <-time.After(x.e.opts.PollInterval):
		}
	}
}

// waitFailed records a long operation that ended in failure: the provider
// says why (with the log's tail) and returns the state it reached, which
// is recorded tainted. The failure is reported once, as the diagnostic.
func (x *instance) waitFailed(w *applyWalk, rec, now *recordedObject, meta objMeta, action plans.Action, ds hcl.Diagnostics, start time.Time) (cty.Value, bool, hcl.Diagnostics) {
	summary := strings.TrimPrefix(ds[0].Summary, x.addr.String()+": ")
	w.fail(x.addr, action, summary)
	x.e.hooks.PostApply(x.addr, action, time.Since(start), "", fmt.Errorf("%s", summary))
	val, priv := rec.value, rec.obj.Private
	if now != nil {
		val, priv = withVersion(x.addr, now.value, meta.version), now.obj.Private
	}
	if err := x.persist(w.rec, val, priv, state.StatusTainted, nil, meta); err != nil {
		ds = append(ds, stateWriteDiag(err)...)
	}
	return val, false, ds
}

// waitDone records a long operation that ended: ready, or tainted when
// the provider reports the job's status as a failure.
func (x *instance) waitDone(w *applyWalk, now *recordedObject, meta objMeta, action plans.Action, warnings hcl.Diagnostics, start time.Time) (cty.Value, bool, hcl.Diagnostics) {
	if st := jobStatus(x.addr, now.value); failedJobStatuses[st] {
		// The job ended without succeeding (cancelled by an admin, timed
		// out...) and the provider reported it as a status.
		msg := fmt.Sprintf("the job ended with status %q", st)
		w.fail(x.addr, action, msg)
		x.e.hooks.PostApply(x.addr, action, time.Since(start), "", fmt.Errorf("%s", msg))
		if err := x.persist(w.rec, now.value, now.obj.Private, state.StatusTainted, nil, meta); err != nil {
			return now.value, false, stateWriteDiag(err)
		}
		return now.value, false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s: %s", x.addr, msg),
			Detail: "It is recorded as tainted and the next apply replaces it.", Subject: x.declRange()}}
	}
	if err := x.persist(w.rec, now.value, now.obj.Private, state.StatusReady, nil, meta); err != nil {
		return now.value, false, stateWriteDiag(err)
	}
	if action == plans.Wait {
		x.e.hooks.PostApply(x.addr, action, time.Since(start), objectID(now.value), nil)
	}
	return now.value, true, warnings
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
