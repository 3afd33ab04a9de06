package reconcile

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/alerts"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func ri(s string) addrs.ResourceInstance {
	a, err := addrs.ParseResourceInstance(s)
	if err != nil {
		panic(err)
	}
	return a
}

// monitorVal is a monitor's refreshed value with the given breaches
// ("check" -> value over a max bound of 1).
func monitorVal(status string, revision int64, onBreach string, breaches ...string) cty.Value {
	bt := cty.Object(map[string]cty.Type{"check": cty.String, "value": cty.Number, "bound": cty.Number, "kind": cty.String})
	var bs []cty.Value
	for _, c := range breaches {
		bs = append(bs, cty.ObjectVal(map[string]cty.Value{"check": cty.StringVal(c), "value": cty.NumberFloatVal(2.5), "bound": cty.NumberIntVal(1), "kind": cty.StringVal("max")}))
	}
	list := cty.ListValEmpty(bt)
	if len(bs) > 0 {
		list = cty.ListVal(bs)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"deployment":          cty.StringVal("dep-1"),
		"deployment_revision": cty.NumberIntVal(revision),
		"status":              cty.StringVal(status),
		"on_breach":           cty.StringVal(onBreach),
		"breaches":            list,
		"alert": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"webhook": cty.StringVal("http://127.0.0.1:9/hook"), "command": cty.NullVal(cty.List(cty.String)),
		})}),
	})
}

func breachEvent(mon, check string, revision int64) state.Event {
	b, _ := json.Marshal(alerts.Payload{Monitor: mon, Check: check, Revision: revision})
	return state.Event{Kind: EventBreach, Addr: mon, Data: b}
}

func TestDecideBreaches(t *testing.T) {
	tests := []struct {
		name      string
		mon       cty.Value
		events    []state.Event
		breaches  []CheckKey
		recovered []CheckKey
	}{
		{"new breach", monitorVal("breach", 2, "alert", "p95_latency_ms"), nil,
			[]CheckKey{{"monitor.m", "p95_latency_ms"}}, nil},
		{"open for the same revision", monitorVal("breach", 2, "alert", "p95_latency_ms"), []state.Event{breachEvent("monitor.m", "p95_latency_ms", 2)},
			nil, nil},
		{"open for an older revision", monitorVal("breach", 3, "alert", "p95_latency_ms"), []state.Event{breachEvent("monitor.m", "p95_latency_ms", 2)},
			[]CheckKey{{"monitor.m", "p95_latency_ms"}}, nil},
		{"recovered", monitorVal("ok", 2, "alert"), []state.Event{breachEvent("monitor.m", "error_rate", 2)},
			nil, []CheckKey{{"monitor.m", "error_rate"}}},
		{"no reading yet: nothing recovered", monitorVal("", 2, "alert"), []state.Event{breachEvent("monitor.m", "error_rate", 2)},
			nil, nil},
		{"recovered before (message form)", monitorVal("breach", 2, "alert", "error_rate"),
			[]state.Event{breachEvent("monitor.m", "error_rate", 2), {Kind: EventRecovered, Addr: "monitor.m", Message: "error_rate back within bounds"}},
			[]CheckKey{{"monitor.m", "error_rate"}}, nil},
		{"another monitor's breach stays open", monitorVal("ok", 2, "alert"), []state.Event{breachEvent("monitor.other", "error_rate", 2)},
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &plans.Plan{Changes: []*plans.ResourceInstanceChange{{Addr: ri("monitor.m"), Action: plans.NoOp, Before: tt.mon, After: tt.mon}}}
			d := Decide(p, tt.events, now)
			var got []CheckKey
			for _, b := range d.Breaches {
				got = append(got, b.Key)
			}
			if !reflect.DeepEqual(got, tt.breaches) {
				t.Errorf("breaches = %v, want %v", got, tt.breaches)
			}
			if !reflect.DeepEqual(d.Recovered, tt.recovered) {
				t.Errorf("recovered = %v, want %v", d.Recovered, tt.recovered)
			}
		})
	}
}

func TestDecideBreachPayload(t *testing.T) {
	mon := monitorVal("breach", 4, "rollback", "error_rate")
	p := &plans.Plan{Changes: []*plans.ResourceInstanceChange{{Addr: ri("monitor.m"), Action: plans.NoOp, Before: mon, After: cty.UnknownVal(mon.Type())}}}
	d := Decide(p, nil, now)
	if len(d.Breaches) != 1 {
		t.Fatalf("breaches: %+v", d.Breaches)
	}
	b := d.Breaches[0]
	want := alerts.Payload{Monitor: "monitor.m", Check: "error_rate", Value: 2.5, Bound: 1, Kind: "max", Deployment: "dep-1", Revision: 4, Time: now, Action: "rollback"}
	if b.Payload != want {
		t.Errorf("payload (read from Before when After is unknown) = %+v, want %+v", b.Payload, want)
	}
	if len(b.Alerts) != 1 || b.Alerts[0].Webhook != "http://127.0.0.1:9/hook" {
		t.Errorf("alerts = %+v", b.Alerts)
	}
}

func TestDecideRestartsAndDrift(t *testing.T) {
	dep, run := ri("deployment.prod"), ri("training_run.ft")
	obj := cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("x")})
	upd := func(a addrs.ResourceInstance, act plans.Action) *plans.ResourceInstanceChange {
		return &plans.ResourceInstanceChange{Addr: a, Action: act, Before: obj, After: obj}
	}
	tests := []struct {
		name      string
		changes   []*plans.ResourceInstanceChange
		drift     []*plans.ResourceInstanceChange
		restart   []addrs.ResourceInstance
		unapplied []string
		drifted   int
	}{
		{"dead replicas only", []*plans.ResourceInstanceChange{upd(dep, plans.Update), upd(run, plans.NoOp)}, []*plans.ResourceInstanceChange{upd(dep, plans.Update)},
			[]addrs.ResourceInstance{dep}, nil, 0},
		{"other changes block the restart", []*plans.ResourceInstanceChange{upd(dep, plans.Update), upd(run, plans.DeleteThenCreate)}, []*plans.ResourceInstanceChange{upd(dep, plans.Update)},
			nil, []string{"training_run.ft (delete-then-create)"}, 0},
		{"an update without drift is a configuration change", []*plans.ResourceInstanceChange{upd(dep, plans.Update)}, nil,
			nil, []string{"deployment.prod (update)"}, 0},
		{"drift of other kinds is reported", []*plans.ResourceInstanceChange{upd(run, plans.Wait)}, []*plans.ResourceInstanceChange{upd(run, plans.Delete), upd(ri("monitor.m"), plans.Update)},
			nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(&plans.Plan{Changes: tt.changes, Drift: tt.drift}, nil, now)
			if !reflect.DeepEqual(d.Restart, tt.restart) {
				t.Errorf("restart = %v, want %v", d.Restart, tt.restart)
			}
			if !reflect.DeepEqual(d.Unapplied, tt.unapplied) {
				t.Errorf("unapplied = %v, want %v", d.Unapplied, tt.unapplied)
			}
			if len(d.Drift) != tt.drifted {
				t.Errorf("drift = %d, want %d", len(d.Drift), tt.drifted)
			}
		})
	}
}
