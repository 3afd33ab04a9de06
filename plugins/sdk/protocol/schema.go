package protocol

import (
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// Schema is a versioned block schema. Version increases when the shape of
// recorded state changes; the engine then calls UpgradeResourceState.
type Schema struct {
	Version int64
	Block   *Block
}

// Block describes the attributes and nested blocks of a configuration block.
type Block struct {
	Attributes  map[string]*Attribute
	BlockTypes  map[string]*NestedBlock
	Description string
}

// Attribute describes one attribute. Exactly one of Required, Optional and
// Computed is usually set; Optional+Computed means "the user may set it,
// otherwise the provider decides".
type Attribute struct {
	Type        cty.Type
	Description string
	Required    bool
	Optional    bool
	Computed    bool
	Sensitive   bool
	// ForceNew documents that a change replaces the object. The provider's
	// plan response (RequiresReplace) is what the engine acts on.
	ForceNew bool
	// WriteOnly: the value reaches the provider only in the configuration
	// of a plan or apply; planned and recorded values are always null (the
	// provider keeps what it needs, e.g. a hash of a key).
	WriteOnly bool
	// Default is the value planned when the configuration leaves the
	// attribute unset (cty.NilVal: none). It documents the attribute
	// (`llmops providers schema`, docs/reference); the provider's plan is
	// what the engine acts on.
	Default cty.Value
}

// Nesting says how a nested block type repeats.
type Nesting int

const (
	NestingSingle Nesting = iota // at most one block, an object (null if absent)
	NestingList                  // a list of objects
	NestingSet                   // a set of objects
	NestingMap                   // labelled blocks: a map of objects by label
)

// NestedBlock describes a nested block type.
type NestedBlock struct {
	Block
	Nesting  Nesting
	MinItems int
	MaxItems int
}

// ImpliedType is the cty object type of a value conforming to b.
func (b *Block) ImpliedType() cty.Type {
	if b == nil {
		return cty.EmptyObject
	}
	atys := make(map[string]cty.Type, len(b.Attributes)+len(b.BlockTypes))
	for name, a := range b.Attributes {
		atys[name] = a.Type
	}
	for name, nb := range b.BlockTypes {
		et := nb.Block.ImpliedType()
		switch nb.Nesting {
		case NestingSingle:
			atys[name] = et
		case NestingList:
			if et.HasDynamicTypes() {
				atys[name] = cty.DynamicPseudoType
			} else {
				atys[name] = cty.List(et)
			}
		case NestingSet:
			atys[name] = cty.Set(et)
		case NestingMap:
			if et.HasDynamicTypes() {
				atys[name] = cty.DynamicPseudoType
			} else {
				atys[name] = cty.Map(et)
			}
		}
	}
	return cty.Object(atys)
}

// AttributeNames returns the attribute names in sorted order.
func (b *Block) AttributeNames() []string {
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BlockTypeNames returns the nested block type names in sorted order.
func (b *Block) BlockTypeNames() []string {
	names := make([]string, 0, len(b.BlockTypes))
	for n := range b.BlockTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SensitivePaths returns the paths of every sensitive attribute in b,
// including those in nested blocks (with an unknown index step for
// repeated blocks, see PathMatches).
func (b *Block) SensitivePaths() []cty.Path {
	var out []cty.Path
	b.walkSensitive(nil, &out)
	return out
}

func (b *Block) walkSensitive(prefix cty.Path, out *[]cty.Path) {
	for _, name := range b.AttributeNames() {
		if b.Attributes[name].Sensitive {
			*out = append(*out, append(prefix.Copy(), cty.GetAttrStep{Name: name}))
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		p := append(prefix.Copy(), cty.GetAttrStep{Name: name})
		if nb.Nesting != NestingSingle {
			p = append(p, cty.IndexStep{Key: cty.DynamicVal})
		}
		nb.Block.walkSensitive(p, out)
	}
}
