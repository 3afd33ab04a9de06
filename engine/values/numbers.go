package values

import (
	"math/big"
	"strconv"

	"github.com/zclconf/go-cty/cty"
)

// NormalizeNumbers returns v with every number that is exactly the value
// of a float64's shortest decimal form (0.0002, 3.5, 1e-6 ...) stored at
// float64 precision instead of cty's 512 bits.
//
// It changes no value: such a number formats, compares and serialises
// exactly as before. It makes them cheap: cty formats 512-bit numbers
// digit by digit on every comparison and every msgpack/JSON encoding,
// which profiling showed to be a third of a no-op plan.
func NormalizeNumbers(v cty.Value) cty.Value {
	out, _ := normalize(v)
	return out
}

// normalize rebuilds only the containers whose contents changed.
func normalize(v cty.Value) (cty.Value, bool) {
	if !v.IsKnown() || v.IsNull() || v.IsMarked() {
		return v, false
	}
	ty := v.Type()
	switch {
	case ty == cty.Number:
		if n, ok := normalized(v.AsBigFloat()); ok {
			return cty.NumberVal(n), true
		}
		return v, false
	case ty.IsPrimitiveType():
		return v, false
	case ty.IsObjectType():
		var m map[string]cty.Value
		for name := range ty.AttributeTypes() {
			nv, changed := normalize(v.GetAttr(name))
			if changed {
				if m == nil {
					m = v.AsValueMap()
				}
				m[name] = nv
			}
		}
		if m == nil {
			return v, false
		}
		return cty.ObjectVal(m), true
	case ty.IsMapType():
		var m map[string]cty.Value
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			nv, changed := normalize(e)
			if changed {
				if m == nil {
					m = v.AsValueMap()
				}
				m[k.AsString()] = nv
			}
		}
		if m == nil {
			return v, false
		}
		return cty.MapVal(m), true
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		var elems []cty.Value
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			nv, changed := normalize(e)
			if changed && elems == nil {
				elems = v.AsValueSlice()
			}
			if elems != nil {
				elems[i] = nv
			}
		}
		if elems == nil {
			return v, false
		}
		switch {
		case ty.IsListType():
			return cty.ListVal(elems), true
		case ty.IsTupleType():
			return cty.TupleVal(elems), true
		default:
			return cty.SetVal(elems), true
		}
	}
	return v, false
}

// normalized returns bf at float64 precision when that is exactly the
// number written by the float64's shortest decimal form.
func normalized(bf *big.Float) (*big.Float, bool) {
	if bf.Prec() <= 53 || bf.IsInf() || bf.IsInt() {
		return nil, false
	}
	f, _ := bf.Float64()
	s := strconv.FormatFloat(f, 'g', -1, 64)
	back, _, err := big.ParseFloat(s, 10, bf.Prec(), big.ToNearestEven)
	if err != nil || back.Cmp(bf) != 0 {
		return nil, false
	}
	return big.NewFloat(f), true
}
