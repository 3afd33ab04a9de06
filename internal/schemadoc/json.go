package schemadoc

import (
	"encoding/json"
	"sort"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// FormatVersion is the version of the JSON document's shape.
const FormatVersion = "1.0"

// Schemas is the document `llmops providers schema -json` prints.
type Schemas struct {
	FormatVersion   string                     `json:"format_version"`
	ProviderSchemas map[string]*ProviderSchema `json:"provider_schemas"`
}

// ProviderSchema is one provider's: its configuration block and its
// resource types (lifecycle kinds and the provider's own).
type ProviderSchema struct {
	// Version is the provider's release (not in Terraform's shape, which
	// keys providers by a versioned source address).
	Version           string             `json:"version,omitempty"`
	Provider          *Schema            `json:"provider"`
	ResourceSchemas   map[string]*Schema `json:"resource_schemas"`
	DataSourceSchemas map[string]*Schema `json:"data_source_schemas,omitempty"`
}

// Schema is a versioned block.
type Schema struct {
	Version int64  `json:"version"`
	Block   *Block `json:"block"`
}

// Block is a block's attributes and nested block types.
type Block struct {
	Attributes      map[string]*Attribute   `json:"attributes,omitempty"`
	BlockTypes      map[string]*NestedBlock `json:"block_types,omitempty"`
	Description     string                  `json:"description,omitempty"`
	DescriptionKind string                  `json:"description_kind,omitempty"`
}

// Attribute is one attribute. Type is cty's JSON form of the type
// ("string", ["list","string"], ...).
type Attribute struct {
	Type            json.RawMessage `json:"type"`
	Description     string          `json:"description,omitempty"`
	DescriptionKind string          `json:"description_kind,omitempty"`
	Required        bool            `json:"required,omitempty"`
	Optional        bool            `json:"optional,omitempty"`
	Computed        bool            `json:"computed,omitempty"`
	Sensitive       bool            `json:"sensitive,omitempty"`
	WriteOnly       bool            `json:"write_only,omitempty"`
	// ForceNew: a change replaces the object (not in Terraform's shape,
	// where it is only in the provider's plan).
	ForceNew bool            `json:"force_new,omitempty"`
	Default  json.RawMessage `json:"default,omitempty"`
}

// NestedBlock is a nested block type: how it repeats and its block.
type NestedBlock struct {
	NestingMode string `json:"nesting_mode"`
	Block       *Block `json:"block"`
	MinItems    int    `json:"min_items,omitempty"`
	MaxItems    int    `json:"max_items,omitempty"`
}

// FromResponses builds the document from each provider type's
// GetSchemaResponse: its configuration block, resource types and data
// sources (data_source_schemas, left out when it has none).
func FromResponses(resps map[string]*protocol.GetSchemaResponse) (*Schemas, error) {
	out := &Schemas{FormatVersion: FormatVersion, ProviderSchemas: map[string]*ProviderSchema{}}
	for typ, r := range resps {
		ps := &ProviderSchema{Version: r.ProviderVersion, ResourceSchemas: map[string]*Schema{}}
		var err error
		if ps.Provider, err = convertSchema(r.Provider); err != nil {
			return nil, err
		}
		for name, s := range r.ResourceTypes {
			if ps.ResourceSchemas[name], err = convertSchema(s); err != nil {
				return nil, err
			}
		}
		for name, s := range r.DataSources {
			if ps.DataSourceSchemas == nil {
				ps.DataSourceSchemas = map[string]*Schema{}
			}
			if ps.DataSourceSchemas[name], err = convertSchema(s); err != nil {
				return nil, err
			}
		}
		out.ProviderSchemas[typ] = ps
	}
	return out, nil
}

func convertSchema(s *protocol.Schema) (*Schema, error) {
	if s == nil {
		s = &protocol.Schema{}
	}
	b, err := ConvertBlock(s.Block)
	if err != nil {
		return nil, err
	}
	return &Schema{Version: s.Version, Block: b}, nil
}

// NestingName is the JSON name of a nesting mode.
func NestingName(n protocol.Nesting) string {
	switch n {
	case protocol.NestingList:
		return "list"
	case protocol.NestingSet:
		return "set"
	case protocol.NestingMap:
		return "map"
	}
	return "single"
}

// ConvertBlock converts a protocol block (nil: an empty block).
func ConvertBlock(b *protocol.Block) (*Block, error) {
	out := &Block{}
	if b == nil {
		return out, nil
	}
	if b.Description != "" {
		out.Description, out.DescriptionKind = b.Description, "plain"
	}
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		ty, err := ctyjson.MarshalType(a.Type)
		if err != nil {
			return nil, err
		}
		ja := &Attribute{Type: ty, Description: a.Description, Required: a.Required, Optional: a.Optional,
			Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly, ForceNew: a.ForceNew}
		if a.Description != "" {
			ja.DescriptionKind = "plain"
		}
		if a.Default != cty.NilVal {
			if ja.Default, err = ctyjson.Marshal(a.Default, a.Type); err != nil {
				return nil, err
			}
		}
		if out.Attributes == nil {
			out.Attributes = map[string]*Attribute{}
		}
		out.Attributes[name] = ja
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		inner, err := ConvertBlock(&nb.Block)
		if err != nil {
			return nil, err
		}
		if out.BlockTypes == nil {
			out.BlockTypes = map[string]*NestedBlock{}
		}
		out.BlockTypes[name] = &NestedBlock{NestingMode: NestingName(nb.Nesting), Block: inner, MinItems: nb.MinItems, MaxItems: nb.MaxItems}
	}
	return out, nil
}

// Undescribed lists the paths ("local: resource model: source",
// "slurm: provider: url") of every attribute and nested block type that
// has no description: each must have one.
func Undescribed(resps map[string]*protocol.GetSchemaResponse) []string {
	var out []string
	for typ, r := range resps {
		if r.Provider != nil {
			undescribed(typ+": provider", r.Provider.Block, &out)
		}
		for name, s := range r.ResourceTypes {
			undescribed(typ+": resource "+name, s.Block, &out)
		}
		for name, s := range r.DataSources {
			undescribed(typ+": data "+name, s.Block, &out)
		}
	}
	sort.Strings(out)
	return out
}

func undescribed(where string, b *protocol.Block, out *[]string) {
	if b == nil {
		return
	}
	for name, a := range b.Attributes {
		if a.Description == "" {
			*out = append(*out, where+": "+name)
		}
	}
	for name, nb := range b.BlockTypes {
		if nb.Block.Description == "" {
			*out = append(*out, where+": block "+name)
		}
		undescribed(where+": "+name, &nb.Block, out)
	}
}
