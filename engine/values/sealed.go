package values

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

// Sealer seals and opens bytes; secrets.Key implements it.
type Sealer interface {
	Seal(plain []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Witness is implemented by a Sealer that wants to see the sensitive values
// it seals and opens: the CLI adds them to the set of secrets it scrubs
// from everything it prints and writes.
type Witness interface {
	Witness(parts ...cty.Value)
}

func witness(s Sealer, parts ...cty.Value) {
	if w, ok := s.(Witness); ok && len(parts) > 0 {
		w.Witness(parts...)
	}
}

// ErrNeedsKey is returned when a value with sensitive parts would be
// written without a key to seal them.
var ErrNeedsKey = errors.New("sensitive values would be stored in clear")

// ErrSealed is returned (with the value, its sensitive parts null) when
// sealed parts cannot be opened because no key is configured.
var ErrSealed = errors.New("the value has sealed sensitive parts and no state key is configured")

// sealedSensitive is the Sensitive field of a value with sealed parts.
type sealedSensitive struct {
	Paths  json.RawMessage `json:"paths"`
	Sealed string          `json:"sealed"`
}

// sealedPart is one sensitive part inside the sealed payload.
type sealedPart struct {
	Type  json.RawMessage `json:"t"`
	Value []byte          `json:"v"` // cty msgpack against Type
}

// EncodeSealed is Encode (or, with unknowns true, EncodeWithUnknowns)
// with the sensitive parts removed from the value and sealed with s.
// Without s, a value with sensitive parts is refused with ErrNeedsKey.
func EncodeSealed(v cty.Value, s Sealer, unknowns bool) (Encoded, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	paths := nonNullSensitive(v)
	if len(paths) == 0 {
		if unknowns {
			return EncodeWithUnknowns(v)
		}
		return Encode(v)
	}
	if s == nil {
		return Encoded{}, ErrNeedsKey
	}
	raw, _ := v.UnmarkDeep()
	parts := make([]sealedPart, 0, len(paths))
	for _, p := range paths {
		sub, err := p.Apply(raw)
		if err != nil {
			return Encoded{}, err
		}
		witness(s, sub)
		tj, err := ctyjson.MarshalType(sub.Type())
		if err != nil {
			return Encoded{}, err
		}
		mp, err := ctymsgpack.Marshal(sub, sub.Type())
		if err != nil {
			return Encoded{}, err
		}
		parts = append(parts, sealedPart{Type: tj, Value: mp})
	}
	payload, err := json.Marshal(parts)
	if err != nil {
		return Encoded{}, err
	}
	sealed, err := s.Seal(payload)
	if err != nil {
		return Encoded{}, err
	}
	blanked := nullAt(raw, paths)
	var enc Encoded
	if unknowns {
		enc, err = EncodeWithUnknowns(blanked)
	} else {
		enc, err = Encode(blanked)
	}
	if err != nil {
		return Encoded{}, err
	}
	pj, err := EncodePaths(paths)
	if err != nil {
		return Encoded{}, err
	}
	enc.Sensitive, err = json.Marshal(sealedSensitive{Paths: pj, Sealed: sealed})
	return enc, err
}

// DecodeSealed reverses EncodeSealed. Without s, a value with sealed parts
// is returned with those parts null (and marked sensitive) together with
// ErrSealed, so readers that only display values can go on.
func DecodeSealed(e Encoded, s Sealer, unknowns bool) (cty.Value, error) {
	if len(e.Sensitive) == 0 || e.Sensitive[0] != '{' {
		if unknowns {
			return DecodeWithUnknowns(e)
		}
		return Decode(e)
	}
	var ss sealedSensitive
	if err := json.Unmarshal(e.Sensitive, &ss); err != nil {
		return cty.NilVal, fmt.Errorf("invalid sealed value: %w", err)
	}
	plain := Encoded{Value: e.Value, Type: e.Type}
	var v cty.Value
	var err error
	if unknowns {
		v, err = DecodeWithUnknowns(plain)
	} else {
		v, err = Decode(plain)
	}
	if err != nil {
		return cty.NilVal, err
	}
	paths, err := DecodePaths(ss.Paths)
	if err != nil {
		return cty.NilVal, err
	}
	if s == nil {
		return MarkPathsAlways(v, paths), ErrSealed
	}
	payload, err := s.Open(ss.Sealed)
	if err != nil {
		return MarkPathsAlways(v, paths), err
	}
	var parts []sealedPart
	if err := json.Unmarshal(payload, &parts); err != nil || len(parts) != len(paths) {
		return cty.NilVal, fmt.Errorf("invalid sealed payload")
	}
	subs := make([]cty.Value, len(parts))
	for i, part := range parts {
		ty, err := unmarshalType(part.Type)
		if err != nil {
			return cty.NilVal, err
		}
		if subs[i], err = ctymsgpack.Unmarshal(part.Value, ty); err != nil {
			return cty.NilVal, err
		}
	}
	witness(s, subs...)
	v = putAt(v, paths, subs)
	return MarkPathsAlways(v, paths), nil
}

// MarkPathsAlways marks every path, null or not (a sealed part that could
// not be opened is still sensitive).
func MarkPathsAlways(v cty.Value, paths []cty.Path) cty.Value {
	out, _ := cty.Transform(v, func(p cty.Path, x cty.Value) (cty.Value, error) {
		for _, sp := range paths {
			if pathMatches(sp, p) {
				return x.Mark(Sensitive), nil
			}
		}
		return x, nil
	})
	return out
}

// nonNullSensitive lists the sensitive paths of v that hold something.
func nonNullSensitive(v cty.Value) []cty.Path {
	var out []cty.Path
	for _, p := range SensitivePaths(v) {
		sub, err := p.Apply(v)
		if err != nil {
			continue
		}
		if u, _ := sub.UnmarkDeep(); u.IsKnown() && u.IsNull() {
			continue
		}
		out = append(out, p)
	}
	return out
}

func nullAt(v cty.Value, paths []cty.Path) cty.Value {
	out, _ := cty.Transform(v, func(p cty.Path, x cty.Value) (cty.Value, error) {
		for _, sp := range paths {
			if p.Equals(sp) {
				return cty.NullVal(x.Type()), nil
			}
		}
		return x, nil
	})
	return out
}

func putAt(v cty.Value, paths []cty.Path, subs []cty.Value) cty.Value {
	out, _ := cty.Transform(v, func(p cty.Path, x cty.Value) (cty.Value, error) {
		for i, sp := range paths {
			if p.Equals(sp) {
				return subs[i], nil
			}
		}
		return x, nil
	})
	return out
}

// EncodeOutput prepares an output value for the state: a sensitive output
// is sealed whole (its value JSON is the sealed text as a JSON string);
// without a key it is refused with ErrNeedsKey.
func EncodeOutput(v cty.Value, sensitive bool, s Sealer) (value, typ []byte, err error) {
	raw, _ := v.UnmarkDeep()
	enc, err := Encode(raw)
	if err != nil {
		return nil, nil, err
	}
	if !sensitive || raw.IsNull() {
		return enc.Value, enc.Type, nil
	}
	if s == nil {
		return nil, nil, ErrNeedsKey
	}
	witness(s, raw)
	sealed, err := s.Seal(enc.Value)
	if err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(sealed)
	return b, enc.Type, err
}

// DecodeOutput reverses EncodeOutput. A sealed output read without a key
// comes back unknown, marked sensitive, with ErrSealed.
func DecodeOutput(value, typ []byte, sensitive bool, s Sealer) (cty.Value, error) {
	if sensitive && len(value) > 0 && value[0] == '"' {
		var text string
		if json.Unmarshal(value, &text) == nil && len(text) > 10 && text[:7] == "sealed:" {
			ty, err := unmarshalType(typ)
			if err != nil {
				return cty.NilVal, err
			}
			if s == nil {
				return cty.UnknownVal(ty).Mark(Sensitive), ErrSealed
			}
			plain, err := s.Open(text)
			if err != nil {
				return cty.UnknownVal(ty).Mark(Sensitive), err
			}
			value = plain
		}
	}
	v, err := Decode(Encoded{Value: value, Type: typ})
	if err != nil {
		return cty.NilVal, err
	}
	if sensitive {
		witness(s, v)
		v = v.Mark(Sensitive)
	}
	return v, nil
}

// Reseal opens the sealed part of an object's Sensitive field with old and
// seals it again with new; a field without sealed parts is returned as is.
func Reseal(sensitive []byte, old, new Sealer) ([]byte, error) {
	if len(sensitive) == 0 || sensitive[0] != '{' {
		return sensitive, nil
	}
	var ss sealedSensitive
	if err := json.Unmarshal(sensitive, &ss); err != nil {
		return nil, fmt.Errorf("invalid sealed value: %w", err)
	}
	plain, err := old.Open(ss.Sealed)
	if err != nil {
		return nil, err
	}
	if ss.Sealed, err = new.Seal(plain); err != nil {
		return nil, err
	}
	return json.Marshal(ss)
}

// ResealOutput does the same for an output's value (EncodeOutput).
func ResealOutput(value []byte, sensitive bool, old, new Sealer) ([]byte, error) {
	if !sensitive || len(value) == 0 || value[0] != '"' {
		return value, nil
	}
	var text string
	if json.Unmarshal(value, &text) != nil || len(text) < 8 || text[:7] != "sealed:" {
		return value, nil
	}
	plain, err := old.Open(text)
	if err != nil {
		return nil, err
	}
	sealed, err := new.Seal(plain)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sealed)
}
