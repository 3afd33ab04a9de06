package plugin

import (
	"bytes"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

// TestCodecMatchesCty checks that the fast msgpack codec produces cty's
// exact bytes and decodes them to the same values.
func TestCodecMatchesCty(t *testing.T) {
	dyn := cty.DynamicPseudoType
	objTy := cty.Object(map[string]cty.Type{"a": dyn, "b": cty.List(dyn), "c": cty.Map(dyn), "d": cty.String, "e": cty.Set(cty.String), "f": cty.Tuple([]cty.Type{dyn, cty.Number})})
	tests := []struct {
		name string
		ty   cty.Type
		v    cty.Value
	}{
		{"dynamic string", dyn, cty.StringVal("x")},
		{"dynamic null", dyn, cty.NullVal(dyn)},
		{"dynamic typed null", dyn, cty.NullVal(cty.Map(cty.Bool))},
		{"dynamic unknown", dyn, cty.DynamicVal},
		{"dynamic typed unknown", dyn, cty.UnknownVal(cty.String).RefineNotNull()},
		{"dynamic refined", dyn, cty.UnknownVal(cty.String).Refine().StringPrefix("ab").NewValue()},
		{"dynamic object", dyn, cty.ObjectVal(map[string]cty.Value{"x": cty.NumberIntVal(1), "y": cty.ListVal([]cty.Value{cty.True})})},
		{"object with dynamics", objTy, cty.ObjectVal(map[string]cty.Value{
			"a": cty.NumberFloatVal(1.5),
			"b": cty.ListVal([]cty.Value{cty.StringVal("s"), cty.StringVal("t")}),
			"c": cty.MapVal(map[string]cty.Value{"k": cty.True, "j": cty.UnknownVal(cty.Bool)}),
			"d": cty.UnknownVal(cty.String),
			"e": cty.SetVal([]cty.Value{cty.StringVal("p"), cty.StringVal("q")}),
			"f": cty.TupleVal([]cty.Value{cty.NullVal(dyn), cty.MustParseNumberVal("1e400")}),
		})},
		{"object empty collections", objTy, cty.ObjectVal(map[string]cty.Value{
			"a": cty.EmptyObjectVal, "b": cty.ListValEmpty(dyn), "c": cty.MapValEmpty(dyn), "d": cty.NullVal(cty.String),
			"e": cty.SetValEmpty(cty.String), "f": cty.UnknownVal(cty.Tuple([]cty.Type{dyn, cty.Number})),
		})},
		{"null object", objTy, cty.NullVal(objTy)},
		{"numbers", cty.List(cty.Number), cty.ListVal([]cty.Value{
			cty.NumberIntVal(3), cty.NumberIntVal(-7), cty.NumberFloatVal(0.0002), cty.MustParseNumberVal("0.0002"),
			cty.MustParseNumberVal("1e400"), cty.MustParseNumberVal("123456789012345678901234567890"),
			cty.PositiveInfinity, cty.NegativeInfinity, cty.NumberFloatVal(-1.25),
		})},
		{"primitives", cty.Tuple([]cty.Type{cty.String, cty.Bool, cty.Bool}), cty.TupleVal([]cty.Value{cty.StringVal("é\x00"), cty.True, cty.False})},
		{"no dynamics", cty.Object(map[string]cty.Type{"s": cty.String}), cty.ObjectVal(map[string]cty.Value{"s": cty.StringVal("x")})},
		{"needs conversion", objTy, cty.ObjectVal(map[string]cty.Value{
			"a": cty.True, "b": cty.TupleVal([]cty.Value{cty.StringVal("s")}), "c": cty.NullVal(cty.Map(dyn)), "d": cty.NumberIntVal(5),
			"e": cty.ListVal([]cty.Value{cty.StringVal("p")}), "f": cty.TupleVal([]cty.Value{cty.True, cty.NumberIntVal(1)}),
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := ctymsgpack.Marshal(tt.v, tt.ty)
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalMsgpack(tt.v, tt.ty)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from cty's:\n got %x\nwant %x", got, want)
			}
			wantV, err := ctymsgpack.Unmarshal(want, tt.ty)
			if err != nil {
				t.Fatal(err)
			}
			gotV, err := unmarshalMsgpack(want, tt.ty)
			if err != nil {
				t.Fatal(err)
			}
			if !gotV.RawEquals(wantV) {
				t.Fatalf("decoding differs from cty's:\n got %#v\nwant %#v", gotV, wantV)
			}
		})
	}
}

func TestCodecErrors(t *testing.T) {
	ty := cty.Object(map[string]cty.Type{"a": cty.DynamicPseudoType})
	if _, err := marshalMsgpack(cty.ObjectVal(map[string]cty.Value{"b": cty.True}), ty); err == nil {
		t.Error("encoding a non-conforming value succeeded")
	}
	if _, err := unmarshalMsgpack([]byte{0x81, 0xa1, 'z', 0xc0}, ty); err == nil {
		t.Error("decoding an unknown attribute succeeded")
	}
	if _, err := unmarshalMsgpack([]byte{0x81, 0xa1, 'a', 0x92, 0xc4, 0x01, '!', 0xc0}, ty); err == nil {
		t.Error("decoding a bad type JSON succeeded")
	}
	if _, err := encodeValue(cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("s").Mark("x")}), ty); err != nil {
		t.Errorf("marked values should be unmarked and sent: %v", err)
	}
}

func TestFitValue(t *testing.T) {
	newTy := cty.Object(map[string]cty.Type{
		"a": cty.String, "added": cty.Number,
		"blocks": cty.List(cty.Object(map[string]cty.Type{"x": cty.String, "y": cty.Bool})),
		"m":      cty.Map(cty.Object(map[string]cty.Type{"k": cty.String})),
	})
	old := cty.ObjectVal(map[string]cty.Value{
		"a": cty.StringVal("v"), "removed": cty.True,
		"blocks": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"x": cty.StringVal("1")})}),
		"m":      cty.MapVal(map[string]cty.Value{"e": cty.ObjectVal(map[string]cty.Value{"k": cty.StringVal("z"), "gone": cty.True})}),
	})
	want := cty.ObjectVal(map[string]cty.Value{
		"a": cty.StringVal("v"), "added": cty.NullVal(cty.Number),
		"blocks": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"x": cty.StringVal("1"), "y": cty.NullVal(cty.Bool)})}),
		"m":      cty.MapVal(map[string]cty.Value{"e": cty.ObjectVal(map[string]cty.Value{"k": cty.StringVal("z")})}),
	})
	if got := FitValue(old, newTy); !got.RawEquals(want) {
		t.Fatalf("got %#v", got)
	}
	if _, err := encodeValue(old, newTy); err == nil {
		t.Error("encodeValue fitted a value; only states are fitted")
	}
	dv, err := encodeState(old, newTy)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := decodeValue(dv, newTy); !got.RawEquals(want) {
		t.Fatalf("round trip %#v", got)
	}
	if _, err := encodeState(cty.ObjectVal(map[string]cty.Value{"a": cty.ListValEmpty(cty.String)}), newTy); err == nil {
		t.Error("a value of the wrong type was fitted")
	}
}
