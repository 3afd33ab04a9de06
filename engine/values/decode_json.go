package values

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// decodeJSON decodes a value written by ctyjson.Marshal against ty. It is
// much faster than ctyjson.Unmarshal, which reads token by token, and it
// produces numbers already normalised (see NormalizeNumbers). Anything it
// does not expect falls back to ctyjson.
func decodeJSON(b []byte, ty cty.Type) (cty.Value, error) {
	var raw any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return cty.NilVal, err
	}
	v, ok := fromJSON(raw, ty)
	if !ok {
		v, err := ctyjson.Unmarshal(b, ty)
		if err != nil {
			return cty.NilVal, err
		}
		return NormalizeNumbers(v), nil
	}
	return v, nil
}

func fromJSON(raw any, ty cty.Type) (cty.Value, bool) {
	if ty == cty.DynamicPseudoType {
		// ctyjson writes {"value": ..., "type": ...} for dynamic values.
		if raw == nil {
			return cty.NullVal(cty.DynamicPseudoType), true
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return cty.NilVal, false
		}
		tb, err := json.Marshal(m["type"])
		if err != nil {
			return cty.NilVal, false
		}
		t, err := unmarshalType(tb)
		if err != nil {
			return cty.NilVal, false
		}
		return fromJSON(m["value"], t)
	}
	if raw == nil {
		return cty.NullVal(ty), true
	}
	switch {
	case ty == cty.String:
		s, ok := raw.(string)
		return cty.StringVal(s), ok
	case ty == cty.Bool:
		b, ok := raw.(bool)
		return cty.BoolVal(b), ok
	case ty == cty.Number:
		var s string
		switch n := raw.(type) {
		case json.Number:
			s = string(n)
		case string:
			s = n
		default:
			return cty.NilVal, false
		}
		return numberFromText(s)
	case ty.IsObjectType():
		m, ok := raw.(map[string]any)
		if !ok {
			return cty.NilVal, false
		}
		atys := ty.AttributeTypes()
		if len(atys) == 0 {
			return cty.EmptyObjectVal, true
		}
		out := make(map[string]cty.Value, len(atys))
		for name, aty := range atys {
			v, ok := fromJSON(m[name], aty)
			if !ok {
				return cty.NilVal, false
			}
			out[name] = v
		}
		return cty.ObjectVal(out), true
	case ty.IsMapType():
		m, ok := raw.(map[string]any)
		if !ok {
			return cty.NilVal, false
		}
		if len(m) == 0 {
			return cty.MapValEmpty(ty.ElementType()), true
		}
		out := make(map[string]cty.Value, len(m))
		for k, e := range m {
			v, ok := fromJSON(e, ty.ElementType())
			if !ok {
				return cty.NilVal, false
			}
			out[k] = v
		}
		return cty.MapVal(out), true
	case ty.IsListType() || ty.IsSetType():
		l, ok := raw.([]any)
		if !ok {
			return cty.NilVal, false
		}
		if len(l) == 0 {
			if ty.IsListType() {
				return cty.ListValEmpty(ty.ElementType()), true
			}
			return cty.SetValEmpty(ty.ElementType()), true
		}
		elems := make([]cty.Value, len(l))
		for i, e := range l {
			v, ok := fromJSON(e, ty.ElementType())
			if !ok {
				return cty.NilVal, false
			}
			elems[i] = v
		}
		if ty.IsListType() {
			return cty.ListVal(elems), true
		}
		return cty.SetVal(elems), true
	case ty.IsTupleType():
		l, ok := raw.([]any)
		etys := ty.TupleElementTypes()
		if !ok || len(l) != len(etys) {
			return cty.NilVal, false
		}
		if len(l) == 0 {
			return cty.EmptyTupleVal, true
		}
		elems := make([]cty.Value, len(l))
		for i, e := range l {
			v, ok := fromJSON(e, etys[i])
			if !ok {
				return cty.NilVal, false
			}
			elems[i] = v
		}
		return cty.TupleVal(elems), true
	}
	return cty.NilVal, false
}

// numberFromText parses a JSON number as cty would, storing it at float64
// precision when that is exactly the number written.
func numberFromText(s string) (cty.Value, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return cty.NumberIntVal(i), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
		if strconv.FormatFloat(f, 'f', -1, 64) == s || strconv.FormatFloat(f, 'g', -1, 64) == s {
			return cty.NumberFloatVal(f), true
		}
	}
	v, err := cty.ParseNumberVal(s)
	if err != nil {
		return cty.NilVal, false
	}
	return NormalizeNumbers(v), true
}
