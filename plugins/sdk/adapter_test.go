package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// thing is a resource with every kind of attribute the planner treats
// differently, and nested blocks.
func thingSchema() sdk.Block {
	return sdk.Block{
		Attributes: sdk.Attributes{
			"name":  sdk.Attr(cty.String).Required(),
			"zone":  sdk.Attr(cty.String).Optional().ForceNew(),
			"size":  sdk.Attr(cty.Number).Optional().Computed(),
			"id":    sdk.Attr(cty.String).Computed(),
			"notes": sdk.Attr(cty.String).Optional(),
		},
		Blocks: sdk.Blocks{
			"disk": sdk.SingleBlock(sdk.Block{Attributes: sdk.Attributes{
				"kind":   sdk.Attr(cty.String).Optional().ForceNew(),
				"serial": sdk.Attr(cty.String).Computed(),
			}}),
			"port": sdk.ListBlock(sdk.Block{Attributes: sdk.Attributes{
				"num": sdk.Attr(cty.Number).Required(),
			}}).MaxItems(2),
		},
	}
}

var thingTy = thingSchema().Build().ImpliedType()

func disk(kind, serial cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"kind": kind, "serial": serial})
}

func thing(name, zone, size, id cty.Value, dsk cty.Value) cty.Value {
	if dsk == cty.NilVal {
		dsk = cty.NullVal(thingTy.AttributeType("disk"))
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": name, "zone": zone, "size": size, "id": id, "notes": cty.NullVal(cty.String),
		"disk": dsk, "port": cty.ListValEmpty(thingTy.AttributeType("port").ElementType()),
	})
}

var (
	nullS = cty.NullVal(cty.String)
	nullN = cty.NullVal(cty.Number)
	unkS  = cty.UnknownVal(cty.String)
	unkN  = cty.UnknownVal(cty.Number)
	str   = cty.StringVal
)

func provider(r *sdk.Resource) protocol.Provider {
	if r.Schema.Attributes == nil {
		r.Schema = thingSchema()
	}
	if r.Create == nil {
		r.Create = func(_ context.Context, req *sdk.CreateRequest) *sdk.Response {
			st := req.Planned
			st.SetString("id", "i-1")
			if !st.Known("size") {
				st.SetInt("size", 10)
			}
			return &sdk.Response{State: st}
		}
	}
	return sdk.NewProtocolProvider(&sdk.Provider{Name: "t", Version: "1", Resources: map[string]*sdk.Resource{"t_thing": r}})
}

// TestPlanUseStateForUnknown: an update keeps the prior value of computed
// attributes declared UseStateForUnknown (top level and nested), and makes
// the others unknown.
func TestPlanUseStateForUnknown(t *testing.T) {
	sch := thingSchema()
	sch.Attributes["id"] = sdk.Attr(cty.String).Computed().UseStateForUnknown()
	sch.Blocks["disk"] = sdk.SingleBlock(sdk.Block{Attributes: sdk.Attributes{
		"kind":   sdk.Attr(cty.String).Optional().ForceNew(),
		"serial": sdk.Attr(cty.String).Computed().UseStateForUnknown(),
	}})
	p := provider(&sdk.Resource{Schema: sch})
	prior := thing(str("a"), str("z1"), cty.NumberIntVal(10), str("i-1"), disk(str("ssd"), str("S1")))
	config := thing(str("b"), str("z1"), nullN, nullS, disk(str("ssd"), nullS))
	r := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "t_thing", PriorState: prior, ProposedNewState: config, Config: config})
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	want := thing(str("b"), str("z1"), unkN, str("i-1"), disk(str("ssd"), str("S1")))
	if !r.PlannedState.RawEquals(want) {
		t.Errorf("planned:\n got %#v\nwant %#v", r.PlannedState, want)
	}
	// A replacement's create knows nothing, UseStateForUnknown or not.
	config = thing(str("a"), str("z2"), nullN, nullS, disk(str("ssd"), nullS))
	r = p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "t_thing", PriorState: prior, ProposedNewState: config, Config: config})
	if want := thing(str("a"), str("z2"), unkN, unkS, disk(str("ssd"), unkS)); !r.PlannedState.RawEquals(want) {
		t.Errorf("replacement planned:\n got %#v\nwant %#v", r.PlannedState, want)
	}
}

