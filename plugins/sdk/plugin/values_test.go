package plugin_test

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// obj builds a value of the rich type: attrs given, everything else null.
func obj(attrs map[string]cty.Value) cty.Value {
	ty := richBlock().ImpliedType()
	out := make(map[string]cty.Value, len(ty.AttributeTypes()))
	for n, at := range ty.AttributeTypes() {
		out[n] = cty.NullVal(at)
	}
	for n, v := range attrs {
		out[n] = v
	}
	return cty.ObjectVal(out)
}

func roundTripCases() []struct {
	name string
	val  cty.Value
	want cty.Value // when it differs from val (marks dropped)
} {
	oTy := cty.Object(map[string]cty.Type{"a": cty.String, "b": cty.List(cty.Number)})
	itemTy := map[string]cty.Value{"name": cty.StringVal("a"), "val": cty.NumberIntVal(1)}
	return []struct {
		name string
		val  cty.Value
		want cty.Value
	}{
		{name: "nulls", val: obj(map[string]cty.Value{"s": cty.StringVal("x")})},
		{name: "null object", val: cty.NullVal(richBlock().ImpliedType())},
		{name: "scalars", val: obj(map[string]cty.Value{
			"s": cty.StringVal("héllo\x00world"), "n": cty.MustParseNumberVal("3.14159265358979323846264338327950288"),
			"b": cty.True, "id": cty.StringVal("i-1"), "opt_comp": cty.StringVal("oc"),
		})},
		{name: "big and negative numbers", val: obj(map[string]cty.Value{
			"s": cty.StringVal(""), "n": cty.MustParseNumberVal("-123456789012345678901234567890"),
		})},
		{name: "collections", val: obj(map[string]cty.Value{
			"s":  cty.StringVal("c"),
			"l":  cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String), cty.StringVal("a")}),
			"st": cty.SetVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y")}),
			"m":  cty.MapVal(map[string]cty.Value{"p": cty.NumberIntVal(1), "q": cty.NumberFloatVal(0.5)}),
			"o":  cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("z"), "b": cty.ListValEmpty(cty.Number)}),
		})},
		{name: "unknowns", val: obj(map[string]cty.Value{
			"s":   cty.UnknownVal(cty.String),
			"l":   cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
			"st":  cty.UnknownVal(cty.Set(cty.String)),
			"m":   cty.MapVal(map[string]cty.Value{"p": cty.UnknownVal(cty.Number)}),
			"o":   cty.UnknownVal(oTy),
			"dyn": cty.DynamicVal,
			"id":  cty.UnknownVal(cty.String),
		})},
		{name: "refined unknown", val: obj(map[string]cty.Value{
			"s": cty.UnknownVal(cty.String).RefineNotNull(),
		})},
		{name: "dynamic number stays number", val: obj(map[string]cty.Value{"s": cty.StringVal("d"), "dyn": cty.NumberIntVal(42)})},
		{name: "dynamic string stays string", val: obj(map[string]cty.Value{"s": cty.StringVal("d"), "dyn": cty.StringVal("42")})},
		{name: "dynamic nested", val: obj(map[string]cty.Value{"s": cty.StringVal("d"), "dyn": cty.ObjectVal(map[string]cty.Value{
			"t":   cty.TupleVal([]cty.Value{cty.True, cty.StringVal("x"), cty.NullVal(cty.Number)}),
			"m":   cty.MapVal(map[string]cty.Value{"k": cty.ListVal([]cty.Value{cty.NumberIntVal(1)})}),
			"s":   cty.SetVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
			"unk": cty.UnknownVal(cty.List(cty.String)),
		})})},
		{name: "dynamic typed null", val: obj(map[string]cty.Value{"s": cty.StringVal("d"), "dyn": cty.NullVal(cty.List(cty.String))})},
		{name: "nested blocks", val: obj(map[string]cty.Value{
			"s":      cty.StringVal("n"),
			"single": cty.ObjectVal(map[string]cty.Value{"x": cty.StringVal("one")}),
			"items": cty.TupleVal([]cty.Value{cty.ObjectVal(itemTy), cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("b"), "val": cty.StringVal("not a number"),
			})}),
			"tags": cty.SetVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"k": cty.StringVal("t1")}), cty.ObjectVal(map[string]cty.Value{"k": cty.NullVal(cty.String)})}),
			"labelled": cty.MapVal(map[string]cty.Value{
				"eu": cty.ObjectVal(map[string]cty.Value{"v": cty.NumberIntVal(1)}),
				"us": cty.ObjectVal(map[string]cty.Value{"v": cty.UnknownVal(cty.Number)}),
			}),
		})},
		{name: "sensitive attribute", val: obj(map[string]cty.Value{"s": cty.StringVal("x"), "secret": cty.StringVal("hunter2")})},
		{name: "marked values lose their marks", val: obj(map[string]cty.Value{
			"s": cty.StringVal("x"), "secret": cty.StringVal("hunter2").Mark("sensitive"),
		}), want: obj(map[string]cty.Value{"s": cty.StringVal("x"), "secret": cty.StringVal("hunter2")})},
	}
}

