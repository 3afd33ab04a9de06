package values

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// ContainsMarked answers as cty's does, on marks at every depth and in
// every kind of container.
func TestContainsMarkedAgreesWithCty(t *testing.T) {
	s := cty.StringVal("s").Mark(Sensitive)
	cases := map[string]cty.Value{
		"unmarked primitive":      cty.StringVal("x"),
		"marked primitive":        s,
		"null":                    cty.NullVal(cty.String),
		"marked null":             cty.NullVal(cty.String).Mark(Sensitive),
		"unknown":                 cty.UnknownVal(cty.String),
		"marked unknown":          cty.UnknownVal(cty.String).Mark(Sensitive),
		"dynamic":                 cty.DynamicVal,
		"object, deep leaf":       cty.ObjectVal(map[string]cty.Value{"a": cty.ObjectVal(map[string]cty.Value{"b": s})}),
		"object, unmarked":        cty.ObjectVal(map[string]cty.Value{"a": cty.ObjectVal(map[string]cty.Value{"b": cty.True})}),
		"marked object":           cty.ObjectVal(map[string]cty.Value{"a": cty.True}).Mark(Sensitive),
		"list of maps":            cty.ListVal([]cty.Value{cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}), cty.MapVal(map[string]cty.Value{"k": s})}),
		"list, unmarked":          cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
		"set":                     cty.SetVal([]cty.Value{cty.StringVal("a"), s}),
		"tuple":                   cty.TupleVal([]cty.Value{cty.True, cty.ObjectVal(map[string]cty.Value{"x": s})}),
		"empty list":              cty.ListValEmpty(cty.String),
		"object with null member": cty.ObjectVal(map[string]cty.Value{"a": cty.NullVal(cty.String).Mark(Sensitive)}),
		"object with unknown":     cty.ObjectVal(map[string]cty.Value{"a": cty.UnknownVal(cty.String).Mark(Sensitive), "b": cty.True}),
	}
	for name, v := range cases {
		if got, want := ContainsMarked(v), v.ContainsMarked(); got != want {
			t.Errorf("%s: ContainsMarked = %v, cty says %v", name, got, want)
		}
	}
}
