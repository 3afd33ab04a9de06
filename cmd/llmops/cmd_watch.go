package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/alerts"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

const watchUsage = `
Usage: llmops watch [options]

Keeps reality reconciled with the configuration. Every -interval it
refreshes everything, reads the monitors, sends their alerts, rolls a
deployment back to its previous healthy revision when a monitor says
on_breach = "rollback", restarts replicas that died (when that is all the
plan would do) and reports the drift it does not fix. It takes the state
lock only while it changes something, so plan and apply from another
terminal keep working. Breaches, alerts and their outcome, rollbacks and
restarts are recorded in the state's event log.
`

func runWatch(m *meta, args []string) int {
	fs := m.newFlags("watch", watchUsage)
	interval := fs.Duration("interval", 30*time.Second, "Time between passes.")
	once := fs.Bool("once", false, "Do a single pass and exit (for cron and tests).")
	jsonLogs := fs.Bool("json", false, "Log JSON lines instead of text.")
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "watch", Output: m.stdout, JSONFormat: *jsonLogs, Level: hclog.Info, TimeFormat: time.RFC3339})
	ctx, stop := m.interruptible(nil)
	defer stop()
	w := &watcher{m: m, log: logger}
	for {
		code := w.pass(ctx)
		if *once {
			return code
		}
		select {
		case <-ctx.Done():
			logger.Info("stopped")
			return exitOK
		case <-time.After(*interval):
		}
	}
}

type watcher struct {
	m   *meta
	log hclog.Logger
}

