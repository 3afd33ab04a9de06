package plugin

import (
	"github.com/zclconf/go-cty/cty"
)

// FitValue reshapes v towards ty where only object attributes differ:
// attributes ty lacks are dropped and attributes v lacks are added as
// nulls, at any depth (inside objects, lists, sets, maps and tuples). It
// is what a state recorded before the provider added or removed an
// attribute needs. Everything else is left for cty conversion to judge;
// the result may still not conform.
func FitValue(v cty.Value, ty cty.Type) cty.Value {
	if v == cty.NilVal || ty == cty.DynamicPseudoType || !v.IsKnown() || v.IsMarked() {
		return v
	}
	vt := v.Type()
	if v.IsNull() {
		if vt.Equals(ty) {
			return v
		}
		return cty.NullVal(ty)
	}
	switch {
	case ty.IsObjectType() && vt.IsObjectType():
		attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
		for name, aty := range ty.AttributeTypes() {
			if vt.HasAttribute(name) {
				attrs[name] = FitValue(v.GetAttr(name), aty)
			} else {
				attrs[name] = cty.NullVal(aty)
			}
		}
		return cty.ObjectVal(attrs)
	case (ty.IsListType() || ty.IsSetType()) && (vt.IsListType() || vt.IsSetType() || vt.IsTupleType()):
		if v.LengthInt() == 0 {
			return v
		}
		elems := make([]cty.Value, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, FitValue(e, ty.ElementType()))
		}
		if !sameTypes(elems) {
			return v
		}
		if ty.IsListType() {
			return cty.ListVal(elems)
		}
		return cty.SetVal(elems)
	case ty.IsMapType() && (vt.IsMapType() || vt.IsObjectType()):
		if v.LengthInt() == 0 {
			return v
		}
		elems := make(map[string]cty.Value, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			elems[k.AsString()] = FitValue(e, ty.ElementType())
		}
		vals := make([]cty.Value, 0, len(elems))
		for _, e := range elems {
			vals = append(vals, e)
		}
		if !sameTypes(vals) {
			return v
		}
		return cty.MapVal(elems)
	case ty.IsTupleType() && vt.IsTupleType() && len(ty.TupleElementTypes()) == len(vt.TupleElementTypes()):
		elems := make([]cty.Value, 0, v.LengthInt())
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			elems = append(elems, FitValue(e, ty.TupleElementType(i)))
		}
		return cty.TupleVal(elems)
	}
	return v
}

func sameTypes(vs []cty.Value) bool {
	for _, v := range vs[1:] {
		if !v.Type().Equals(vs[0].Type()) {
			return false
		}
	}
	return true
}
