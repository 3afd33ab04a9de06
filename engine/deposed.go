package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// Deposed objects. A create_before_destroy replacement first records the
// old object as deposed (state.Writer.Depose), creates the new one, then
// destroys the old one and forgets it. When that destroy fails, or llmops
// stops before it, the old object stays recorded as deposed: every later
// plan lists it (plans.Plan.Deposed) and apply destroys it once the
// address's replacement exists, after all other changes.

// newDeposedKey names a deposed object: 8 random hex digits.
func newDeposedKey() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%08x", time.Now().UnixNano()&0xffffffff)
	}
	return hex.EncodeToString(b[:])
}

// deposedChanges plans the destroy of every deposed object (none in a
// refresh-only plan), honouring -target and -exclude.
func (w *planWalk) deposedChanges(snap *state.Snapshot) ([]*plans.ResourceInstanceChange, hcl.Diagnostics) {
	if w.opts.Mode == plans.RefreshOnlyMode {
		return nil, nil
	}
	var out []*plans.ResourceInstanceChange
	var diags hcl.Diagnostics
	for _, o := range snap.Deposed {
		if (len(w.opts.Targets) > 0 || len(w.opts.Excludes) > 0) && !w.instanceSelected(o.Addr) {
			continue
		}
		v, err := values.DecodeSealed(values.Encoded{Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.SensitivePaths}, w.e.opts.Secrets, false)
		switch {
		case errors.Is(err, values.ErrSealed):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "The state key is needed",
				Detail: fmt.Sprintf("The deposed object %s of %s has sensitive values sealed in the state. %s", o.Deposed, o.Addr, secretsHelp)})
			continue
		case err != nil:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid object in state",
				Detail: fmt.Sprintf("the deposed object %s of %s: %s", o.Deposed, o.Addr, err)})
			continue
		}
		out = append(out, &plans.ResourceInstanceChange{
			Addr: o.Addr, Provider: o.Provider, Action: plans.Delete, Reason: plans.ReasonDeposed,
			Before: v, After: cty.NullVal(v.Type()), Private: o.Private, Dependencies: o.Dependencies,
			DeposedKey: o.Deposed,
		})
	}
	return out, diags
}

// destroyDeposed destroys the deposed objects the plan lists, after every
// other change, except those whose address's replacement is not in place
// (its change failed, was skipped, or still runs): the old object is what
// serves until then.
func (w *applyWalk) destroyDeposed(ctx context.Context) {
	for _, ch := range w.plan.Deposed {
		if ctx.Err() != nil {
			return
		}
		if w.replacementMissing(ch.Addr) {
			continue
		}
		w.addDiags(w.destroyDeposedObject(ch))
	}
}

func (w *applyWalk) replacementMissing(ri addrs.ResourceInstance) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	failed := slices.ContainsFunc(w.result.Failed, func(f InstanceFailure) bool { return f.Addr == ri })
	return failed || slices.Contains(w.result.Skipped, ri) || slices.Contains(w.result.StillPending, ri) || slices.Contains(w.result.Deferred, ri)
}

func (w *applyWalk) destroyDeposedObject(ch *plans.ResourceInstanceChange) hcl.Diagnostics {
	ri := ch.Addr
	fail := func(err error) hcl.Diagnostics {
		msg := fmt.Sprintf("The deposed object %s of %s (id %s, the old object of a create_before_destroy replacement) could not be destroyed: %s. It stays in the state; the next apply tries again.", ch.DeposedKey, ri, objectID(ch.Before), err)
		w.fail(ri, plans.Delete, msg)
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot destroy the deposed object of %s", ri), Detail: msg}}
	}
	if w.e.providerConfig(ch.Provider) == nil {
		return fail(fmt.Errorf("its provider %s is not in the configuration; add the provider block back", ch.Provider))
	}
	if ds := w.e.configureProvider(w.callCtx, w.data, ch.Provider); ds.HasErrors() {
		return fail(ds)
	}
	pi, err := w.e.providers.get(w.callCtx, ch.Provider)
	if err != nil {
		return fail(err)
	}
	wr, err := w.rec.writer()
	if err != nil {
		return fail(err)
	}
	x := &instance{e: w.e, addr: ri, cfg: w.e.cfg.Resource(ri.Resource), prov: pi}
	start, err := x.destroy(w, ch.Before, ch.Private)
	if err == nil {
		err = wr.RemoveDeposed(w.callCtx, ri, ch.DeposedKey)
	}
	w.e.hooks.PostApply(ri, plans.Delete, time.Since(start), "", err)
	if err != nil {
		return fail(err)
	}
	w.count(plans.Delete)
	return nil
}
