package sdk

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Object is a resource's value (its configuration, planned state or state):
// a cty object conforming to the resource type's schema, with typed getters
// and setters by attribute name. The embedded cty.Value gives every cty
// method for what the helpers do not cover.
//
// A null or unknown attribute reads as the zero value ("" / 0 / false /
// nil); use IsSet and Known to tell them apart. A getter or setter given a
// name the schema does not have panics at once with a message naming the
// attribute and the nearest name the schema has (`GetString("modle")`:
// did you mean "model"?); the framework turns the panic into an error
// diagnostic pointing at your code. Has and Attr probe names without
// panicking. Setters return nothing and change o in place; an Object is a
// value, so setting on a copy leaves the original untouched:
//
//	st := req.Planned // a copy
//	st.SetString("id", id)
//	return &sdk.Response{State: st}
type Object struct {
	cty.Value
	// schema is the schema's implied type, when known. It differs from
	// Value.Type() where the schema has dynamically-typed attributes
	// (cty.DynamicPseudoType), which accept values of any type.
	schema cty.Type
}

// newObject wraps v, conforming to the schema's implied type ty.
func newObject(v cty.Value, ty cty.Type) Object { return Object{Value: v, schema: ty} }

// typ is the type setters work against: the schema's when known.
func (o Object) typ() cty.Type {
	if o.schema != cty.NilType && o.schema.IsObjectType() {
		return o.schema
	}
	return o.Type()
}

// Attr returns the attribute's value: a null of the attribute's type when o
// is null, an unknown when o is unknown, cty.NilVal for a name the type
// does not have.
func (o Object) Attr(name string) cty.Value {
	if o.Value == cty.NilVal {
		return cty.NilVal
	}
	ty := o.typ()
	if !ty.IsObjectType() || !ty.HasAttribute(name) {
		return cty.NilVal
	}
	if o.IsNull() || !o.Type().IsObjectType() || !o.Type().HasAttribute(name) {
		return cty.NullVal(ty.AttributeType(name))
	}
	if !o.IsKnown() {
		return cty.UnknownVal(ty.AttributeType(name))
	}
	return o.GetAttr(name)
}

// Has reports whether the schema has an attribute (or nested block) name.
func (o Object) Has(name string) bool {
	ty := o.typ()
	return o.Value != cty.NilVal && ty.IsObjectType() && ty.HasAttribute(name)
}

// must panics unless the schema has the attribute: a misspelt name is a
// bug in the provider, which must not read as a silent null.
func (o Object) must(op, name string) {
	if o.Value == cty.NilVal {
		panic(fmt.Sprintf("sdk: %s(%q) on an Object with no value", op, name))
	}
	ty := o.typ()
	if !ty.IsObjectType() {
		return // a Gone() or untyped value: nothing to check against
	}
	if !ty.HasAttribute(name) {
		panic(fmt.Sprintf("sdk: %s(%q): the schema has no attribute %q%s", op, name, name, didYouMean(name, o.AttributeNames())))
	}
}

// didYouMean suggests the name closest to s, or lists them all.
func didYouMean(s string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return fmt.Sprintf(" (it has: %s)", strings.Join(names, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// usable returns the attribute's value when it is known and not null.
func (o Object) usable(op, name string) (cty.Value, bool) {
	o.must(op, name)
	v := o.Attr(name)
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return cty.NilVal, false
	}
	v, _ = v.Unmark()
	return v, true
}

// IsSet reports whether the attribute is non-null (it may be unknown).
func (o Object) IsSet(name string) bool {
	o.must("IsSet", name)
	v := o.Attr(name)
	return v != cty.NilVal && !v.IsNull()
}

// Known reports whether the attribute's value is wholly known. In a plan,
// values that depend on resources not yet created are unknown.
func (o Object) Known(name string) bool {
	o.must("Known", name)
	v := o.Attr(name)
	return v != cty.NilVal && v.IsWhollyKnown()
}

// GetString returns a string attribute ("" when null or unknown). Numbers
// and bools are converted to their string form.
func (o Object) GetString(name string) string {
	v, ok := o.usable("GetString", name)
	if !ok {
		return ""
	}
	if v.Type() != cty.String {
		cv, err := convert.Convert(v, cty.String)
		if err != nil {
			return ""
		}
		v = cv
	}
	return v.AsString()
}

// GetBool returns a bool attribute (false when null or unknown).
func (o Object) GetBool(name string) bool {
	v, ok := o.usable("GetBool", name)
	if !ok {
		return false
	}
	if v.Type() != cty.Bool {
		cv, err := convert.Convert(v, cty.Bool)
		if err != nil {
			return false
		}
		v = cv
	}
	return v.True()
}

// GetInt returns a number attribute as an int64, truncated (0 when null or
// unknown).
func (o Object) GetInt(name string) int64 {
	f, ok := o.number("GetInt", name)
	if !ok {
		return 0
	}
	i, _ := f.Int64()
	return i
}

// GetFloat returns a number attribute as a float64 (0 when null or unknown).
func (o Object) GetFloat(name string) float64 {
	f, ok := o.number("GetFloat", name)
	if !ok {
		return 0
	}
	x, _ := f.Float64()
	return x
}

func (o Object) number(op, name string) (*big.Float, bool) {
	v, ok := o.usable(op, name)
	if !ok {
		return nil, false
	}
	if v.Type() != cty.Number {
		cv, err := convert.Convert(v, cty.Number)
		if err != nil {
			return nil, false
		}
		v = cv
	}
	return v.AsBigFloat(), true
}

// GetStrings returns a list, set or tuple attribute as strings (sets in
// cty's order); nil when null or unknown. Null or unknown elements are
// skipped.
func (o Object) GetStrings(name string) []string {
	v, ok := o.usable("GetStrings", name)
	if !ok || !v.CanIterateElements() || !v.IsWhollyKnown() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			continue
		}
		if e.Type() != cty.String {
			ce, err := convert.Convert(e, cty.String)
			if err != nil {
				continue
			}
			e = ce
		}
		out = append(out, e.AsString())
	}
	return out
}

