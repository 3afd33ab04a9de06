package null_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

var dyn = cty.DynamicPseudoType

func value(input, triggers, output, id cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"input": input, "triggers_replace": triggers, "output": output, "id": id})
}

func cfg(input, triggers cty.Value) cty.Value {
	return value(input, triggers, cty.NullVal(dyn), cty.NullVal(cty.String))
}

func TestNullValuePlan(t *testing.T) {
	prior := value(cty.StringVal("a"), cty.StringVal("t1"), cty.StringVal("a"), cty.StringVal("id1"))
	tests := []struct {
		name        string
		prior, conf cty.Value
		want        cty.Value
		replace     []string
	}{
		{"create", cty.NullVal(prior.Type()), cfg(cty.NumberIntVal(1), cty.NullVal(dyn)),
			value(cty.NumberIntVal(1), cty.NullVal(dyn), cty.DynamicVal, cty.UnknownVal(cty.String)), nil},
		{"no change", prior, cfg(cty.StringVal("a"), cty.StringVal("t1")), prior, nil},
		{"input changes", prior, cfg(cty.StringVal("b"), cty.StringVal("t1")),
			value(cty.StringVal("b"), cty.StringVal("t1"), cty.DynamicVal, cty.StringVal("id1")), nil},
		{"input changes type", prior, cfg(cty.NumberIntVal(1), cty.StringVal("t1")),
			value(cty.NumberIntVal(1), cty.StringVal("t1"), cty.DynamicVal, cty.StringVal("id1")), nil},
		{"input unknown", prior, cfg(cty.UnknownVal(cty.String), cty.StringVal("t1")),
			value(cty.UnknownVal(cty.String), cty.StringVal("t1"), cty.DynamicVal, cty.StringVal("id1")), nil},
		{"triggers change", prior, cfg(cty.StringVal("a"), cty.StringVal("t2")),
			value(cty.StringVal("a"), cty.StringVal("t2"), cty.DynamicVal, cty.UnknownVal(cty.String)), []string{"triggers_replace"}},
		{"triggers unknown", prior, cfg(cty.StringVal("a"), cty.DynamicVal),
			value(cty.StringVal("a"), cty.DynamicVal, cty.DynamicVal, cty.UnknownVal(cty.String)), []string{"triggers_replace"}},
		{"triggers removed", prior, cfg(cty.StringVal("a"), cty.NullVal(dyn)),
			value(cty.StringVal("a"), cty.NullVal(dyn), cty.DynamicVal, cty.UnknownVal(cty.String)), []string{"triggers_replace"}},
	}
	p := sdk.NewProtocolProvider(null.Provider())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "null_value", PriorState: tt.prior, ProposedNewState: tt.conf, Config: tt.conf})
			if r.Diagnostics.HasErrors() {
				t.Fatal(r.Diagnostics.Err())
			}
			want := tt.want
			if !r.PlannedState.RawEquals(want) {
				t.Errorf("planned:\n got %#v\nwant %#v", r.PlannedState, want)
			}
			var got []string
			for _, p := range r.RequiresReplace {
				got = append(got, protocol.PathString(p))
			}
			if strings.Join(got, ",") != strings.Join(tt.replace, ",") {
				t.Errorf("requires replace: got %v want %v", got, tt.replace)
			}
		})
	}
}

func TestNullValueApplyKeepsExactTypes(t *testing.T) {
	p := sdk.NewProtocolProvider(null.Provider())
	in := cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(1), "l": cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.True})})
	c := cfg(in, cty.NullVal(dyn))
	r := p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "null_value", PriorState: cty.NullVal(c.Type()), PlannedState: value(in, cty.NullVal(dyn), cty.DynamicVal, cty.UnknownVal(cty.String)), Config: c})
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	if !r.NewState.GetAttr("output").RawEquals(in) {
		t.Errorf("output = %#v, want %#v", r.NewState.GetAttr("output"), in)
	}
	if id := r.NewState.GetAttr("id").AsString(); len(id) != 16 {
		t.Errorf("id %q", id)
	}
	imp := p.ImportResourceState(context.Background(), protocol.ImportResourceStateRequest{TypeName: "null_value", ID: "abc"})
	if imp.Diagnostics.HasErrors() || len(imp.Imported) != 1 {
		t.Fatalf("import: %v", imp.Diagnostics)
	}
	want := value(cty.NullVal(dyn), cty.NullVal(dyn), cty.NullVal(dyn), cty.StringVal("abc"))
	if got := imp.Imported[0].State; !got.RawEquals(want) {
		t.Errorf("imported %#v", got)
	}
}

