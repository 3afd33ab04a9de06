package plugin

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// encodeValue encodes v as msgpack against ty. cty.NilVal travels as an
// absent value and decodes as a null of the receiver's type. Marks (such as
// the engine's sensitive mark) are dropped: the schema says what is
// sensitive, and the engine marks values again from it.
func encodeValue(v cty.Value, ty cty.Type) (*proto.DynamicValue, error) {
	if v == cty.NilVal {
		return nil, nil
	}
	b, err := marshalMsgpack(v, ty)
	if err != nil && v.ContainsMarked() {
		v, _ = v.UnmarkDeep()
		b, err = marshalMsgpack(v, ty)
	}
	if err != nil {
		return nil, fmt.Errorf("value does not conform to the schema: %s", formatPathErr(err))
	}
	return &proto.DynamicValue{Msgpack: b}, nil
}

// encodeState is encodeValue for recorded states: a state recorded before
// the provider added or removed an attribute is fitted to the current
// schema (missing attributes null, removed ones dropped).
func encodeState(v cty.Value, ty cty.Type) (*proto.DynamicValue, error) {
	dv, err := encodeValue(v, ty)
	if err == nil {
		return dv, nil
	}
	if v.ContainsMarked() {
		v, _ = v.UnmarkDeep()
	}
	b, err2 := marshalMsgpack(FitValue(v, ty), ty)
	if err2 != nil {
		return nil, err
	}
	return &proto.DynamicValue{Msgpack: b}, nil
}

// decodeValue decodes a DynamicValue encoded against ty; an absent or empty
// value is a null of ty.
func decodeValue(dv *proto.DynamicValue, ty cty.Type) (cty.Value, error) {
	if dv == nil || len(dv.Msgpack) == 0 {
		return cty.NullVal(ty), nil
	}
	v, err := unmarshalMsgpack(dv.Msgpack, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decoding value: %s", formatPathErr(err))
	}
	return v, nil
}

func formatPathErr(err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return protocol.PathString(pe.Path) + ": " + pe.Error()
	}
	return err.Error()
}

// pathToProto converts a cty path. Unknown index keys (used for "every
// element") cannot travel and end the path there.
func pathToProto(p cty.Path) *proto.AttributePath {
	if len(p) == 0 {
		return nil
	}
	out := &proto.AttributePath{Steps: make([]*proto.AttributePath_Step, 0, len(p))}
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			out.Steps = append(out.Steps, &proto.AttributePath_Step{Selector: &proto.AttributePath_Step_AttributeName{AttributeName: s.Name}})
		case cty.IndexStep:
			k := s.Key
			if !k.IsKnown() || k.IsNull() {
				return out
			}
			switch k.Type() {
			case cty.String:
				out.Steps = append(out.Steps, &proto.AttributePath_Step{Selector: &proto.AttributePath_Step_ElementKeyString{ElementKeyString: k.AsString()}})
			case cty.Number:
				i, _ := k.AsBigFloat().Int64()
				out.Steps = append(out.Steps, &proto.AttributePath_Step{Selector: &proto.AttributePath_Step_ElementKeyInt{ElementKeyInt: i}})
			default:
				return out
			}
		}
	}
	return out
}

func pathFromProto(ap *proto.AttributePath) cty.Path {
	if ap == nil || len(ap.Steps) == 0 {
		return nil
	}
	p := make(cty.Path, 0, len(ap.Steps))
	for _, s := range ap.Steps {
		switch sel := s.Selector.(type) {
		case *proto.AttributePath_Step_AttributeName:
			p = append(p, cty.GetAttrStep{Name: sel.AttributeName})
		case *proto.AttributePath_Step_ElementKeyString:
			p = append(p, cty.IndexStep{Key: cty.StringVal(sel.ElementKeyString)})
		case *proto.AttributePath_Step_ElementKeyInt:
			p = append(p, cty.IndexStep{Key: cty.NumberVal(new(big.Float).SetInt64(sel.ElementKeyInt))})
		}
	}
	return p
}

func pathsToProto(ps []cty.Path) []*proto.AttributePath {
	if len(ps) == 0 {
		return nil
	}
	out := make([]*proto.AttributePath, 0, len(ps))
	for _, p := range ps {
		out = append(out, pathToProto(p))
	}
	return out
}

func pathsFromProto(ps []*proto.AttributePath) []cty.Path {
	if len(ps) == 0 {
		return nil
	}
	out := make([]cty.Path, 0, len(ps))
	for _, p := range ps {
		out = append(out, pathFromProto(p))
	}
	return out
}

func diagsToProto(ds protocol.Diagnostics) []*proto.Diagnostic {
	if len(ds) == 0 {
		return nil
	}
	out := make([]*proto.Diagnostic, 0, len(ds))
	for _, d := range ds {
		sev := proto.Diagnostic_ERROR
		if d.Severity == protocol.Warning {
			sev = proto.Diagnostic_WARNING
		}
		out = append(out, &proto.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Attribute: pathToProto(d.Attribute)})
	}
	return out
}

