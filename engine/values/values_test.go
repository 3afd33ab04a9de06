package values

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func TestRoundTrip(t *testing.T) {
	v := cty.ObjectVal(map[string]cty.Value{
		"input": cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal("r1"),
			"lr":   cty.NumberFloatVal(0.0002),
			"tags": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		}),
		"key":  cty.StringVal("s3cret").Mark(Sensitive),
		"keys": cty.ListVal([]cty.Value{cty.StringVal("k1"), cty.StringVal("k2")}),
		"none": cty.NullVal(cty.String),
	})
	v = MarkPaths(v, []cty.Path{cty.GetAttrPath("keys").Index(cty.DynamicVal)})
	enc, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc.Sensitive) == "" {
		t.Fatal("sensitive paths lost")
	}
	got, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RawEquals(v) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, v)
	}
	if !IsSensitive(got) || len(SensitivePaths(got)) != 3 {
		t.Fatalf("sensitive paths: %v", SensitivePaths(got))
	}
}

func TestNormalizeNumbersKeepsValues(t *testing.T) {
	for _, s := range []string{"0.0002", "0.1", "3.5", "1e-6", "123456.789", "0.30000000000000004"} {
		orig := cty.MustParseNumberVal(s)
		norm := NormalizeNumbers(orig)
		if norm.AsBigFloat().Prec() != 53 {
			t.Errorf("%s: not normalized", s)
		}
		if !norm.Equals(orig).True() {
			t.Errorf("%s: normalized value differs", s)
		}
		a, _ := Encode(orig)
		b, _ := Encode(norm)
		if string(a.Value) != string(b.Value) {
			t.Errorf("%s: JSON differs: %s vs %s", s, a.Value, b.Value)
		}
	}
	// A number no float64 writes exactly stays as it is.
	third := cty.NumberIntVal(1).Divide(cty.NumberIntVal(3))
	if NormalizeNumbers(third).AsBigFloat().Prec() == 53 {
		t.Error("1/3 was rounded to float64 precision")
	}
	sum := cty.MustParseNumberVal("0.1").Add(cty.MustParseNumberVal("0.2"))
	if got := NormalizeNumbers(sum); !got.RawEquals(sum) {
		t.Error("0.1+0.2 at 512 bits must not be rounded")
	}
}

func BenchmarkEqualsAfterNormalize(b *testing.B) {
	raw := cty.ObjectVal(map[string]cty.Value{"lr": cty.MustParseNumberVal("0.0002"), "name": cty.StringVal("r1")})
	norm := NormalizeNumbers(raw)
	b.Run("512bit", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			raw.Equals(raw)
		}
	})
	b.Run("normalized", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			norm.Equals(norm)
		}
	})
}

func TestEqualAgreesWithCty(t *testing.T) {
	vals := []cty.Value{
		cty.NullVal(cty.String), cty.StringVal("a"), cty.StringVal("b"),
		cty.MustParseNumberVal("0.0002"), NormalizeNumbers(cty.MustParseNumberVal("0.0002")), cty.NumberIntVal(3),
		cty.True, cty.False,
		cty.ObjectVal(map[string]cty.Value{"x": cty.NumberIntVal(1), "y": cty.StringVal("s")}),
		cty.ObjectVal(map[string]cty.Value{"x": cty.NumberIntVal(1), "y": cty.StringVal("t")}),
		cty.ListVal([]cty.Value{cty.StringVal("a")}), cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1)}),
		cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}), cty.MapVal(map[string]cty.Value{"k": cty.StringVal("w")}),
		cty.SetVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		cty.UnknownVal(cty.String), cty.ObjectVal(map[string]cty.Value{"x": cty.UnknownVal(cty.Number)}),
		cty.StringVal("a").Mark(Sensitive),
	}
	for _, a := range vals {
		for _, b := range vals {
			ua, _ := a.UnmarkDeep()
			ub, _ := b.UnmarkDeep()
			want := false
			if ua.IsWhollyKnown() && ub.IsWhollyKnown() {
				eq := ua.Equals(ub)
				want = eq.IsKnown() && eq.True()
			}
			if got := Equal(a, b); got != want {
				t.Errorf("Equal(%#v, %#v) = %v, cty says %v", a, b, got, want)
			}
		}
	}
}

func TestDecodeJSONMatchesCty(t *testing.T) {
	vals := []cty.Value{
		cty.ObjectVal(map[string]cty.Value{
			"s": cty.StringVal("x\n\"y\""), "n": cty.MustParseNumberVal("0.0002"), "i": cty.NumberIntVal(-42),
			"big": cty.MustParseNumberVal("123456789012345678901234567890.5"), "b": cty.True,
			"null": cty.NullVal(cty.String), "dyn": cty.NullVal(cty.DynamicPseudoType),
			"l": cty.ListVal([]cty.Value{cty.NumberFloatVal(1.5)}), "e": cty.ListValEmpty(cty.String),
			"m": cty.MapVal(map[string]cty.Value{"a": cty.StringVal("b")}), "set": cty.SetVal([]cty.Value{cty.StringVal("p")}),
			"t": cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1), cty.EmptyObjectVal}),
		}),
		cty.NumberFloatVal(0.1),
		cty.StringVal("plain"),
	}
	for _, v := range vals {
		enc, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		ty, _ := ctyjson.UnmarshalType(enc.Type)
		want, _ := ctyjson.Unmarshal(enc.Value, ty)
		if !got.Equals(want).True() || !got.Type().Equals(want.Type()) {
			t.Errorf("decode differs:\n got %#v\nwant %#v", got, want)
		}
	}
}