// pass is one reconciliation: refresh and plan without the lock, then
// take it for each change it makes.
func (w *watcher) pass(ctx context.Context) int {
	m := w.m
	lockWanted := m.useLock
	m.useLock = false // read without the lock
	op, ok := m.prepare(ctx, "watch", engine.DefaultParallelism, nil, nil)
	m.useLock = lockWanted
	if !ok {
		w.log.Error("cannot prepare the pass; see the errors above")
		return exitError
	}
	defer op.close()
	p, diags := op.eng.Plan(ctx, m.withPins(ctx, op, engine.PlanOptions{}))
	m.learnPlan(p)
	if p == nil || diags.HasErrors() {
		m.showDiags(diags)
		w.log.Error("refresh and plan failed")
		return exitError
	}
	code := exitOK
	if !w.monitors(ctx, op, p) {
		code = exitError
	}
	// Replicas that died show as drift of a deployment and a plan that
	// only updates those deployments: fix that, report anything else.
	restart := map[addrs.ResourceInstance]bool{}
	for _, d := range p.Drift {
		if d.Addr.Resource.Type == "deployment" {
			restart[d.Addr] = true
		}
	}
	var other []string
	var targets []addrs.Pattern
	for _, c := range p.Changes {
		switch {
		case c.Action == plans.NoOp || c.Action == plans.Wait:
		case c.Action == plans.Update && restart[c.Addr]:
			pt, _ := addrs.ParsePattern(c.Addr.String())
			targets = append(targets, pt)
		default:
			other = append(other, fmt.Sprintf("%s (%s)", c.Addr, c.Action))
		}
	}
	for _, d := range p.Drift {
		if d.Addr.Resource.Type != "deployment" && d.Addr.Resource.Type != "monitor" {
			w.log.Warn("drift not fixed by watch", "address", d.Addr.String(), "change", string(d.Action))
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		w.log.Warn("the configuration has changes watch does not apply; run llmops apply", "changes", other)
	} else if len(targets) > 0 {
		if !w.restart(ctx, targets) {
			code = exitError
		}
	}
	if code == exitOK {
		w.log.Info("pass complete", "objects", len(p.Changes), "drift", len(p.Drift))
	}
	return code
}

// restart applies the plan limited to deployments whose replicas died,
// under the lock.
func (w *watcher) restart(ctx context.Context, targets []addrs.Pattern) bool {
	m := w.m
	op, ok := m.prepare(ctx, "watch", engine.DefaultParallelism, nil, nil)
	if !ok {
		return false
	}
	defer op.close()
	p, diags := op.eng.Plan(ctx, m.withPins(ctx, op, engine.PlanOptions{Targets: targets}))
	m.learnPlan(p)
	if p == nil || diags.HasErrors() {
		m.showDiags(diags)
		return false
	}
	if !p.HasChanges() {
		return true
	}
	who, _ := who()
	res, diags := op.eng.Apply(ctx, p, engine.ApplyOptions{Who: who, Command: "watch (restart)"})
	if res == nil || diags.HasErrors() || len(res.Failed) > 0 {
		m.showDiags(diags)
		w.log.Error("restarting replicas failed")
		w.event(ctx, op.store, "watch.restart_failed", "", "restarting replicas failed", nil)
		return false
	}
	for _, t := range targets {
		w.log.Info("restarted replicas", "deployment", t.String())
		w.event(ctx, op.store, "watch.restart", t.String(), "replicas restarted", nil)
	}
	return true
}

// monitors reads every monitor's refreshed state and acts on breaches:
// an event per new breach, its alert, and a rollback when asked.
func (w *watcher) monitors(ctx context.Context, op *operation, p *plans.Plan) bool {
	evs, _ := op.store.Events(ctx, 0)
	open := openBreaches(evs)
	ok := true
	for _, c := range p.Changes {
		if c.Addr.Resource.Type != "monitor" {
			continue
		}
		v := c.After
		if v == cty.NilVal || !v.IsWhollyKnown() {
			v = c.Before
		}
		mon := c.Addr.String()
		status := history.AttrString(v, "status")
		breaches := readBreaches(v)
		now := map[string]bool{}
		revision := attrInt(v, "deployment_revision")
		for _, b := range breaches {
			key := mon + " " + b.Check
			now[key] = true
			if rev, isOpen := open[key]; isOpen && rev == revision {
				continue // already reported for this revision
			}
			payload := alerts.Payload{Monitor: mon, Check: b.Check, Value: b.Value, Bound: b.Bound, Kind: b.Kind,
				Deployment: history.AttrString(v, "deployment"), Revision: revision, Time: time.Now().UTC(),
				Action: onBreach(v)}
			w.log.Warn("breach", "monitor", mon, "check", b.Check, "value", b.Value, "bound", b.Bound, "kind", b.Kind)
			w.event(ctx, op.store, "monitor.breach", mon, fmt.Sprintf("%s = %g crossed %s %g", b.Check, b.Value, b.Kind, b.Bound), payload)
			for _, t := range alertTargets(v) {
				n, err := alerts.Deliver(ctx, t, payload, alerts.Options{})
				if err != nil {
					ok = false
					w.log.Error("alert failed", "monitor", mon, "target", t.String(), "attempts", n, "error", err.Error())
					w.event(ctx, op.store, "alert.failed", mon, fmt.Sprintf("%s after %d attempts: %s", t, n, err), payload)
					continue
				}
				w.log.Info("alert sent", "monitor", mon, "target", t.String(), "attempts", n)
				w.event(ctx, op.store, "alert.sent", mon, fmt.Sprintf("%s (%d attempts)", t, n), payload)
			}
			if payload.Action == "rollback" {
				if !w.rollback(ctx, op, mon, payload) {
					ok = false
				}
			}
		}
		for key := range open {
			if len(key) > len(mon) && key[:len(mon)+1] == mon+" " && !now[key] && status != "" {
				w.log.Info("recovered", "monitor", mon, "check", key[len(mon)+1:])
				w.event(ctx, op.store, "monitor.recovered", mon, key[len(mon)+1:]+" back within bounds", nil)
			}
		}
	}
	return ok
}

// rollback moves the watched deployment back to its previous revision.
func (w *watcher) rollback(ctx context.Context, op *operation, mon string, payload alerts.Payload) bool {
	m := w.m
	snap, err := op.store.Snapshot(ctx, 0)
	if err != nil {
		return false
	}
	objs, err := history.Decode(snap)
	if err != nil {
		return false
	}
	var dep *history.Object
	for _, o := range objs {
		if o.Addr.Resource.Type == "deployment" && history.AttrString(o.Value, "id") == payload.Deployment {
			dep = o
		}
	}
	if dep == nil {
		w.log.Error("rollback: the watched deployment is not in the state", "monitor", mon, "deployment", payload.Deployment)
		return false
	}
	// A deployment already rolled back (by watch or by hand) stays where it
	// is: rolling back again would return to the revision that was rolled
	// back from, and watch would swing between the two.
	if evs, err := op.store.Events(ctx, 0); err == nil {
		if pin, pinned := history.ActivePins(evs)[dep.Addr]; pinned {
			w.log.Warn("not rolling back again: the deployment was already rolled back; fix the configuration, or run llmops rollback", "deployment", dep.Addr.String(), "rolled_back_to_serial", pin.ToSerial)
			w.event(ctx, op.store, "watch.rollback_skipped", dep.Addr.String(), fmt.Sprintf("already rolled back to serial %d; %s breached again", pin.ToSerial, payload.Check), payload)
			return true
		}
	}
	rows, err := op.store.ObjectHistory(ctx, dep.Addr)
	if err != nil || len(rows) < 2 {
		w.log.Error("rollback: the deployment has no earlier revision", "deployment", dep.Addr.String())
		w.event(ctx, op.store, "watch.rollback_failed", dep.Addr.String(), "no earlier revision to roll back to", payload)
		return false
	}
	to := rows[len(rows)-2].Serial
	rop, ok := m.prepare(ctx, "watch rollback", engine.DefaultParallelism, nil, nil)
	if !ok {
		return false
	}
	defer rop.close()
	rp, diags := rop.eng.PlanRollback(ctx, []addrs.ResourceInstance{dep.Addr}, to)
	if rp == nil || diags.HasErrors() {
		m.showDiags(diags)
		return false
	}
	who, _ := who()
	res, diags := rop.eng.ApplyRollback(ctx, rp, engine.ApplyOptions{Who: who, Command: fmt.Sprintf("watch: rollback %s --to %d (%s breached)", dep.Addr, to, payload.Check)})
	if res == nil || diags.HasErrors() || len(res.Failed) > 0 {
		m.showDiags(diags)
		w.log.Error("rollback failed", "deployment", dep.Addr.String())
		w.event(ctx, rop.store, "watch.rollback_failed", dep.Addr.String(), "rollback failed", payload)
		return false
	}
	w.log.Warn("rolled back", "deployment", dep.Addr.String(), "to_serial", to, "because", payload.Check)
	w.event(ctx, rop.store, "watch.rollback", dep.Addr.String(), fmt.Sprintf("rolled back to serial %d because %s breached", to, payload.Check), payload)
	return true
}

func (w *watcher) event(ctx context.Context, st state.Store, kind, addr, msg string, data any) {
	var b []byte
	if data != nil {
		b, _ = json.Marshal(data)
	}
	if err := st.AppendEvent(ctx, state.Event{Time: time.Now().UTC(), Kind: kind, Addr: addr, Message: msg, Data: b}); err != nil {
		fmt.Fprintf(os.Stderr, "watch: cannot record the event %s: %s\n", kind, err)
	}
}

// openBreaches returns the monitor checks whose last event is a breach,
// with the deployment revision it was found on: a breach of a newer
// revision is a new breach.
func openBreaches(evs []state.Event) map[string]int64 {
	open := map[string]int64{}
	for _, ev := range evs {
		switch ev.Kind {
		case "monitor.breach":
			var p alerts.Payload
			if json.Unmarshal(ev.Data, &p) == nil {
				open[ev.Addr+" "+p.Check] = p.Revision
			}
		case "monitor.recovered":
			check := ev.Message
			if i := len(check) - len(" back within bounds"); i > 0 {
				check = check[:i]
			}
			delete(open, ev.Addr+" "+check)
		}
	}
	return open
}

type breach struct {
	Check, Kind  string
	Value, Bound float64
}

func readBreaches(v cty.Value) []breach {
	l := history.Attr(v, "breaches")
	if l == cty.NilVal || l.IsNull() || !l.IsKnown() || !(l.Type().IsListType() || l.Type().IsTupleType()) {
		return nil
	}
	var out []breach
	for it := l.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, breach{Check: history.AttrString(e, "check"), Kind: history.AttrString(e, "kind"), Value: attrFloat(e, "value"), Bound: attrFloat(e, "bound")})
	}
	return out
}