func diagsFromProto(ds []*proto.Diagnostic) protocol.Diagnostics {
	if len(ds) == 0 {
		return nil
	}
	out := make(protocol.Diagnostics, 0, len(ds))
	for _, d := range ds {
		sev := protocol.Error
		if d.Severity == proto.Diagnostic_WARNING {
			sev = protocol.Warning
		}
		out = append(out, protocol.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Attribute: pathFromProto(d.Attribute)})
	}
	return out
}

func pendingToProto(p *protocol.Pending) *proto.Pending {
	if p == nil {
		return nil
	}
	return &proto.Pending{Handle: p.Handle, Status: p.Status, Message: p.Message}
}

func pendingFromProto(p *proto.Pending) *protocol.Pending {
	if p == nil {
		return nil
	}
	return &protocol.Pending{Handle: p.Handle, Status: p.Status, Message: p.Message}
}

func schemaToProto(s *protocol.Schema) (*proto.Schema, error) {
	if s == nil {
		return nil, nil
	}
	b, err := blockToProto(s.Block)
	if err != nil {
		return nil, err
	}
	return &proto.Schema{Version: s.Version, Block: b}, nil
}

func blockToProto(b *protocol.Block) (*proto.Schema_Block, error) {
	if b == nil {
		return &proto.Schema_Block{}, nil
	}
	out := &proto.Schema_Block{Description: b.Description}
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		if a == nil {
			return nil, fmt.Errorf("attribute %q has no definition", name)
		}
		ty, err := ctyjson.MarshalType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		var def []byte
		if a.Default != cty.NilVal {
			if def, err = ctyjson.Marshal(a.Default, a.Type); err != nil {
				return nil, fmt.Errorf("attribute %q: default: %w", name, err)
			}
		}
		out.Attributes = append(out.Attributes, &proto.Schema_Attribute{
			Name: name, Type: ty, Description: a.Description,
			Required: a.Required, Optional: a.Optional, Computed: a.Computed,
			Sensitive: a.Sensitive, ForceNew: a.ForceNew, WriteOnly: a.WriteOnly,
			Default: def,
		})
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		if nb == nil {
			return nil, fmt.Errorf("block type %q has no definition", name)
		}
		inner, err := blockToProto(&nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %q: %w", name, err)
		}
		out.BlockTypes = append(out.BlockTypes, &proto.Schema_NestedBlock{
			TypeName: name, Block: inner, Nesting: proto.Schema_NestingMode(nb.Nesting),
			MinItems: int64(nb.MinItems), MaxItems: int64(nb.MaxItems),
		})
	}
	return out, nil
}

func schemaFromProto(s *proto.Schema) (*protocol.Schema, error) {
	if s == nil {
		return nil, nil
	}
	b, err := blockFromProto(s.Block)
	if err != nil {
		return nil, err
	}
	return &protocol.Schema{Version: s.Version, Block: b}, nil
}

func blockFromProto(b *proto.Schema_Block) (*protocol.Block, error) {
	out := &protocol.Block{Attributes: map[string]*protocol.Attribute{}, BlockTypes: map[string]*protocol.NestedBlock{}}
	if b == nil {
		return out, nil
	}
	out.Description = b.Description
	for _, a := range b.Attributes {
		ty, err := ctyjson.UnmarshalType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: invalid type %q: %w", a.Name, a.Type, err)
		}
		pa := &protocol.Attribute{
			Type: ty, Description: a.Description,
			Required: a.Required, Optional: a.Optional, Computed: a.Computed,
			Sensitive: a.Sensitive, ForceNew: a.ForceNew, WriteOnly: a.WriteOnly,
		}
		if len(a.Default) > 0 {
			if pa.Default, err = ctyjson.Unmarshal(a.Default, ty); err != nil {
				return nil, fmt.Errorf("attribute %q: invalid default: %w", a.Name, err)
			}
		}
		out.Attributes[a.Name] = pa
	}
	for _, nb := range b.BlockTypes {
		inner, err := blockFromProto(nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %q: %w", nb.TypeName, err)
		}
		out.BlockTypes[nb.TypeName] = &protocol.NestedBlock{
			Block: *inner, Nesting: protocol.Nesting(nb.Nesting),
			MinItems: int(nb.MinItems), MaxItems: int(nb.MaxItems),
		}
	}
	return out, nil
}

func schemasToProto(m map[string]*protocol.Schema) (map[string]*proto.Schema, error) {
	out := make(map[string]*proto.Schema, len(m))
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s, err := schemaToProto(m[n])
		if err != nil {
			return nil, fmt.Errorf("resource type %q: %w", n, err)
		}
		out[n] = s
	}
	return out, nil
}

func artifactStoreToProto(a protocol.ArtifactStore) *proto.ArtifactStore {
	if a == (protocol.ArtifactStore{}) {
		return nil
	}
	return &proto.ArtifactStore{Url: a.URL, Endpoint: a.Endpoint, PathStyle: a.PathStyle, Region: a.Region, Profile: a.Profile}
}

func artifactStoreFromProto(a *proto.ArtifactStore) protocol.ArtifactStore {
	if a == nil {
		return protocol.ArtifactStore{}
	}
	return protocol.ArtifactStore{URL: a.Url, Endpoint: a.Endpoint, PathStyle: a.PathStyle, Region: a.Region, Profile: a.Profile}
}