func TestPlan(t *testing.T) {
	prior := thing(str("a"), str("z1"), cty.NumberIntVal(10), str("i-1"), disk(str("ssd"), str("S1")))
	tests := []struct {
		name    string
		prior   cty.Value
		config  cty.Value
		modify  func(context.Context, *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse
		want    cty.Value
		replace string
	}{
		{"create", cty.NullVal(thingTy), thing(str("a"), nullS, nullN, nullS, disk(str("ssd"), nullS)),
			nil, thing(str("a"), nullS, unkN, unkS, disk(str("ssd"), unkS)), ""},
		{"create with optional computed set", cty.NullVal(thingTy), thing(str("a"), nullS, cty.NumberIntVal(5), nullS, cty.NilVal),
			nil, thing(str("a"), nullS, cty.NumberIntVal(5), unkS, cty.NilVal), ""},
		{"no-op keeps computed", prior, thing(str("a"), str("z1"), nullN, nullS, disk(str("ssd"), nullS)),
			nil, prior, ""},
		// An update that changes something: computed values are unknown
		// unless declared UseStateForUnknown (TestPlanUseStateForUnknown).
		{"in-place update", prior, thing(str("b"), str("z1"), nullN, nullS, disk(str("ssd"), nullS)),
			nil, thing(str("b"), str("z1"), unkN, unkS, disk(str("ssd"), unkS)), ""},
		{"optional computed set by config", prior, thing(str("a"), str("z1"), cty.NumberIntVal(20), nullS, disk(str("ssd"), nullS)),
			nil, thing(str("a"), str("z1"), cty.NumberIntVal(20), unkS, disk(str("ssd"), unkS)), ""},
		{"force new top level", prior, thing(str("a"), str("z2"), nullN, nullS, disk(str("ssd"), nullS)),
			nil, thing(str("a"), str("z2"), unkN, unkS, disk(str("ssd"), unkS)), "zone"},
		{"force new unknown", prior, thing(str("a"), unkS, nullN, nullS, disk(str("ssd"), nullS)),
			nil, thing(str("a"), unkS, unkN, unkS, disk(str("ssd"), unkS)), "zone"},
		{"force new nested", prior, thing(str("a"), str("z1"), nullN, nullS, disk(str("hdd"), nullS)),
			nil, thing(str("a"), str("z1"), unkN, unkS, disk(str("hdd"), unkS)), "disk.kind"},
		{"force new block removed", prior, thing(str("a"), str("z1"), nullN, nullS, cty.NilVal),
			nil, thing(str("a"), str("z1"), unkN, unkS, cty.NilVal), "disk"},
		{"modify plan marks unknown", prior, thing(str("b"), str("z1"), nullN, nullS, disk(str("ssd"), nullS)),
			func(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
				p := req.Planned
				p.SetUnknown("size")
				return &sdk.ModifyPlanResponse{Planned: p}
			}, thing(str("b"), str("z1"), unkN, unkS, disk(str("ssd"), unkS)), ""},
		{"modify plan requires replace", prior, thing(str("b"), str("z1"), nullN, nullS, disk(str("ssd"), nullS)),
			func(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
				if req.IsCreate() {
					return nil
				}
				return &sdk.ModifyPlanResponse{RequiresReplace: []cty.Path{cty.GetAttrPath("name")}}
			}, thing(str("b"), str("z1"), unkN, unkS, disk(str("ssd"), unkS)), "name"},
		{"delete", prior, cty.NullVal(thingTy), nil, cty.NullVal(thingTy), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := provider(&sdk.Resource{ModifyPlan: tt.modify})
			r := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{
				TypeName: "t_thing", PriorState: tt.prior, ProposedNewState: tt.config, Config: tt.config, PriorPrivate: []byte("pp"),
			})
			if r.Diagnostics.HasErrors() {
				t.Fatal(r.Diagnostics.Err())
			}
			if !r.PlannedState.RawEquals(tt.want) {
				t.Errorf("planned:\n got %#v\nwant %#v", r.PlannedState, tt.want)
			}
			var got []string
			for _, p := range r.RequiresReplace {
				got = append(got, protocol.PathString(p))
			}
			if strings.Join(got, ",") != tt.replace {
				t.Errorf("requires replace %v, want %q", got, tt.replace)
			}
			if string(r.PlannedPrivate) != "pp" {
				t.Errorf("private %q", r.PlannedPrivate)
			}
		})
	}
}

