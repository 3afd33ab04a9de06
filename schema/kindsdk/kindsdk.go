package kindsdk

import (
	"fmt"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

// Block returns the sdk form of a kind's core schema with extra's
// attributes and blocks added. It panics when kind is not a kind or extra
// redefines a core name: both are mistakes in the provider's code, found by
// its first test.
func Block(kind string, extra sdk.Block) sdk.Block {
	pb, err := schema.Extend(kind, extra.Build())
	if err != nil {
		panic(fmt.Sprintf("kindsdk: %v", err))
	}
	out := FromProtocol(pb)
	keepCoreState(out, schema.Block(kind))
	// The provider's own attributes keep what it declared.
	for name, a := range extra.Attributes {
		out.Attributes[name] = a
	}
	for name, nb := range extra.Blocks {
		out.Blocks[name] = nb
	}
	return out
}

// keepCoreState declares the core computed attributes of a kind
// UseStateForUnknown: they follow from inputs that force a replacement
// (a job's outputs from its command and inputs, an artifact's digest from
// its content) or are set once (id, endpoint), so an update in place
// keeps them. A provider whose update does change one says so in its
// ModifyPlan (the local provider plans a deployment's new revision as
// unknown), and the engine holds it to what it planned.
func keepCoreState(b sdk.Block, core *protocol.Block) {
	for name, a := range core.Attributes {
		if a.Computed {
			if x := b.Attributes[name]; x != nil {
				x.UseStateForUnknown()
			}
		}
	}
	for name, nb := range core.BlockTypes {
		if x := b.Blocks[name]; x != nil {
			keepCoreState(x.Inner(), &nb.Block)
		}
	}
}

// FromProtocol converts a protocol block into an sdk.Block with the same
// attributes, modes, nesting and limits.
func FromProtocol(b *protocol.Block) sdk.Block {
	out := sdk.Block{Description: b.Description, Attributes: sdk.Attributes{}, Blocks: sdk.Blocks{}}
	for name, a := range b.Attributes {
		x := sdk.Attr(a.Type).Description(a.Description)
		if a.Required {
			x.Required()
		}
		if a.Optional {
			x.Optional()
		}
		if a.Computed {
			x.Computed()
		}
		if a.Sensitive {
			x.Sensitive()
		}
		if a.ForceNew {
			x.ForceNew()
		}
		if a.WriteOnly {
			x.WriteOnly()
		}
		out.Attributes[name] = x
	}
	for name, nb := range b.BlockTypes {
		inner := FromProtocol(&nb.Block)
		var n *sdk.NestedBlock
		switch nb.Nesting {
		case protocol.NestingList:
			n = sdk.ListBlock(inner)
		case protocol.NestingSet:
			n = sdk.SetBlock(inner)
		case protocol.NestingMap:
			n = sdk.MapBlock(inner)
		default:
			n = sdk.SingleBlock(inner)
		}
		out.Blocks[name] = n.MinItems(nb.MinItems).MaxItems(nb.MaxItems)
	}
	return out
}