// TestValueRoundTrip sends values through Plan, Apply and Read of an
// echoing provider over real gRPC and checks they come back exactly.
func TestValueRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		ctx := context.Background()
		for _, tc := range roundTripCases() {
			t.Run(tc.name, func(t *testing.T) {
				want := tc.want
				if want == cty.NilVal {
					want = tc.val
				}
				prior := obj(map[string]cty.Value{"s": cty.StringVal("prior")})
				pr := p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{
					TypeName: "fake_thing", PriorState: prior, ProposedNewState: tc.val, Config: tc.val, PriorPrivate: []byte("pp"),
				})
				if pr.Diagnostics.HasErrors() {
					t.Fatal(pr.Diagnostics.Err())
				}
				if !pr.PlannedState.RawEquals(want) {
					t.Fatalf("plan:\n got %#v\nwant %#v", pr.PlannedState, want)
				}
				if string(pr.PlannedPrivate) != "ppp" {
					t.Errorf("private: %q", pr.PlannedPrivate)
				}
				if len(pr.RequiresReplace) != 2 || protocol.PathString(pr.RequiresReplace[1]) != "items[2].name" {
					t.Errorf("requires replace: %#v", pr.RequiresReplace)
				}
				if !tc.val.IsWhollyKnown() {
					return // an apply never carries unknowns
				}
				ar := p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{
					TypeName: "fake_thing", PriorState: prior, PlannedState: tc.val, Config: tc.val, PlannedPrivate: []byte{0, 1, 2},
				})
				if ar.Diagnostics.HasErrors() || !ar.NewState.RawEquals(want) || string(ar.Private) != "\x00\x01\x02" {
					t.Fatalf("apply: %v\n got %#v\nwant %#v", ar.Diagnostics, ar.NewState, want)
				}
				rr := p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "fake_thing", CurrentState: tc.val})
				if rr.Diagnostics.HasErrors() || !rr.NewState.RawEquals(want) {
					t.Fatalf("read: %v\n got %#v\nwant %#v", rr.Diagnostics, rr.NewState, want)
				}
			})
		}
	})
}

func TestNilValuesBecomeNulls(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		pr := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "fake_thing"})
		if pr.Diagnostics.HasErrors() {
			t.Fatal(pr.Diagnostics.Err())
		}
		if !pr.PlannedState.RawEquals(cty.NullVal(richBlock().ImpliedType())) {
			t.Errorf("got %#v", pr.PlannedState)
		}
	})
}

func TestPendingRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		ctx := context.Background()
		st := obj(map[string]cty.Value{"s": cty.StringVal("pending")})
		ar := p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: "fake_thing", PriorState: cty.NilVal, PlannedState: st, Config: st})
		want := protocol.Pending{Handle: "h-1", Status: "queued", Message: "step 0"}
		if ar.Pending == nil || *ar.Pending != want {
			t.Fatalf("apply pending: %+v", ar.Pending)
		}
		rr := p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "fake_thing", CurrentState: st, Pending: ar.Pending, Private: []byte("x")})
		if rr.Pending == nil || *rr.Pending != want || string(rr.Private) != "x" {
			t.Fatalf("read pending: %+v %q", rr.Pending, rr.Private)
		}
		rr = p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "fake_thing", CurrentState: st})
		if rr.Pending != nil {
			t.Fatalf("read without pending came back pending: %+v", rr.Pending)
		}
	})
}

func TestValueNotConformingIsAnError(t *testing.T) {
	p := inProcess(t, &fakeProvider{})
	bad := cty.ObjectVal(map[string]cty.Value{"nope": cty.True})
	pr := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "fake_thing", Config: bad, ProposedNewState: bad})
	if !pr.Diagnostics.HasErrors() {
		t.Fatal("want an error for a value that does not fit the schema")
	}
}
