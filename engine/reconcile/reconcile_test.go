package reconcile

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/alerts"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// fakeSession records what a pass asks of it.
type fakeSession struct {
	plan      *plans.Plan
	planDiags hcl.Diagnostics
	applied   [][]addrs.Pattern
	rollbacks []string
	failApply bool
	reported  int
}

func (s *fakeSession) Plan(context.Context) (*plans.Plan, hcl.Diagnostics) {
	return s.plan, s.planDiags
}
func (s *fakeSession) Apply(_ context.Context, targets []addrs.Pattern, _ string) (*engine.ApplyResult, hcl.Diagnostics) {
	s.applied = append(s.applied, targets)
	if s.failApply {
		return &engine.ApplyResult{Failed: []engine.InstanceFailure{{Err: "boom"}}}, nil
	}
	return &engine.ApplyResult{}, nil
}
func (s *fakeSession) Rollback(_ context.Context, a addrs.ResourceInstance, to int64, _ string) (*engine.ApplyResult, hcl.Diagnostics) {
	s.rollbacks = append(s.rollbacks, a.String()+"@"+itoa(to))
	return &engine.ApplyResult{}, nil
}
func (s *fakeSession) Report(hcl.Diagnostics) { s.reported++ }

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// store is a SQLite state in which deployment.prod (id dep-1) was written
// by two versions (serials 1 and 2).
func store(t *testing.T) state.Store {
	t.Helper()
	st, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for rev := int64(1); rev <= 2; rev++ {
		w, err := st.Begin(context.Background(), state.VersionInfo{CreatedAt: now, Status: state.VersionInProgress})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := values.Encode(cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("dep-1"), "revision": cty.NumberIntVal(rev)}))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.PutObject(context.Background(), &state.Object{Addr: ri("deployment.prod"), Provider: addrs.ProviderConfig{Type: "local"}, Status: state.StatusReady, ValueJSON: enc.Value, TypeJSON: enc.Type}); err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(context.Background(), state.VersionComplete, state.Counts{}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func kinds(t *testing.T, st state.Store) []string {
	t.Helper()
	evs, err := st.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func reconciler(s Session, st state.Store, deliver DeliverFunc) (*Reconciler, *bytes.Buffer) {
	var log bytes.Buffer
	return &Reconciler{Session: s, Store: st, Deliver: deliver, Now: func() time.Time { return now },
		Log: hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Info})}, &log
}

func monitorPlan(mon cty.Value) *plans.Plan {
	return &plans.Plan{Changes: []*plans.ResourceInstanceChange{{Addr: ri("monitor.m"), Action: plans.NoOp, Before: mon, After: mon}}}
}

func TestPassRollsBackOnce(t *testing.T) {
	st := store(t)
	sess := &fakeSession{plan: monitorPlan(monitorVal("breach", 2, "rollback", "error_rate"))}
	var delivered []alerts.Payload
	r, log := reconciler(sess, st, func(_ context.Context, _ alerts.Target, p alerts.Payload) (int, error) {
		delivered = append(delivered, p)
		return 1, nil
	})
	if !r.Pass(context.Background()) {
		t.Fatalf("pass failed:\n%s", log)
	}
	if len(delivered) != 1 || delivered[0].Check != "error_rate" {
		t.Errorf("alerts delivered: %+v", delivered)
	}
	if len(sess.rollbacks) != 1 || sess.rollbacks[0] != "deployment.prod@1" {
		t.Errorf("rollbacks = %v, want deployment.prod back to serial 1", sess.rollbacks)
	}
	want := []string{EventBreach, EventAlertSent, EventRollback}
	if got := kinds(t, st); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v, want %v", got, want)
	}
	// The rollback pinned the deployment (as the engine's apply records
	// it): a new breach of the same check does not roll back again.
	if err := st.AppendEvent(context.Background(), state.Event{Time: now, Kind: history.EventRollbackPin, Addr: "deployment.prod", Data: history.PinData(history.Pin{ToSerial: 1, FromSerial: 2})}); err != nil {
		t.Fatal(err)
	}
	sess.plan = monitorPlan(monitorVal("breach", 1, "rollback", "error_rate"))
	if !r.Pass(context.Background()) {
		t.Fatalf("second pass failed:\n%s", log)
	}
	if len(sess.rollbacks) != 1 {
		t.Errorf("rolled back again: %v", sess.rollbacks)
	}
	if got := kinds(t, st); got[len(got)-1] != EventRollbackSkipped {
		t.Errorf("events = %v, want the skip recorded last", got)
	}
}

func TestPassAlertFailureFailsThePass(t *testing.T) {
	st := store(t)
	sess := &fakeSession{plan: monitorPlan(monitorVal("breach", 2, "alert", "p95_latency_ms"))}
	r, _ := reconciler(sess, st, func(context.Context, alerts.Target, alerts.Payload) (int, error) {
		return 4, errors.New("connection refused")
	})
	if r.Pass(context.Background()) {
		t.Fatal("a pass whose alert could not be delivered succeeded")
	}
	if got := kinds(t, st); strings.Join(got, ",") != EventBreach+","+EventAlertFailed {
		t.Errorf("events = %v", got)
	}
	if len(sess.rollbacks) != 0 {
		t.Errorf("on_breach = alert rolled back: %v", sess.rollbacks)
	}
}

func TestPassRestartsDeadReplicas(t *testing.T) {
	obj := cty.ObjectVal(map[string]cty.Value{"status": cty.StringVal("degraded")})
	dep := &plans.ResourceInstanceChange{Addr: ri("deployment.prod"), Action: plans.Update, Before: obj, After: obj}
	for _, fail := range []bool{false, true} {
		st := store(t)
		sess := &fakeSession{plan: &plans.Plan{Changes: []*plans.ResourceInstanceChange{dep}, Drift: []*plans.ResourceInstanceChange{dep}}, failApply: fail}
		r, _ := reconciler(sess, st, nil)
		if ok := r.Pass(context.Background()); ok == fail {
			t.Errorf("failApply=%v: pass returned %v", fail, ok)
		}
		if len(sess.applied) != 1 || len(sess.applied[0]) != 1 || sess.applied[0][0].String() != "deployment.prod" {
			t.Errorf("applied targets = %v", sess.applied)
		}
		want := EventRestart
		if fail {
			want = EventRestartFailed
		}
		if got := kinds(t, st); len(got) != 1 || got[0] != want {
			t.Errorf("failApply=%v: events = %v, want [%s]", fail, got, want)
		}
	}
}

func TestPassPlanFailure(t *testing.T) {
	sess := &fakeSession{planDiags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "boom"}}}
	r, log := reconciler(sess, store(t), nil)
	if r.Pass(context.Background()) {
		t.Fatal("a pass whose plan failed succeeded")
	}
	if sess.reported != 1 || !strings.Contains(log.String(), "refresh and plan failed") {
		t.Errorf("reported %d times; log:\n%s", sess.reported, log)
	}
}