// GetStringMap returns a map or object attribute as map[string]string; nil
// when null or unknown.
func (o Object) GetStringMap(name string) map[string]string {
	v, ok := o.usable("GetStringMap", name)
	if !ok || !v.IsWhollyKnown() || !(v.Type().IsMapType() || v.Type().IsObjectType()) {
		return nil
	}
	out := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			continue
		}
		if e.Type() != cty.String {
			ce, err := convert.Convert(e, cty.String)
			if err != nil {
				continue
			}
			e = ce
		}
		out[k.AsString()] = e.AsString()
	}
	return out
}

// Set sets an attribute. v is converted to the attribute's type (a Go
// program passing cty.NumberIntVal for a string attribute gets "42"); a
// value that cannot be converted, or a name the schema does not have, is a
// bug in the provider and panics with a message naming the attribute (the
// framework turns the panic into an error diagnostic). Setting on a null
// object starts from an object whose attributes are all null.
func (o *Object) Set(name string, v cty.Value) {
	if o.Value == cty.NilVal {
		panic(fmt.Sprintf("sdk: Set(%q) on an Object with no value", name))
	}
	ty := o.typ()
	if !ty.IsObjectType() {
		panic(fmt.Sprintf("sdk: Set(%q) on a value that is not an object (%s)", name, ty.FriendlyName()))
	}
	o.must("Set", name)
	aty := ty.AttributeType(name)
	if aty != cty.DynamicPseudoType && !v.Type().Equals(aty) {
		cv, err := convert.Convert(v, aty)
		if err != nil {
			panic(fmt.Sprintf("sdk: Set(%q): value of type %s does not fit the attribute's type %s: %s",
				name, v.Type().FriendlyName(), aty.FriendlyName(), err))
		}
		v = cv
	}
	attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
	for an, at := range ty.AttributeTypes() {
		if o.IsNull() || !o.IsKnown() || !o.Type().IsObjectType() || !o.Type().HasAttribute(an) {
			attrs[an] = cty.NullVal(at)
		} else {
			attrs[an] = o.GetAttr(an)
		}
	}
	attrs[name] = v
	o.Value = cty.ObjectVal(attrs)
}

// SetString sets a string attribute.
func (o *Object) SetString(name, s string) { o.Set(name, cty.StringVal(s)) }

// SetInt sets a number attribute.
func (o *Object) SetInt(name string, i int64) { o.Set(name, cty.NumberIntVal(i)) }

// SetFloat sets a number attribute.
func (o *Object) SetFloat(name string, f float64) { o.Set(name, cty.NumberFloatVal(f)) }

// SetBool sets a bool attribute.
func (o *Object) SetBool(name string, b bool) { o.Set(name, cty.BoolVal(b)) }

// SetNull sets an attribute to null.
func (o *Object) SetNull(name string) { o.Set(name, cty.NullVal(o.attrType(name))) }

// SetUnknown marks an attribute "known after apply" in a plan (ModifyPlan).
func (o *Object) SetUnknown(name string) { o.Set(name, cty.UnknownVal(o.attrType(name))) }

func (o *Object) attrType(name string) cty.Type {
	if o.Value == cty.NilVal || !o.typ().IsObjectType() {
		panic(fmt.Sprintf("sdk: attribute %q of a value that is not an object", name))
	}
	o.must("Set", name)
	return o.typ().AttributeType(name)
}

// AttributeNames returns the object type's attribute names, sorted.
func (o Object) AttributeNames() []string {
	if o.Value == cty.NilVal || !o.typ().IsObjectType() {
		return nil
	}
	names := make([]string, 0, len(o.typ().AttributeTypes()))
	for n := range o.typ().AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NullObject returns an object of type ty whose attributes are all null,
// a starting point for building a state from scratch.
func NullObject(ty cty.Type) Object {
	if !ty.IsObjectType() {
		return Object{Value: cty.NullVal(ty), schema: ty}
	}
	attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
	for n, at := range ty.AttributeTypes() {
		attrs[n] = cty.NullVal(at)
	}
	return Object{Value: cty.ObjectVal(attrs), schema: ty}
}
