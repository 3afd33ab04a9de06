package values

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sync"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

type sensitiveMark string

// Sensitive marks a value whose content must never be shown or stored in
// clear.
const Sensitive = sensitiveMark("sensitive")

// Encoded is a value ready to store.
type Encoded struct {
	Value []byte `json:"value"`
	Type  []byte `json:"type"`
	// Sensitive is the JSON list of sensitive paths (nil when none).
	Sensitive []byte `json:"sensitive,omitempty"`
}

// Encode strips marks from v and returns its JSON, type and sensitive paths.
func Encode(v cty.Value) (Encoded, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	return encode(v, func(raw cty.Value) ([]byte, error) { return ctyjson.Marshal(raw, raw.Type()) })
}

// encode strips the marks, encodes the value with enc, and records its
// type and sensitive paths.
func encode(v cty.Value, enc func(cty.Value) ([]byte, error)) (Encoded, error) {
	raw, pvm := v.UnmarkDeepWithPaths()
	var paths []cty.Path
	for _, pm := range pvm {
		if _, ok := pm.Marks[Sensitive]; ok {
			paths = append(paths, pm.Path)
		}
	}
	var out Encoded
	var err error
	if out.Value, err = enc(raw); err != nil {
		return out, err
	}
	if out.Type, err = ctyjson.MarshalType(raw.Type()); err != nil {
		return out, err
	}
	if len(paths) > 0 {
		if out.Sensitive, err = EncodePaths(paths); err != nil {
			return out, err
		}
	}
	return out, nil
}

var typeCache sync.Map // string(type JSON) -> cty.Type

// unmarshalType decodes a type, caching by its JSON: every object of a
// resource type usually has the same type.
func unmarshalType(b []byte) (cty.Type, error) {
	if t, ok := typeCache.Load(string(b)); ok {
		return t.(cty.Type), nil
	}
	t, err := ctyjson.UnmarshalType(b)
	if err != nil {
		return cty.NilType, err
	}
	typeCache.Store(string(b), t)
	return t, nil
}

// Decode reverses Encode, re-applying the sensitive marks.
func Decode(e Encoded) (cty.Value, error) {
	ty, err := unmarshalType(e.Type)
	if err != nil {
		return cty.NilVal, fmt.Errorf("invalid value type: %w", err)
	}
	v, err := decodeJSON(e.Value, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("invalid value: %w", err)
	}
	if len(e.Sensitive) > 0 {
		paths, err := DecodePaths(e.Sensitive)
		if err != nil {
			return cty.NilVal, err
		}
		v = MarkPaths(v, paths)
	}
	return v, nil
}

// MarkPaths marks the parts of v at paths as sensitive. A path step with an
// unknown key matches every element.
func MarkPaths(v cty.Value, paths []cty.Path) cty.Value {
	paths = pathsWithValues(v, paths)
	if len(paths) == 0 {
		return v
	}
	out, _ := cty.Transform(v, func(p cty.Path, v cty.Value) (cty.Value, error) {
		for _, sp := range paths {
			if pathMatches(sp, p) {
				return v.Mark(Sensitive), nil
			}
		}
		return v, nil
	})
	return out
}

// pathsWithValues drops the paths that lead to nothing or to null (there
// is nothing to hide there), so that the common case rebuilds nothing.
func pathsWithValues(v cty.Value, paths []cty.Path) []cty.Path {
	var out []cty.Path
	for _, p := range paths {
		wild := false
		for _, s := range p {
			if ix, ok := s.(cty.IndexStep); ok && !ix.Key.IsKnown() {
				wild = true
				break
			}
		}
		if wild {
			out = append(out, p)
			continue
		}
		sub, err := p.Apply(v)
		if err != nil {
			continue
		}
		if u, _ := sub.Unmark(); u.IsKnown() && u.IsNull() {
			continue
		}
		out = append(out, p)
	}
	return out
}

func pathMatches(pattern, p cty.Path) bool {
	if len(pattern) != len(p) {
		return false
	}
	for i, s := range pattern {
		switch s := s.(type) {
		case cty.GetAttrStep:
			o, ok := p[i].(cty.GetAttrStep)
			if !ok || o.Name != s.Name {
				return false
			}
		case cty.IndexStep:
			o, ok := p[i].(cty.IndexStep)
			if !ok {
				return false
			}
			if !s.Key.IsKnown() {
				continue
			}
			if !o.Key.IsKnown() || o.Key.Type() != s.Key.Type() || !o.Key.Equals(s.Key).True() {
				return false
			}
		}
	}
	return true
}

// SensitivePaths returns the paths of v that carry the sensitive mark.
func SensitivePaths(v cty.Value) []cty.Path {
	_, pvm := v.UnmarkDeepWithPaths()
	var out []cty.Path
	for _, pm := range pvm {
		if _, ok := pm.Marks[Sensitive]; ok {
			out = append(out, pm.Path)
		}
	}
	return out
}

// IsSensitive reports whether v or any part of it is sensitive.
func IsSensitive(v cty.Value) bool {
	return v.HasMark(Sensitive) || (ContainsMarked(v) && len(SensitivePaths(v)) > 0)
}

