package reconcile

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/alerts"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

// Event kinds written by a pass.
const (
	EventBreach          = "monitor.breach"
	EventRecovered       = "monitor.recovered"
	EventAlertSent       = "alert.sent"
	EventAlertFailed     = "alert.failed"
	EventRollback        = "watch.rollback"
	EventRollbackFailed  = "watch.rollback_failed"
	EventRollbackSkipped = "watch.rollback_skipped"
	EventRestart         = "watch.restart"
	EventRestartFailed   = "watch.restart_failed"
)

// CheckKey names one check of one monitor: the key of an open breach.
type CheckKey struct {
	Monitor string // the monitor's address, e.g. monitor.prod
	Check   string // the check's name, e.g. p95_latency_ms
}

// Breach is a check out of bounds at a monitor's last reading.
type Breach struct {
	Key     CheckKey
	Payload alerts.Payload
	Alerts  []alerts.Target
}

// Decision is what a pass must do.
type Decision struct {
	// Breaches are new: not open for the same deployment revision.
	Breaches []Breach
	// Recovered are open breaches whose check is back within bounds.
	Recovered []CheckKey
	// Restart lists deployments whose replicas died and that the plan
	// only updates (restarts in the same revision).
	Restart []addrs.ResourceInstance
	// Unapplied are changes the plan would make that watch does not
	// apply ("address (action)"); Drift is drift watch does not fix.
	Unapplied []string
	Drift     []*plans.ResourceInstanceChange
}

// Decide reads a plan made by refresh and the event log.
func Decide(p *plans.Plan, events []state.Event, now time.Time) Decision {
	var d Decision
	open := OpenBreaches(events)
	for _, c := range p.Changes {
		if c.Addr.Resource.Type == "monitor" {
			d.monitor(c, open, now)
		}
	}
	dead := map[addrs.ResourceInstance]bool{}
	for _, dr := range p.Drift {
		switch dr.Addr.Resource.Type {
		case "deployment":
			dead[dr.Addr] = true
		case "monitor":
		default:
			d.Drift = append(d.Drift, dr)
		}
	}
	var restart []addrs.ResourceInstance
	for _, c := range p.Changes {
		switch {
		case c.Action == plans.NoOp || c.Action == plans.Wait:
		case c.Action == plans.Update && dead[c.Addr]:
			restart = append(restart, c.Addr)
		default:
			d.Unapplied = append(d.Unapplied, c.Addr.String()+" ("+string(c.Action)+")")
		}
	}
	sort.Strings(d.Unapplied)
	if len(d.Unapplied) == 0 {
		// Restarting is safe only when it is all the plan would do.
		d.Restart = restart
	}
	return d
}

// monitor adds the new breaches and the recoveries of one monitor.
func (d *Decision) monitor(c *plans.ResourceInstanceChange, open map[CheckKey]int64, now time.Time) {
	v := c.After
	if v == cty.NilVal || !v.IsWhollyKnown() {
		v = c.Before
	}
	mon := c.Addr.String()
	revision := attrInt(v, "deployment_revision")
	current := map[CheckKey]bool{}
	for _, b := range readBreaches(v) {
		key := CheckKey{Monitor: mon, Check: b.Check}
		current[key] = true
		if rev, isOpen := open[key]; isOpen && rev == revision {
			continue // already reported for this revision
		}
		d.Breaches = append(d.Breaches, Breach{Key: key, Alerts: alertTargets(v), Payload: alerts.Payload{
			Monitor: mon, Check: b.Check, Value: b.Value, Bound: b.Bound, Kind: b.Kind,
			Deployment: history.AttrString(v, "deployment"), Revision: revision, Time: now.UTC(), Action: onBreach(v),
		}})
	}
	if history.AttrString(v, "status") == "" {
		return // no reading yet: nothing recovered
	}
	var rec []CheckKey
	for key := range open {
		if key.Monitor == mon && !current[key] {
			rec = append(rec, key)
		}
	}
	sort.Slice(rec, func(i, j int) bool { return rec[i].Check < rec[j].Check })
	d.Recovered = append(d.Recovered, rec...)
}

// recoveredData is the data of a recovery event.
type recoveredData struct {
	Check string `json:"check"`
}

// OpenBreaches returns the monitor checks whose last event is a breach,
// with the deployment revision it was found on: a breach of a newer
// revision is a new breach.
func OpenBreaches(evs []state.Event) map[CheckKey]int64 {
	open := map[CheckKey]int64{}
	for _, ev := range evs {
		switch ev.Kind {
		case EventBreach:
			var p alerts.Payload
			if json.Unmarshal(ev.Data, &p) == nil {
				open[CheckKey{Monitor: ev.Addr, Check: p.Check}] = p.Revision
			}
		case EventRecovered:
			var r recoveredData
			if json.Unmarshal(ev.Data, &r) != nil || r.Check == "" {
				// Written before the data carried the check.
				r.Check = strings.TrimSuffix(ev.Message, " back within bounds")
			}
			delete(open, CheckKey{Monitor: ev.Addr, Check: r.Check})
		}
	}
	return open
}

type reading struct {
	Check, Kind  string
	Value, Bound float64
}

func readBreaches(v cty.Value) []reading {
	l := history.Attr(v, "breaches")
	if l == cty.NilVal || l.IsNull() || !l.IsKnown() || !(l.Type().IsListType() || l.Type().IsTupleType()) {
		return nil
	}
	var out []reading
	for it := l.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, reading{Check: history.AttrString(e, "check"), Kind: history.AttrString(e, "kind"), Value: attrFloat(e, "value"), Bound: attrFloat(e, "bound")})
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

func attrInt(v cty.Value, name string) int64 { return int64(attrFloat(v, name)) }