func TestPlanWithoutProposedState(t *testing.T) {
	prior := thing(str("a"), str("z1"), cty.NumberIntVal(10), str("i-1"), cty.NilVal)
	cfg := thing(str("a"), str("z1"), nullN, nullS, cty.NilVal)
	r := provider(&sdk.Resource{}).PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "t_thing", PriorState: prior, Config: cfg})
	if r.Diagnostics.HasErrors() || !r.PlannedState.RawEquals(prior) {
		t.Fatalf("%v %#v", r.Diagnostics, r.PlannedState)
	}
}

func TestValidate(t *testing.T) {
	ports := func(n int) cty.Value {
		var vs []cty.Value
		for i := 0; i < n; i++ {
			vs = append(vs, cty.ObjectVal(map[string]cty.Value{"num": cty.NumberIntVal(int64(i))}))
		}
		if n == 0 {
			return cty.ListValEmpty(thingTy.AttributeType("port").ElementType())
		}
		return cty.ListVal(vs)
	}
	with := func(v cty.Value, attr string, x cty.Value) cty.Value {
		m := v.AsValueMap()
		m[attr] = x
		return cty.ObjectVal(m)
	}
	base := thing(str("a"), nullS, nullN, nullS, cty.NilVal)
	tests := []struct {
		name   string
		config cty.Value
		hook   func(context.Context, *sdk.ValidateRequest) sdk.Diagnostics
		want   string // path of the error, "" for none
	}{
		{"valid", base, nil, ""},
		{"unknown required", with(base, "name", unkS), nil, ""},
		{"missing required", with(base, "name", nullS), nil, "name"},
		{"computed set", with(base, "id", str("x")), nil, "id"},
		{"nested computed set", with(base, "disk", disk(nullS, str("S"))), nil, "disk.serial"},
		{"too many blocks", with(base, "port", ports(3)), nil, "port"},
		{"nested required", with(base, "port", cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"num": nullN})})), nil, "port[0].num"},
		{"hook", base, func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
			var d sdk.Diagnostics
			if req.Config.GetString("name") == "a" {
				d.AttrErrorf(cty.GetAttrPath("name"), "Bad name", "a is reserved")
			}
			return d
		}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := provider(&sdk.Resource{Validate: tt.hook}).ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: "t_thing", Config: tt.config})
			if tt.want == "" {
				if r.Diagnostics.HasErrors() {
					t.Fatal(r.Diagnostics.Err())
				}
				return
			}
			if len(r.Diagnostics) != 1 || protocol.PathString(r.Diagnostics[0].Attribute) != tt.want {
				t.Fatalf("want one error at %q, got %+v", tt.want, r.Diagnostics)
			}
		})
	}
}

func apply(p protocol.Provider, prior, planned cty.Value) protocol.ApplyResourceChangeResponse {
	return p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "t_thing", PriorState: prior, PlannedState: planned, Config: planned, PlannedPrivate: []byte("pp")})
}

