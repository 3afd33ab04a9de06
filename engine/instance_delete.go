package engine

import (
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// waitDelete waits for a delete the provider answered with a pending
// handle (a remote job being cancelled, an endpoint being torn down), as
// wait does for a create: it reads the object with the handle until the
// provider reports it gone (a null state). An error, or an object that
// ends its operation without being gone, fails the destroy and the object
// stays recorded; so does an interrupt, which leaves the remote delete
// running: the next destroy asks again.
func (x *instance) waitDelete(w *applyWalk, before cty.Value, resp protocol.ApplyResourceChangeResponse) error {
	start := time.Now()
	cur := &recordedObject{obj: &state.Object{Addr: x.addr, Provider: x.prov.addr, Status: state.StatusPending, Private: resp.Private,
		PendingHandle: resp.Pending.Handle, PendingStatus: resp.Pending.Status}, value: before}
	x.e.hooks.Pending(x.addr, resp.Pending.Status, resp.Pending.Message, 0)
	for {
		if w.interrupt != nil && w.interrupt.Err() != nil {
			return fmt.Errorf("interrupted while the provider was still destroying the object (%s, handle %s); it stays in the state, and the next destroy asks the provider again", cur.obj.PendingStatus, cur.obj.PendingHandle)
		}
		now, pend, ds := x.read(w.callCtx, cur)
		if ds.HasErrors() {
			return fmt.Errorf("the delete failed while the provider was waiting for it: %s", ds.Error())
		}
		if now == nil {
			return nil // gone
		}
		if pend == nil {
			return fmt.Errorf("the provider's delete operation ended, but the object still exists (id %s)", objectID(now.value))
		}
		cur = &recordedObject{obj: &state.Object{Addr: x.addr, Provider: x.prov.addr, Status: state.StatusPending, Private: now.obj.Private,
			PendingHandle: pend.Handle, PendingStatus: pend.Status}, value: before}
		x.e.hooks.Pending(x.addr, pend.Status, pend.Message, time.Since(start))
		select {
		case <-w.interrupt.Done():
		case <-time.After(x.e.opts.PollInterval):
		}
	}
}
