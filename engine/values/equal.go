package values

import (
	"github.com/zclconf/go-cty/cty"
)

// Equal reports whether a and b are wholly known and equal, ignoring
// marks. It gives the same answer as cty's Equals but compares numbers
// with big.Float.Cmp first, which is much cheaper than the decimal
// formatting cty uses, and only falls back to cty for numbers that differ
// in their bits (which cty may still call equal) and for sets.
func Equal(a, b cty.Value) bool {
	if a.IsMarked() {
		a, _ = a.Unmark()
	}
	if b.IsMarked() {
		b, _ = b.Unmark()
	}
	if !a.IsKnown() || !b.IsKnown() {
		return false
	}
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	ta, tb := a.Type(), b.Type()
	switch {
	case ta == cty.String && tb == cty.String:
		return a.AsString() == b.AsString()
	case ta == cty.Bool && tb == cty.Bool:
		return a.True() == b.True()
	case ta == cty.Number && tb == cty.Number:
		if a.AsBigFloat().Cmp(b.AsBigFloat()) == 0 {
			return true
		}
		return a.Equals(b).True()
	case ta.IsObjectType() && tb.IsObjectType():
		if !ta.Equals(tb) {
			return false
		}
		for name := range ta.AttributeTypes() {
			if !Equal(a.GetAttr(name), b.GetAttr(name)) {
				return false
			}
		}
		return true
	case (ta.IsListType() && tb.IsListType()) || (ta.IsTupleType() && tb.IsTupleType()):
		if !ta.Equals(tb) || a.LengthInt() != b.LengthInt() {
			return false
		}
		ia, ib := a.ElementIterator(), b.ElementIterator()
		for ia.Next() && ib.Next() {
			_, ea := ia.Element()
			_, eb := ib.Element()
			if !Equal(ea, eb) {
				return false
			}
		}
		return true
	case ta.IsMapType() && tb.IsMapType():
		if !ta.Equals(tb) || a.LengthInt() != b.LengthInt() {
			return false
		}
		for it := a.ElementIterator(); it.Next(); {
			k, ea := it.Element()
			if !b.HasIndex(k).True() || !Equal(ea, b.Index(k)) {
				return false
			}
		}
		return true
	}
	if !a.IsWhollyKnown() || !b.IsWhollyKnown() {
		return false
	}
	ua, _ := a.UnmarkDeep()
	ub, _ := b.UnmarkDeep()
	eq := ua.Equals(ub)
	return eq.IsKnown() && eq.True()
}
