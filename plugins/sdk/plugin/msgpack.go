package plugin

import (
	"bytes"
	"math"
	"math/big"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

// unmarshalMsgpack decodes the cty msgpack encoding exactly as
// ctymsgpack.Unmarshal does, but faster for values with dynamic types.
//
// In that encoding every value of a dynamically-typed attribute carries its
// type as cty JSON, which ctymsgpack decodes with encoding/json every time:
// that was half the CPU time of a round trip. Here the type JSON is decoded
// once and cached; subtrees whose type has no dynamic part, and unknown
// values (with their refinements), are handed to ctymsgpack unchanged, so
// the wire format is cty's own.
func unmarshalMsgpack(b []byte, ty cty.Type) (cty.Value, error) {
	if !ty.HasDynamicTypes() {
		return ctymsgpack.Unmarshal(b, ty)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	return unmarshalDyn(dec, ty, nil)
}

func unmarshalDyn(dec *msgpack.Decoder, ty cty.Type, path cty.Path) (cty.Value, error) {
	peek, err := dec.PeekCode()
	if err != nil {
		return cty.DynamicVal, path.NewError(err)
	}
	if msgpcode.IsExt(peek) || !ty.HasDynamicTypes() {
		raw, err := dec.DecodeRaw()
		if err != nil {
			return cty.DynamicVal, path.NewError(err)
		}
		v, err := ctymsgpack.Unmarshal(raw, ty)
		if err != nil {
			if pe, ok := err.(cty.PathError); ok {
				return cty.DynamicVal, append(path.Copy(), pe.Path...).NewError(pe)
			}
			return cty.DynamicVal, path.NewError(err)
		}
		return v, nil
	}
	if ty == cty.DynamicPseudoType {
		n, err := dec.DecodeArrayLen()
		switch {
		case err != nil:
			return cty.DynamicVal, path.NewError(err)
		case n == -1:
			return cty.NullVal(cty.DynamicPseudoType), nil
		case n != 2:
			return cty.DynamicVal, path.NewErrorf("dynamic value array must have exactly two elements")
		}
		typeJSON, err := dec.DecodeBytes()
		if err != nil {
			return cty.DynamicVal, path.NewError(err)
		}
		vty, err := cachedType(typeJSON)
		if err != nil {
			return cty.DynamicVal, path.NewError(err)
		}
		return unmarshalDyn(dec, vty, path)
	}
	if peek == msgpcode.Nil {
		_ = dec.Skip()
		return cty.NullVal(ty), nil
	}
	switch {
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return cty.DynamicVal, path.NewErrorf("a list, set or tuple is required")
		}
		if ty.IsTupleType() && n != len(ty.TupleElementTypes()) {
			return cty.DynamicVal, path.NewErrorf("a tuple of length %d is required", len(ty.TupleElementTypes()))
		}
		vals := make([]cty.Value, 0, max(n, 0))
		for i := 0; i < n; i++ {
			ety := cty.NilType
			if ty.IsTupleType() {
				ety = ty.TupleElementType(i)
			} else {
				ety = ty.ElementType()
			}
			v, err := unmarshalDyn(dec, ety, append(path, cty.IndexStep{Key: cty.NumberIntVal(int64(i))}))
			if err != nil {
				return cty.DynamicVal, err
			}
			vals = append(vals, v)
		}
		switch {
		case ty.IsTupleType():
			return cty.TupleVal(vals), nil
		case n == 0 && ty.IsListType():
			return cty.ListValEmpty(ty.ElementType()), nil
		case n == 0:
			return cty.SetValEmpty(ty.ElementType()), nil
		case ty.IsListType():
			return cty.ListVal(vals), nil
		default:
			return cty.SetVal(vals), nil
		}
	case ty.IsMapType(), ty.IsObjectType():
		n, err := dec.DecodeMapLen()
		if err != nil {
			return cty.DynamicVal, path.NewErrorf("a map or object is required")
		}
		if ty.IsObjectType() && n != len(ty.AttributeTypes()) {
			return cty.DynamicVal, path.NewErrorf("an object with %d attributes is required (%d given)", len(ty.AttributeTypes()), n)
		}
		vals := make(map[string]cty.Value, max(n, 0))
		for i := 0; i < n; i++ {
			k, err := dec.DecodeString()
			if err != nil {
				return cty.DynamicVal, path.NewErrorf("all keys must be strings")
			}
			p := append(path, cty.IndexStep{Key: cty.StringVal(k)})
			ety := cty.NilType
			if ty.IsObjectType() {
				if !ty.HasAttribute(k) {
					return cty.DynamicVal, p.NewErrorf("unsupported attribute")
				}
				ety = ty.AttributeType(k)
			} else {
				ety = ty.ElementType()
			}
			v, err := unmarshalDyn(dec, ety, p)
			if err != nil {
				return cty.DynamicVal, err
			}
			vals[k] = v
		}
		switch {
		case ty.IsObjectType():
			return cty.ObjectVal(vals), nil
		case n == 0:
			return cty.MapValEmpty(ty.ElementType()), nil
		default:
			return cty.MapVal(vals), nil
		}
	}
	return cty.NilVal, path.NewErrorf("unsupported type %s", ty.FriendlyName())
}

// typeCache maps cty JSON type bytes to types. Configurations use a small
// set of types, so it stays small; it stops growing past maxCachedTypes.
var (
	typeCache      sync.Map // string -> cty.Type
	typeCacheSize  atomic.Int64
	maxCachedTypes = int64(4096)
)

func cachedType(typeJSON []byte) (cty.Type, error) {
	if t, ok := typeCache.Load(string(typeJSON)); ok {
		return t.(cty.Type), nil
	}
	t, err := ctyjson.UnmarshalType(typeJSON)
	if err != nil {
		return cty.NilType, err
	}
	if typeCacheSize.Load() < maxCachedTypes {
		if _, loaded := typeCache.LoadOrStore(string(typeJSON), t); !loaded {
			typeCacheSize.Add(1)
		}
	}
	return t, nil
}

// marshalMsgpack encodes v against ty exactly as ctymsgpack.Marshal does
// (byte for byte), but writes the type JSON of dynamically-typed values
// without ctymsgpack's per-value encoder and buffer. Subtrees without
// dynamic types, and unknown values, are encoded by ctymsgpack itself.
func marshalMsgpack(v cty.Value, ty cty.Type) ([]byte, error) {
	if errs := v.Type().TestConformance(ty); errs != nil {
		cv, err := convert.Convert(v, ty)
		if err != nil {
			return nil, err
		}
		v = cv
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.UseCompactFloats(false)
	if err := marshalDyn(v, ty, nil, enc, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func marshalDyn(v cty.Value, ty cty.Type, path cty.Path, enc *msgpack.Encoder, buf *bytes.Buffer) error {
	if v.IsMarked() {
		return path.NewErrorf("value has marks, so it cannot be serialized")
	}
	if ty == cty.DynamicPseudoType && v.Type() != cty.DynamicPseudoType {
		tj, err := typeJSON(v.Type())
		if err != nil {
			return path.NewErrorf("failed to serialize type: %s", err)
		}
		if err := enc.EncodeArrayLen(2); err != nil {
			return path.NewError(err)
		}
		if err := enc.EncodeBytes(tj); err != nil {
			return path.NewError(err)
		}
		ty = v.Type()
	}
	if !v.IsKnown() {
		b, err := ctymsgpack.Marshal(v, ty)
		if err != nil {
			if pe, ok := err.(cty.PathError); ok {
				return append(path.Copy(), pe.Path...).NewError(pe)
			}
			return path.NewError(err)
		}
		buf.Write(b)
		return nil
	}
	if v.IsNull() {
		return enc.EncodeNil()
	}
	switch {
	case ty == cty.String:
		return wrapErr(path, enc.EncodeString(v.AsString()))
	case ty == cty.Bool:
		return wrapErr(path, enc.EncodeBool(v.True()))
	case ty == cty.Number:
		return wrapErr(path, encodeNumber(v.AsBigFloat(), enc))
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		if err := enc.EncodeArrayLen(v.LengthInt()); err != nil {
			return path.NewError(err)
		}
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			k, e := it.Element()
			var ety cty.Type
			if ty.IsTupleType() {
				ety = ty.TupleElementType(i)
			} else {
				ety = ty.ElementType()
			}
			if err := marshalDyn(e, ety, append(path, cty.IndexStep{Key: k}), enc, buf); err != nil {
				return err
			}
		}
		return nil
	case ty.IsMapType():
		if err := enc.EncodeMapLen(v.LengthInt()); err != nil {
			return path.NewError(err)
		}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if err := enc.EncodeString(k.AsString()); err != nil {
				return path.NewError(err)
			}
			if err := marshalDyn(e, ty.ElementType(), append(path, cty.IndexStep{Key: k}), enc, buf); err != nil {
				return err
			}
		}
		return nil
	case ty.IsObjectType():
		atys := ty.AttributeTypes()
		names := make([]string, 0, len(atys))
		for n := range atys {
			names = append(names, n)
		}
		sort.Strings(names)
		if err := enc.EncodeMapLen(len(names)); err != nil {
			return path.NewError(err)
		}
		for _, n := range names {
			if err := enc.EncodeString(n); err != nil {
				return path.NewError(err)
			}
			if err := marshalDyn(v.GetAttr(n), atys[n], append(path, cty.GetAttrStep{Name: n}), enc, buf); err != nil {
				return err
			}
		}
		return nil
	}
	return path.NewErrorf("unsupported type %s", ty.FriendlyName())
}

var (
	jsonString = []byte(`"string"`)
	jsonNumber = []byte(`"number"`)
	jsonBool   = []byte(`"bool"`)
)

func typeJSON(ty cty.Type) ([]byte, error) {
	switch ty {
	case cty.String:
		return jsonString, nil
	case cty.Number:
		return jsonNumber, nil
	case cty.Bool:
		return jsonBool, nil
	}
	return ctyjson.MarshalType(ty)
}

func wrapErr(path cty.Path, err error) error {
	if err != nil {
		return path.NewError(err)
	}
	return nil
}

// encodeNumber writes a number exactly as ctymsgpack does: infinities as
// floats, exact int64s as compact ints, exact non-integer float64s as
// floats, anything else as its decimal text. It avoids cty's comparison
// with the infinities, which formats the number in decimal every time.
func encodeNumber(bf *big.Float, enc *msgpack.Encoder) error {
	if bf.IsInf() {
		if bf.Sign() > 0 {
			return enc.EncodeFloat64(math.Inf(1))
		}
		return enc.EncodeFloat64(math.Inf(-1))
	}
	if iv, acc := bf.Int64(); acc == big.Exact {
		return enc.EncodeInt(iv)
	}
	if fv, acc := bf.Float64(); acc == big.Exact && !bf.IsInt() {
		return enc.EncodeFloat64(fv)
	}
	return enc.EncodeString(bf.Text('f', -1))
}