func alertTargets(v cty.Value) []alerts.Target {
	l := history.Attr(v, "alert")
	if l == cty.NilVal || l.IsNull() || !l.IsKnown() {
		return nil
	}
	var out []alerts.Target
	add := func(e cty.Value) {
		t := alerts.Target{Webhook: history.AttrString(e, "webhook")}
		if c := history.Attr(e, "command"); c != cty.NilVal && c.IsKnown() && !c.IsNull() {
			for it := c.ElementIterator(); it.Next(); {
				_, a := it.Element()
				if a.Type() == cty.String && !a.IsNull() {
					t.Command = append(t.Command, a.AsString())
				}
			}
		}
		if t.Webhook != "" || len(t.Command) > 0 {
			out = append(out, t)
		}
	}
	if l.Type().IsObjectType() {
		add(l)
		return out
	}
	for it := l.ElementIterator(); it.Next(); {
		_, e := it.Element()
		add(e)
	}
	return out
}

func onBreach(v cty.Value) string {
	if s := history.AttrString(v, "on_breach"); s != "" {
		return s
	}
	return "alert"
}

func attrFloat(v cty.Value, name string) float64 {
	a := history.Attr(v, name)
	if a == cty.NilVal || a.IsNull() || !a.IsKnown() || a.Type() != cty.Number {
		return 0
	}
	f, _ := a.AsBigFloat().Float64()
	return f
}

func attrInt(v cty.Value, name string) int64 {
	return int64(attrFloat(v, name))
}
