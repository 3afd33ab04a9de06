package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/alerts"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

// Session is what a pass needs from its caller. Plan reads without the
// state lock; Apply and Rollback take it for as long as they change
// something, and go through the engine's apply walk like any apply.
type Session interface {
	// Plan refreshes every object and plans the whole configuration.
	Plan(ctx context.Context) (*plans.Plan, hcl.Diagnostics)
	// Apply plans and applies the configuration limited to targets.
	Apply(ctx context.Context, targets []addrs.Pattern, command string) (*engine.ApplyResult, hcl.Diagnostics)
	// Rollback puts addr back to state version toSerial.
	Rollback(ctx context.Context, addr addrs.ResourceInstance, toSerial int64, command string) (*engine.ApplyResult, hcl.Diagnostics)
	// Report shows diagnostics to the user.
	Report(hcl.Diagnostics)
}

// DeliverFunc sends one alert; it returns the attempts made.
type DeliverFunc func(ctx context.Context, t alerts.Target, p alerts.Payload) (int, error)

// Reconciler runs passes.
type Reconciler struct {
	Session Session
	// Store is read for events and history, and written for events.
	Store   state.Store
	Deliver DeliverFunc
	Log     hclog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Pass does one reconciliation. It returns false when something failed
// (the plan, an alert, a rollback or a restart); what failed is logged and
// recorded in the event log.
func (r *Reconciler) Pass(ctx context.Context) bool {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	p, diags := r.Session.Plan(ctx)
	if p == nil || diags.HasErrors() {
		r.Session.Report(diags)
		r.Log.Error("refresh and plan failed")
		return false
	}
	evs, err := r.Store.Events(ctx, 0)
	if err != nil {
		r.Log.Error("cannot read the event log", "error", err.Error())
		return false
	}
	d := Decide(p, evs, now())
	ok := true
	for _, b := range d.Breaches {
		if !r.breach(ctx, b, evs) {
			ok = false
		}
	}
	for _, k := range d.Recovered {
		r.Log.Info("recovered", "monitor", k.Monitor, "check", k.Check)
		ok = r.event(ctx, EventRecovered, k.Monitor, k.Check+" back within bounds", recoveredData{Check: k.Check}) && ok
	}
	for _, dr := range d.Drift {
		r.Log.Warn("drift not fixed by watch", "address", dr.Addr.String(), "change", string(dr.Action))
	}
	if len(d.Unapplied) > 0 {
		r.Log.Warn("the configuration has changes watch does not apply; run llmops apply", "changes", d.Unapplied)
	}
	if len(d.Restart) > 0 && !r.restart(ctx, d.Restart) {
		ok = false
	}
	if ok {
		r.Log.Info("pass complete", "objects", len(p.Changes), "drift", len(p.Drift))
	}
	return ok
}

// breach reports a new breach: an event, its alerts, and a rollback when
// the monitor asks for one.
func (r *Reconciler) breach(ctx context.Context, b Breach, evs []state.Event) bool {
	pl := b.Payload
	r.Log.Warn("breach", "monitor", pl.Monitor, "check", pl.Check, "value", pl.Value, "bound", pl.Bound, "kind", pl.Kind)
	ok := r.event(ctx, EventBreach, pl.Monitor, fmt.Sprintf("%s = %g crossed %s %g", pl.Check, pl.Value, pl.Kind, pl.Bound), pl)
	for _, t := range b.Alerts {
		n, err := r.Deliver(ctx, t, pl)
		if err != nil {
			ok = false
			r.Log.Error("alert failed", "monitor", pl.Monitor, "target", t.String(), "attempts", n, "error", err.Error())
			r.event(ctx, EventAlertFailed, pl.Monitor, fmt.Sprintf("%s after %d attempts: %s", t, n, err), pl)
			continue
		}
		r.Log.Info("alert sent", "monitor", pl.Monitor, "target", t.String(), "attempts", n)
		ok = r.event(ctx, EventAlertSent, pl.Monitor, fmt.Sprintf("%s (%d attempts)", t, n), pl) && ok
	}
	if pl.Action == "rollback" && !r.rollback(ctx, pl, evs) {
		ok = false
	}
	return ok
}

// rollback moves the watched deployment back to its previous revision,
// once: a deployment already rolled back (by watch or by hand) stays
// where it is, since rolling back again would return to the revision it
// was rolled back from, and watch would swing between the two.
func (r *Reconciler) rollback(ctx context.Context, pl alerts.Payload, evs []state.Event) bool {
	addr, err := r.deploymentAddr(ctx, pl.Deployment)
	if err != nil {
		r.Log.Error("rollback: "+err.Error(), "monitor", pl.Monitor, "deployment", pl.Deployment)
		r.event(ctx, EventRollbackFailed, pl.Monitor, err.Error(), pl)
		return false
	}
	if pin, pinned := history.ActivePins(evs)[addr]; pinned {
		r.Log.Warn("not rolling back again: the deployment was already rolled back; fix the configuration, or run llmops rollback", "deployment", addr.String(), "rolled_back_to_serial", pin.ToSerial)
		return r.event(ctx, EventRollbackSkipped, addr.String(), fmt.Sprintf("already rolled back to serial %d; %s breached again", pin.ToSerial, pl.Check), pl)
	}
	rows, err := r.Store.ObjectHistory(ctx, addr)
	if err != nil {
		r.Log.Error("rollback: cannot read the deployment's history", "deployment", addr.String(), "error", err.Error())
		r.event(ctx, EventRollbackFailed, addr.String(), "cannot read its history: "+err.Error(), pl)
		return false
	}
	if len(rows) < 2 {
		r.Log.Error("rollback: the deployment has no earlier revision", "deployment", addr.String())
		r.event(ctx, EventRollbackFailed, addr.String(), "no earlier revision to roll back to", pl)
		return false
	}
	to := rows[len(rows)-2].Serial
	res, diags := r.Session.Rollback(ctx, addr, to, fmt.Sprintf("watch: rollback %s --to %d (%s breached)", addr, to, pl.Check))
	if res == nil || diags.HasErrors() || len(res.Failed) > 0 {
		r.Session.Report(diags)
		r.Log.Error("rollback failed", "deployment", addr.String())
		r.event(ctx, EventRollbackFailed, addr.String(), "rollback failed", pl)
		return false
	}
	r.Log.Warn("rolled back", "deployment", addr.String(), "to_serial", to, "because", pl.Check)
	return r.event(ctx, EventRollback, addr.String(), fmt.Sprintf("rolled back to serial %d because %s breached", to, pl.Check), pl)
}

// deploymentAddr finds the deployment with the given id in the newest
// state version.
func (r *Reconciler) deploymentAddr(ctx context.Context, id string) (addrs.ResourceInstance, error) {
	snap, err := r.Store.Snapshot(ctx, 0)
	if err != nil {
		return addrs.ResourceInstance{}, fmt.Errorf("cannot read the state: %w", err)
	}
	objs, err := history.Decode(snap)
	if err != nil {
		return addrs.ResourceInstance{}, fmt.Errorf("cannot decode the state: %w", err)
	}
	for _, o := range objs {
		if o.Addr.Resource.Type == "deployment" && history.AttrString(o.Value, "id") == id {
			return o.Addr, nil
		}
	}
	return addrs.ResourceInstance{}, fmt.Errorf("the watched deployment %s is not in the state", id)
}

// restart applies the plan limited to deployments whose replicas died.
func (r *Reconciler) restart(ctx context.Context, deps []addrs.ResourceInstance) bool {
	targets := make([]addrs.Pattern, 0, len(deps))
	for _, a := range deps {
		pt, err := addrs.ParsePattern(a.String())
		if err != nil {
			r.Log.Error("cannot target the deployment", "deployment", a.String(), "error", err.Error())
			return false
		}
		targets = append(targets, pt)
	}
	res, diags := r.Session.Apply(ctx, targets, "watch (restart)")
	if res == nil || diags.HasErrors() || len(res.Failed) > 0 {
		r.Session.Report(diags)
		r.Log.Error("restarting replicas failed")
		r.event(ctx, EventRestartFailed, "", "restarting replicas failed", nil)
		return false
	}
	ok := true
	for _, a := range deps {
		r.Log.Info("restarted replicas", "deployment", a.String())
		ok = r.event(ctx, EventRestart, a.String(), "replicas restarted", nil) && ok
	}
	return ok
}

// event appends to the event log; a failure is logged and reported.
func (r *Reconciler) event(ctx context.Context, kind, addr, msg string, data any) bool {
	var b []byte
	if data != nil {
		var err error
		if b, err = json.Marshal(data); err != nil {
			r.Log.Error("cannot encode the event", "kind", kind, "error", err.Error())
			return false
		}
	}
	if err := r.Store.AppendEvent(ctx, state.Event{Time: time.Now().UTC(), Kind: kind, Addr: addr, Message: msg, Data: b}); err != nil {
		r.Log.Error("cannot record the event", "kind", kind, "error", err.Error())
		return false
	}
	return true
}