func job(duration string, fail cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"duration": cty.StringVal(duration), "fail": fail,
		"id": cty.NullVal(cty.String), "started_at": cty.NullVal(cty.String), "finished_at": cty.NullVal(cty.String)})
}

func TestNullJob(t *testing.T) {
	tests := []struct {
		name     string
		duration string
		fail     cty.Value
		wantErr  string
	}{
		{"finishes", "150ms", cty.NullVal(cty.Bool), ""},
		{"fails", "50ms", cty.True, "failed after 50ms"},
		{"instant", "0s", cty.False, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewProtocolProvider(null.Provider())
			ctx := context.Background()
			c := job(tt.duration, tt.fail)
			start := time.Now()
			r := p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: "null_job", PlannedState: c, Config: c})
			if r.Diagnostics.HasErrors() || r.Pending == nil || r.Pending.Handle == "" {
				t.Fatalf("create: %v %+v", r.Diagnostics, r.Pending)
			}
			if !r.NewState.GetAttr("finished_at").IsNull() || r.NewState.GetAttr("started_at").IsNull() {
				t.Errorf("partial state: %#v", r.NewState)
			}
			st, pending := r.NewState, r.Pending
			var diags protocol.Diagnostics
			for pending != nil && !diags.HasErrors() {
				if time.Since(start) > 5*time.Second {
					t.Fatal("still pending")
				}
				time.Sleep(20 * time.Millisecond)
				rr := p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "null_job", CurrentState: st, Pending: pending})
				st, pending, diags = rr.NewState, rr.Pending, rr.Diagnostics
			}
			d, _ := time.ParseDuration(tt.duration)
			if time.Since(start) < d {
				t.Errorf("finished after %s, before its duration %s", time.Since(start), d)
			}
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), tt.wantErr) {
					t.Fatalf("want error %q, got %v", tt.wantErr, diags)
				}
				return
			}
			if diags.HasErrors() || st.GetAttr("finished_at").IsNull() {
				t.Fatalf("final: %v %#v", diags, st)
			}
		})
	}
}

func TestNullJobValidate(t *testing.T) {
	p := sdk.NewProtocolProvider(null.Provider())
	for _, d := range []string{"soon", "-1s"} {
		r := p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: "null_job", Config: job(d, cty.NullVal(cty.Bool))})
		if !r.Diagnostics.HasErrors() || protocol.PathString(r.Diagnostics[0].Attribute) != "duration" {
			t.Errorf("%q: %v", d, r.Diagnostics)
		}
	}
	unk := cty.ObjectVal(map[string]cty.Value{"duration": cty.UnknownVal(cty.String), "fail": cty.UnknownVal(cty.Bool),
		"id": cty.NullVal(cty.String), "started_at": cty.NullVal(cty.String), "finished_at": cty.NullVal(cty.String)})
	if r := p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: "null_job", Config: unk}); r.Diagnostics.HasErrors() {
		t.Errorf("unknown duration: %v", r.Diagnostics)
	}
}

func TestTestSleepHonoursStop(t *testing.T) {
	t.Setenv(null.EnvTestSleep, "1m")
	p := sdk.NewProtocolProvider(null.Provider())
	c := cfg(cty.StringVal("x"), cty.NullVal(dyn))
	done := make(chan protocol.ApplyResourceChangeResponse)
	go func() {
		done <- p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "null_value", PlannedState: c, Config: c})
	}()
	// The stop only hits calls in flight, and the call may not have started
	// yet on a loaded machine: stop until it returns.
	stopped := time.After(10 * time.Second)
stopping:
	for {
		p.StopProvider(context.Background(), protocol.StopProviderRequest{})
		select {
		case r := <-done:
			if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), "stop") {
				t.Fatalf("want an interrupted error naming the stop, got %v", r.Diagnostics)
			}
			break stopping
		case <-time.After(50 * time.Millisecond):
		case <-stopped:
			t.Fatal("StopProvider did not interrupt the test sleep")
		}
	}
	// A call after the stop is not cancelled: the stop only hits calls in flight.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	r := p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: "null_value", PlannedState: c, Config: c})
	if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), "context canceled") {
		t.Fatalf("caller cancellation: %v", r.Diagnostics)
	}
}
