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
	if !needsNormalizing(v) {
		return v
	}
	out, _ := cty.Transform(v, func(_ cty.Path, x cty.Value) (cty.Value, error) {
		if x.Type() != cty.Number || x.IsMarked() || !x.IsKnown() || x.IsNull() {
			return x, nil
		}
		if n, ok := normalized(x.AsBigFloat()); ok {
			return cty.NumberVal(n), nil
		}
		return x, nil
	})
	return out
}

func needsNormalizing(v cty.Value) bool {
	found := false
	cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if found {
			return false, nil
		}
		if x.Type() == cty.Number && x.IsKnown() && !x.IsNull() && !x.IsMarked() {
			bf := x.AsBigFloat()
			if bf.Prec() > 53 && !bf.IsInt() {
				if _, ok := normalized(bf); ok {
					found = true
				}
			}
		}
		return !found, nil
	})
	return found
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