func TestApply(t *testing.T) {
	prior := thing(str("a"), nullS, cty.NumberIntVal(10), str("i-1"), cty.NilVal)
	planned := thing(str("b"), nullS, cty.NumberIntVal(10), str("i-1"), cty.NilVal)
	create := thing(str("a"), nullS, unkN, unkS, cty.NilVal)
	boom := errors.New("boom")
	tests := []struct {
		name        string
		res         sdk.Resource
		prior, plan cty.Value
		want        cty.Value
		wantErr     string
		wantPending bool
	}{
		{"create", sdk.Resource{}, cty.NullVal(thingTy), create, thing(str("a"), nullS, cty.NumberIntVal(10), str("i-1"), cty.NilVal), "", false},
		{"update without Update", sdk.Resource{}, prior, planned, planned, "", false},
		{"update", sdk.Resource{Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			st := req.Planned
			st.SetInt("size", 11)
			return &sdk.Response{State: st}
		}}, prior, planned, thing(str("b"), nullS, cty.NumberIntVal(11), str("i-1"), cty.NilVal), "", false},
		{"update fails without state keeps prior", sdk.Resource{Update: func(context.Context, *sdk.UpdateRequest) *sdk.Response {
			return sdk.ErrorResponse("Cannot update", boom)
		}}, prior, planned, prior, "boom", false},
		{"delete", sdk.Resource{}, prior, cty.NullVal(thingTy), cty.NullVal(thingTy), "", false},
		{"delete fails keeps prior", sdk.Resource{Delete: func(context.Context, *sdk.DeleteRequest) *sdk.Response {
			return sdk.ErrorResponse("Cannot delete", boom)
		}}, prior, cty.NullVal(thingTy), prior, "boom", false},
		{"create fails", sdk.Resource{Create: func(context.Context, *sdk.CreateRequest) *sdk.Response {
			return sdk.ErrorResponse("Cannot create", boom)
		}}, cty.NullVal(thingTy), create, cty.NullVal(thingTy), "boom", false},
		{"create returns nothing", sdk.Resource{Create: func(context.Context, *sdk.CreateRequest) *sdk.Response { return nil }},
			cty.NullVal(thingTy), create, cty.NullVal(thingTy), "returned no state", false},
		{"create leaves unknowns", sdk.Resource{Create: func(_ context.Context, req *sdk.CreateRequest) *sdk.Response {
			return &sdk.Response{State: req.Planned}
		}}, cty.NullVal(thingTy), create, thing(str("a"), nullS, nullN, nullS, cty.NilVal), `"id", "size" are still unknown`, false},
		{"pending partial state", sdk.Resource{Create: func(_ context.Context, req *sdk.CreateRequest) *sdk.Response {
			return &sdk.Response{State: req.Planned, Pending: sdk.PendingState("job-1", "queued", "")}
		}}, cty.NullVal(thingTy), create, thing(str("a"), nullS, nullN, nullS, cty.NilVal), "", true},
		{"panic", sdk.Resource{Create: func(context.Context, *sdk.CreateRequest) *sdk.Response { panic("oops") }},
			cty.NullVal(thingTy), create, cty.NullVal(thingTy), "Create of t_thing panicked", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res
			r := apply(provider(&res), tt.prior, tt.plan)
			if tt.wantErr == "" && r.Diagnostics.HasErrors() {
				t.Fatal(r.Diagnostics.Err())
			}
			if tt.wantErr != "" && (!r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), tt.wantErr)) {
				t.Fatalf("want error %q, got %v", tt.wantErr, r.Diagnostics)
			}
			if !r.NewState.RawEquals(tt.want) {
				t.Errorf("new state:\n got %#v\nwant %#v", r.NewState, tt.want)
			}
			if (r.Pending != nil) != tt.wantPending {
				t.Errorf("pending %+v", r.Pending)
			}
		})
	}
}

func TestReadAndPending(t *testing.T) {
	st := thing(str("a"), nullS, cty.NumberIntVal(10), str("i-1"), cty.NilVal)
	polls := 0
	res := &sdk.Resource{Read: func(_ context.Context, req *sdk.ReadRequest) *sdk.Response {
		switch {
		case req.Pending != nil && polls < 2:
			polls++
			return &sdk.Response{State: req.State, Pending: sdk.PendingState(req.Pending.Handle, "running", "step")}
		case req.Pending != nil:
			s := req.State
			s.SetInt("size", 99)
			return &sdk.Response{State: s, Private: []byte("done")}
		case req.State.GetString("name") == "gone":
			return sdk.Gone()
		}
		return nil
	}}
	p := provider(res)
	read := func(cur cty.Value, pending *protocol.Pending) protocol.ReadResourceResponse {
		return p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "t_thing", CurrentState: cur, Private: []byte("p0"), Pending: pending})
	}
	if r := read(st, nil); !r.NewState.RawEquals(st) || string(r.Private) != "p0" || r.Pending != nil {
		t.Errorf("unchanged: %#v %q", r.NewState, r.Private)
	}
	if r := read(thing(str("gone"), nullS, nullN, str("i"), cty.NilVal), nil); !r.NewState.IsNull() {
		t.Errorf("gone: %#v", r.NewState)
	}
	if r := read(cty.NullVal(thingTy), nil); !r.NewState.IsNull() || r.Diagnostics.HasErrors() {
		t.Errorf("null: %#v", r.NewState)
	}
	pending := &protocol.Pending{Handle: "h"}
	for i := 0; i < 2; i++ {
		r := read(st, pending)
		if r.Pending == nil || r.Pending.Handle != "h" || r.Pending.Status != "running" {
			t.Fatalf("poll %d: %+v", i, r.Pending)
		}
	}
	r := read(st, pending)
	if r.Pending != nil || r.NewState.GetAttr("size").AsBigFloat().String() != "99" || string(r.Private) != "done" {
		t.Fatalf("final: %+v %#v", r.Pending, r.NewState)
	}
	r = provider(&sdk.Resource{}).ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "t_thing", CurrentState: st, Pending: pending})
	if !r.Diagnostics.HasErrors() {
		t.Error("a pending object without Read must be an error")
	}
}

