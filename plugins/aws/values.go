package aws

import (
	"github.com/zclconf/go-cty/cty"
)

// nested reads attribute name of an object value (a nested block), or
// NilVal when the block or the attribute is null or unknown.
func nested(v cty.Value, name string) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return cty.NilVal
	}
	return a
}

func nestedString(v cty.Value, name string) string {
	if a := nested(v, name); a != cty.NilVal && a.Type() == cty.String {
		return a.AsString()
	}
	return ""
}

func nestedBool(v cty.Value, name string) bool {
	if a := nested(v, name); a != cty.NilVal && a.Type() == cty.Bool {
		return a.True()
	}
	return false
}

func nestedInt(v cty.Value, name string) int64 {
	if a := nested(v, name); a != cty.NilVal && a.Type() == cty.Number {
		i, _ := a.AsBigFloat().Int64()
		return i
	}
	return 0
}

func nestedStrings(v cty.Value, name string) []string {
	a := nested(v, name)
	if a == cty.NilVal || !a.IsWhollyKnown() || !a.CanIterateElements() {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() && e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}

func nestedStringMap(v cty.Value, name string) map[string]string {
	a := nested(v, name)
	out := map[string]string{}
	if a == cty.NilVal || !a.IsWhollyKnown() || !a.CanIterateElements() {
		return out
	}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() && e.Type() == cty.String {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

// numberMap converts metrics to a map(number) value (null when empty).
func numberMap(m map[string]float64) cty.Value {
	if len(m) == 0 {
		return cty.NullVal(cty.Map(cty.Number))
	}
	out := make(map[string]cty.Value, len(m))
	for k, v := range m {
		out[k] = cty.NumberFloatVal(v)
	}
	return cty.MapVal(out)
}