// EncodePaths encodes paths as JSON: each path a list of steps, a step a
// string (attribute), {"key": "k"} or {"index": n}, or {"any": true}.
func EncodePaths(paths []cty.Path) ([]byte, error) {
	out := make([][]any, 0, len(paths))
	for _, p := range paths {
		steps := make([]any, 0, len(p))
		for _, s := range p {
			switch s := s.(type) {
			case cty.GetAttrStep:
				steps = append(steps, s.Name)
			case cty.IndexStep:
				k := s.Key
				switch {
				case !k.IsKnown():
					steps = append(steps, map[string]any{"any": true})
				case k.Type() == cty.String:
					steps = append(steps, map[string]any{"key": k.AsString()})
				case k.Type() == cty.Number:
					i, _ := k.AsBigFloat().Int64()
					steps = append(steps, map[string]any{"index": i})
				default:
					steps = append(steps, map[string]any{"any": true})
				}
			}
		}
		out = append(out, steps)
	}
	return json.Marshal(out)
}

// DecodePaths reverses EncodePaths.
func DecodePaths(b []byte) ([]cty.Path, error) {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("invalid sensitive paths: %w", err)
	}
	out := make([]cty.Path, 0, len(raw))
	for _, steps := range raw {
		var p cty.Path
		for _, s := range steps {
			var name string
			if json.Unmarshal(s, &name) == nil {
				p = append(p, cty.GetAttrStep{Name: name})
				continue
			}
			var m struct {
				Key   *string `json:"key"`
				Index *int64  `json:"index"`
				Any   bool    `json:"any"`
			}
			if err := json.Unmarshal(s, &m); err != nil {
				return nil, fmt.Errorf("invalid sensitive path step: %w", err)
			}
			switch {
			case m.Key != nil:
				p = append(p, cty.IndexStep{Key: cty.StringVal(*m.Key)})
			case m.Index != nil:
				p = append(p, cty.IndexStep{Key: cty.NumberVal(new(big.Float).SetInt64(*m.Index))})
			default:
				p = append(p, cty.IndexStep{Key: cty.DynamicVal})
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// EncodeWithUnknowns is Encode for values that may contain unknowns (in
// plans): the value is cty msgpack instead of JSON.
func EncodeWithUnknowns(v cty.Value) (Encoded, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	return encode(v, func(raw cty.Value) ([]byte, error) { return ctymsgpack.Marshal(raw, raw.Type()) })
}

// DecodeWithUnknowns reverses EncodeWithUnknowns.
func DecodeWithUnknowns(e Encoded) (cty.Value, error) {
	ty, err := unmarshalType(e.Type)
	if err != nil {
		return cty.NilVal, fmt.Errorf("invalid value type: %w", err)
	}
	v, err := ctymsgpack.Unmarshal(e.Value, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("invalid value: %w", err)
	}
	if len(e.Sensitive) > 0 {
		paths, err := DecodePaths(e.Sensitive)
		if err != nil {
			return cty.NilVal, err
		}
		v = MarkPaths(v, paths)
	}
	return v, nil
}

// SecretLeaves returns the primitive values found under the sensitive
// parts of v (for MarkSecretLeaves).
func SecretLeaves(v cty.Value) []cty.Value {
	var out []cty.Value
	for _, p := range SensitivePaths(v) {
		sub, err := p.Apply(v)
		if err != nil {
			continue
		}
		sub, _ = sub.UnmarkDeep()
		cty.Walk(sub, func(_ cty.Path, leaf cty.Value) (bool, error) {
			if leaf.IsKnown() && !leaf.IsNull() && leaf.Type().IsPrimitiveType() {
				out = append(out, leaf)
			}
			return true, nil
		})
	}
	return out
}

// MarkSecretLeaves marks every primitive part of v equal to one of the
// secrets as sensitive, so that a provider copying a secret into a computed
// attribute (output = input) does not reveal it.
func MarkSecretLeaves(v cty.Value, secrets []cty.Value) cty.Value {
	if len(secrets) == 0 {
		return v
	}
	out, _ := cty.Transform(v, func(_ cty.Path, leaf cty.Value) (cty.Value, error) {
		u, _ := leaf.Unmark()
		if !u.IsKnown() || u.IsNull() || !u.Type().IsPrimitiveType() {
			return leaf, nil
		}
		for _, s := range secrets {
			if s.Type() == u.Type() && s.RawEquals(u) {
				return leaf.Mark(Sensitive), nil
			}
		}
		return leaf, nil
	})
	return out
}

// ContainsMarked is cty.Value.ContainsMarked without building a path for
// every value it visits (cty.Walk does): a plan of 1,000 unmarked objects
// asks this of each value several times.
func ContainsMarked(v cty.Value) bool {
	if v.IsMarked() {
		return true
	}
	if !v.IsKnown() || v.IsNull() {
		return false
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		for name := range ty.AttributeTypes() {
			if ContainsMarked(v.GetAttr(name)) {
				return true
			}
		}
	case ty.IsCollectionType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if ContainsMarked(e) {
				return true
			}
		}
	}
	return false // no part is marked (primitives and capsules are leaves)
}
