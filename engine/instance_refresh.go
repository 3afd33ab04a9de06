package engine

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// refreshed is what the refresh step learned about the recorded object.
type refreshed struct {
	// pending is the long operation still running, if any.
	pending *protocol.Pending
	// wasPending: the object was recorded pending before the refresh.
	wasPending bool
	// interrupted: a create was recorded (intent) but its result never
	// was; private is the private data of that intent, handed to the
	// provider so it can adopt what it started.
	interrupted        bool
	interruptedPrivate []byte
	// drift is the change made outside llmops that refresh found, if any.
	drift *plans.ResourceInstanceChange
}

// refresh reads the recorded object through its provider and replaces
// x.prior with what exists (nil when it no longer does). skip plans
// against the recorded object without reading reality.
func (x *instance) refresh(ctx context.Context, skip bool) (refreshed, hcl.Diagnostics) {
	var r refreshed
	if x.prior == nil {
		return r, nil
	}
	var diags hcl.Diagnostics
	status := x.prior.obj.Status
	r.wasPending = status == state.StatusPending
	if r.wasPending {
		r.pending = &protocol.Pending{Handle: x.prior.obj.PendingHandle, Status: x.prior.obj.PendingStatus}
	}
	readable := !skip && status != state.StatusCreating && !(status == state.StatusReady && x.noRefresh())
	if readable {
		now, pend, ds := x.read(ctx, x.prior)
		if ds.HasErrors() && r.wasPending {
			// The long operation failed while nobody waited for it: say
			// why, and replace the object.
			diags = append(diags, asWarnings(ds, fmt.Sprintf("%s: the operation running in the background failed", x.addr))...)
			obj := *x.prior.obj
			obj.Status = state.StatusTainted
			val := x.prior.value
			if now != nil {
				val = now.value
			}
			now, pend, ds = &recordedObject{obj: &obj, value: val}, nil, nil
		}
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return r, diags
		}
		r.pending = pend
		switch {
		case now == nil:
			r.drift = &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Action: plans.Delete, Before: x.prior.value, After: cty.NullVal(x.prior.value.Type())}
		case !r.wasPending && !valuesEqual(withoutReadings(x.typ(), now.value), withoutReadings(x.typ(), x.prior.value)):
			r.drift = &plans.ResourceInstanceChange{Addr: x.addr, Provider: x.prov.addr, Action: plans.Update, Before: x.prior.value, After: now.value}
		}
		x.prior = now
	}
	// llmops stopped between recording a create's intent and its result:
	// plan the create again; the provider adopts what it finds.
	if x.prior != nil && x.prior.obj.Status == state.StatusCreating {
		r.interrupted = true
		r.interruptedPrivate = x.prior.obj.Private
		x.prior = nil
	}
	return r, diags
}

// asWarnings turns error diagnostics into warnings under a new summary.
func asWarnings(ds hcl.Diagnostics, summary string) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(ds))
	for i, d := range ds {
		c := *d
		c.Severity = hcl.DiagWarning
		c.Summary = summary + ": " + d.Summary
		out[i] = &c
	}
	return out
}

// read reads one recorded object through its provider. It returns nil
// when the object no longer exists, and the pending job when the object
// is still being created. A failed long operation is reported as what it
// is (the provider's own words, under the instance's address and block),
// with the state the provider reached.
func (x *instance) read(ctx context.Context, prior *recordedObject) (*recordedObject, *protocol.Pending, hcl.Diagnostics) {
	x.e.hooks.PreRefresh(x.addr)
	raw, _ := prior.value.UnmarkDeep()
	sensitive := values.SensitivePaths(prior.value)
	req := protocol.ReadResourceRequest{TypeName: x.typ(), CurrentState: raw, Private: prior.obj.Private, SensitivePaths: sensitive}
	if prior.obj.Status == state.StatusPending {
		req.Pending = &protocol.Pending{Handle: prior.obj.PendingHandle, Status: prior.obj.PendingStatus}
	}
	resp := x.prov.client.ReadResource(ctx, req)
	if resp.Diagnostics.HasErrors() {
		err := resp.Diagnostics.Err()
		x.e.hooks.PostRefresh(x.addr, err)
		var diags hcl.Diagnostics
		if req.Pending != nil {
			// The job ended without success: the provider says why (with
			// the tail of its log); that is the error, not a failed read.
			diags = x.diags(resp.Diagnostics)
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					d.Summary = fmt.Sprintf("%s: %s", x.addr, lowerFirst(d.Summary))
				}
			}
		} else {
			diags = hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Cannot refresh %s", x.addr),
				Detail:   fmt.Sprintf("The provider %s could not read the object: %s", x.prov.addr, err),
				Subject:  x.declRange(),
			}}
		}
		// A failed long operation comes with the state the provider reached
		// (e.g. an evaluation's results with a failed gate): keep it.
		if resp.NewState != cty.NilVal && !resp.NewState.IsNull() {
			obj := *prior.obj
			obj.Private = resp.Private
			return &recordedObject{obj: &obj, value: values.MarkPaths(resp.NewState, sensitive)}, nil, diags
		}
		return nil, nil, diags
	}
	x.e.hooks.PostRefresh(x.addr, nil)
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

// lowerFirst lower-cases the first letter of a summary used after a colon
// ("The job failed" -> "the job failed"), unless it starts an acronym.
func lowerFirst(s string) string {
	if len(s) < 2 || s[0] < 'A' || s[0] > 'Z' || (s[1] >= 'A' && s[1] <= 'Z') {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
