package sdk

import (
	"errors"
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Attribute is a schema attribute under construction. Start one with Attr
// and chain the modifiers:
//
//	sdk.Attr(cty.String).Required().Description("The message to echo.")
//	sdk.Attr(cty.String).Optional().ForceNew()
//	sdk.Attr(cty.Number).Computed()
//	sdk.Attr(cty.String).Optional().Computed() // the user may set it, else the provider picks
//	sdk.Attr(cty.String).Required().Sensitive()
//	sdk.Attr(cty.DynamicPseudoType).Optional() // any value
//
// Every attribute must be Required, Optional, Computed, or Optional and
// Computed; GetSchema reports any other combination as an error.
type Attribute struct {
	a protocol.Attribute
	// useState: see UseStateForUnknown.
	useState bool
	// replaceIf and validators: see RequiresReplaceIf and Validate
	// (modifiers.go).
	replaceIf  func(prior, planned cty.Value) bool
	validators []Validator
}

// Attr starts an attribute of type ty. cty.DynamicPseudoType accepts a
// value of any type, which keeps its exact type through plan and state.
func Attr(ty cty.Type) *Attribute { return &Attribute{a: protocol.Attribute{Type: ty}} }

// Required: the configuration must set the attribute.
func (a *Attribute) Required() *Attribute { a.a.Required = true; return a }

// Optional: the configuration may set the attribute.
func (a *Attribute) Optional() *Attribute { a.a.Optional = true; return a }

// Computed: the provider sets the value. Combined with Optional, the
// provider sets it only when the configuration does not. In a plan, a
// computed attribute the configuration leaves unset is unknown ("known
// after apply") on create and replace, and on an update that changes
// anything, unless it is UseStateForUnknown; an object whose configuration
// did not change keeps its values. ModifyPlan can set planned values.
func (a *Attribute) Computed() *Attribute { a.a.Computed = true; return a }

// UseStateForUnknown: a computed attribute whose value does not change
// when the object is updated in place (an id, a creation time, an
// endpoint): the plan of an update keeps its prior value instead of
// making it unknown, so that what depends on it is not replaced or
// re-planned for nothing. The engine holds the provider to it: an update
// that changes the value is reported as a provider bug.
func (a *Attribute) UseStateForUnknown() *Attribute { a.useState = true; return a }

// Sensitive: the value is a secret. llmops hides it in plans and output and
// never stores it in clear.
func (a *Attribute) Sensitive() *Attribute { a.a.Sensitive = true; return a }

// ForceNew: a change of the value cannot be made in place; the framework's
// plan reports it in RequiresReplace and llmops replaces the object.
func (a *Attribute) ForceNew() *Attribute { a.a.ForceNew = true; return a }

// WriteOnly: the value reaches the provider only in the configuration of
// a plan or an apply (req.Config); plans and state always hold null. Use it
// for secrets the provider needs once and keeps only in a derived form (an
// API key of which it records a salted hash). A write-only attribute is
// Optional or Required, never Computed.
func (a *Attribute) WriteOnly() *Attribute { a.a.WriteOnly = true; return a }

// Description documents the attribute (plain text, one or two sentences).
func (a *Attribute) Description(d string) *Attribute { a.a.Description = d; return a }

// Build returns the protocol form of the attribute.
func (a *Attribute) Build() *protocol.Attribute { c := a.a; return &c }

// Attributes maps attribute names to attributes.
type Attributes map[string]*Attribute

// Blocks maps nested block type names to nested blocks.
type Blocks map[string]*NestedBlock

// Block is a configuration block's schema: a resource type's, a provider's,
// or a nested block's.
//
//	sdk.Block{
//		Description: "A message echoed back.",
//		Attributes: sdk.Attributes{
//			"text":   sdk.Attr(cty.String).Required(),
//			"length": sdk.Attr(cty.Number).Computed(),
//		},
//		Blocks: sdk.Blocks{
//			"retry": sdk.SingleBlock(sdk.Block{Attributes: sdk.Attributes{
//				"attempts": sdk.Attr(cty.Number).Optional(),
//			}}),
//		},
//	}
type Block struct {
	Description string
	Attributes  Attributes
	Blocks      Blocks
}

// NestedBlock is a nested block type under construction. Start one with
// SingleBlock, ListBlock, SetBlock or MapBlock.
type NestedBlock struct {
	block   Block
	nesting protocol.Nesting
	min     int
	max     int
}

// SingleBlock is a nested block that appears at most once; its value is an
// object, null when the block is absent.
func SingleBlock(b Block) *NestedBlock {
	return &NestedBlock{block: b, nesting: protocol.NestingSingle}
}

// ListBlock is a repeatable nested block; its value is a list of objects.
func ListBlock(b Block) *NestedBlock { return &NestedBlock{block: b, nesting: protocol.NestingList} }

// SetBlock is a repeatable nested block whose order does not matter.
func SetBlock(b Block) *NestedBlock { return &NestedBlock{block: b, nesting: protocol.NestingSet} }

// MapBlock is a labelled nested block (`check "p95" { ... }`); its value is
// a map of objects by label.
func MapBlock(b Block) *NestedBlock { return &NestedBlock{block: b, nesting: protocol.NestingMap} }

// Inner is the block's own schema.
func (n *NestedBlock) Inner() Block { return n.block }

// MinItems requires at least n blocks (for single blocks, 1 makes it required).
func (n *NestedBlock) MinItems(min int) *NestedBlock { n.min = min; return n }

// MaxItems allows at most n blocks; 0 means no limit.
func (n *NestedBlock) MaxItems(max int) *NestedBlock { n.max = max; return n }

// keepState lists the paths (dotted, "access.api_key_hashes") of the
// attributes declared UseStateForUnknown.
func (b Block) keepState(prefix string, out map[string]bool) {
	for name, a := range b.Attributes {
		if a != nil && a.useState {
			out[prefix+name] = true
		}
	}
	for name, nb := range b.Blocks {
		if nb != nil {
			nb.block.keepState(prefix+name+".", out)
		}
	}
}

// Build returns the protocol form of the block.
func (b Block) Build() *protocol.Block {
	out := &protocol.Block{
		Description: b.Description,
		Attributes:  make(map[string]*protocol.Attribute, len(b.Attributes)),
		BlockTypes:  make(map[string]*protocol.NestedBlock, len(b.Blocks)),
	}
	for name, a := range b.Attributes {
		if a != nil {
			out.Attributes[name] = a.Build()
		}
	}
	for name, nb := range b.Blocks {
		if nb != nil {
			out.BlockTypes[name] = &protocol.NestedBlock{
				Block: *nb.block.Build(), Nesting: nb.nesting, MinItems: nb.min, MaxItems: nb.max,
			}
		}
	}
	return out
}

// ValidateSchema checks a protocol block for mistakes a provider author can
// make: an attribute that is neither required, optional nor computed, or
// two of them at once (other than optional+computed), an invalid type, a
// name used twice, bad item limits. It returns every problem found.
func ValidateSchema(b *protocol.Block) error {
	var errs []error
	validateSchema(b, nil, &errs)
	return errors.Join(errs...)
}

func validateSchema(b *protocol.Block, prefix cty.Path, errs *[]error) {
	if b == nil {
		return
	}
	names := b.AttributeNames()
	sort.Strings(names)
	for _, name := range names {
		a := b.Attributes[name]
		where := protocol.PathString(append(prefix.Copy(), cty.GetAttrStep{Name: name}))
		if a == nil {
			*errs = append(*errs, fmt.Errorf("attribute %s: no definition", where))
			continue
		}
		if a.Type == cty.NilType {
			*errs = append(*errs, fmt.Errorf("attribute %s: no type", where))
		}
		switch {
		case a.Required && !a.Optional && !a.Computed:
		case !a.Required && a.Optional && !a.Computed:
		case !a.Required && !a.Optional && a.Computed:
		case !a.Required && a.Optional && a.Computed:
		default:
			*errs = append(*errs, fmt.Errorf("attribute %s: must be exactly one of Required, Optional or Computed, or Optional+Computed (required=%v optional=%v computed=%v)",
				where, a.Required, a.Optional, a.Computed))
		}
		if a.WriteOnly && a.Computed {
			*errs = append(*errs, fmt.Errorf("attribute %s: a write-only attribute cannot be computed: its value is never planned or stored", where))
		}
		if a.ForceNew && a.Computed && !a.Optional {
			*errs = append(*errs, fmt.Errorf("attribute %s: ForceNew on a computed-only attribute has no effect; the configuration cannot change it", where))
		}
		if a.Default != cty.NilVal && !(a.Optional && a.Computed) {
			*errs = append(*errs, fmt.Errorf("attribute %s: a Default needs Optional().Computed(): the provider plans the default when the configuration leaves it unset", where))
		}
		if _, dup := b.BlockTypes[name]; dup {
			*errs = append(*errs, fmt.Errorf("%s: both an attribute and a block type", where))
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		where := protocol.PathString(append(prefix.Copy(), cty.GetAttrStep{Name: name}))
		if nb == nil {
			*errs = append(*errs, fmt.Errorf("block %s: no definition", where))
			continue
		}
		if nb.MinItems < 0 || nb.MaxItems < 0 || (nb.MaxItems > 0 && nb.MinItems > nb.MaxItems) {
			*errs = append(*errs, fmt.Errorf("block %s: invalid item limits min=%d max=%d", where, nb.MinItems, nb.MaxItems))
		}
		if nb.Nesting == protocol.NestingSingle && (nb.MinItems > 1 || nb.MaxItems > 1) {
			*errs = append(*errs, fmt.Errorf("block %s: a single block has at most one item", where))
		}
		validateSchema(&nb.Block, append(prefix.Copy(), cty.GetAttrStep{Name: name}), errs)
	}
}