func TestStopCancelsInFlightCalls(t *testing.T) {
	started := make(chan struct{})
	res := &sdk.Resource{Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
		close(started)
		select {
		case <-ctx.Done():
			if context.Cause(ctx) != sdk.ErrStopped {
				return sdk.ErrorResponse("wrong cause", context.Cause(ctx))
			}
			return sdk.ErrorResponse("Stopped", ctx.Err())
		case <-time.After(10 * time.Second):
			return sdk.ErrorResponse("Not stopped", errors.New("timeout"))
		}
	}}
	p := provider(res)
	done := make(chan protocol.ApplyResourceChangeResponse)
	go func() { done <- apply(p, cty.NullVal(thingTy), thing(str("a"), nullS, unkN, unkS, cty.NilVal)) }()
	<-started
	if r := p.StopProvider(context.Background(), protocol.StopProviderRequest{}); r.Error != "" {
		t.Fatal(r.Error)
	}
	r := <-done
	if !r.Diagnostics.HasErrors() || r.Diagnostics[0].Summary != "Stopped" {
		t.Fatalf("%+v", r.Diagnostics)
	}
}

func TestConfigureMetaAndUpgrade(t *testing.T) {
	var seen any
	pv := &sdk.Provider{
		Name: "t", Version: "1",
		Schema: sdk.Block{Attributes: sdk.Attributes{"region": sdk.Attr(cty.String).Required()}},
		Configure: func(_ context.Context, req *sdk.ConfigureRequest) (any, sdk.Diagnostics) {
			return "client-for-" + req.Config.GetString("region"), nil
		},
		Resources: map[string]*sdk.Resource{"t_thing": {
			Schema:        thingSchema(),
			SchemaVersion: 2,
			Create: func(_ context.Context, req *sdk.CreateRequest) *sdk.Response {
				seen = req.Meta
				return sdk.ErrorResponse("stop here", errors.New("x"))
			},
			UpgradeState: func(_ context.Context, req *sdk.UpgradeRequest) *sdk.Response {
				old, err := req.Decode(cty.Object(map[string]cty.Type{"title": cty.String}))
				if err != nil {
					return sdk.ErrorResponse("bad", err)
				}
				st := sdk.NullObject(req.Current)
				st.Set("name", old.GetAttr("title"))
				st.SetString("id", "i")
				return &sdk.Response{State: st}
			},
		}},
	}
	p := sdk.NewProtocolProvider(pv)
	ctx := context.Background()
	cfg := cty.ObjectVal(map[string]cty.Value{"region": str("eu")})
	if r := p.ValidateProviderConfig(ctx, protocol.ValidateProviderConfigRequest{Config: cty.ObjectVal(map[string]cty.Value{"region": nullS})}); !r.Diagnostics.HasErrors() {
		t.Error("missing region accepted")
	}
	if r := p.ConfigureProvider(ctx, protocol.ConfigureProviderRequest{Config: cfg}); r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	apply(p, cty.NullVal(thingTy), thing(str("a"), nullS, unkN, unkS, cty.NilVal))
	if seen != "client-for-eu" {
		t.Errorf("meta %v", seen)
	}
	r := p.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{TypeName: "t_thing", Version: 1, RawJSON: []byte(`{"title":"old"}`)})
	if r.Diagnostics.HasErrors() || r.UpgradedState.GetAttr("name").AsString() != "old" {
		t.Fatalf("upgrade: %v %#v", r.Diagnostics, r.UpgradedState)
	}
	cur, _ := ctyjsonMarshal(thing(str("n"), nullS, nullN, str("i"), cty.NilVal))
	r = p.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{TypeName: "t_thing", Version: 2, RawJSON: cur})
	if r.Diagnostics.HasErrors() || r.UpgradedState.GetAttr("name").AsString() != "n" {
		t.Fatalf("current version: %v %#v", r.Diagnostics, r.UpgradedState)
	}
	r = p.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{TypeName: "t_thing", Version: 2, RawJSON: []byte(`{"name":"n","removed_attr":1}`)})
	if r.Diagnostics.HasErrors() || r.UpgradedState.GetAttr("name").AsString() != "n" || !r.UpgradedState.GetAttr("id").IsNull() {
		t.Fatalf("added and removed attributes: %v %#v", r.Diagnostics, r.UpgradedState)
	}
}
