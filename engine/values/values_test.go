package values

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
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
