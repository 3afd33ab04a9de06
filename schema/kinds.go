package schema

import (
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// The lifecycle kinds.
const (
	Model          = "model"
	Dataset        = "dataset"
	Prompt         = "prompt"
	TrainingRun    = "training_run"
	Evaluation     = "evaluation"
	EmbeddingIndex = "embedding_index"
	Deployment     = "deployment"
	Monitor        = "monitor"
)

// Kinds lists the lifecycle kinds in lifecycle order.
var Kinds = []string{Model, Dataset, Prompt, TrainingRun, Evaluation, EmbeddingIndex, Deployment, Monitor}

// SchemaVersion is the version of the core schemas. It increases when the
// shape of a kind's recorded state changes.
const SchemaVersion = 0

// IsKind reports whether name is a lifecycle kind.
func IsKind(name string) bool {
	_, ok := builders[name]
	return ok
}

// Kind returns the core schema of a kind, or nil for a name that is not a
// kind. Each call returns a fresh copy that the caller may change.
func Kind(name string) *protocol.Schema {
	b := Block(name)
	if b == nil {
		return nil
	}
	return &protocol.Schema{Version: SchemaVersion, Block: b}
}

// Block returns the core block of a kind (a fresh copy), or nil.
func Block(name string) *protocol.Block {
	f, ok := builders[name]
	if !ok {
		return nil
	}
	return f()
}

// Extend returns the core block of kind with the attributes and nested
// blocks of extra added: how a provider adds its own attributes to a kind.
// A name that the core schema already has is an error: a provider may add
// to a kind but not redefine it.
func Extend(kind string, extra *protocol.Block) (*protocol.Block, error) {
	b := Block(kind)
	if b == nil {
		return nil, fmt.Errorf("%q is not a lifecycle kind; the kinds are %v", kind, Kinds)
	}
	if extra == nil {
		return b, nil
	}
	var clash []string
	for _, name := range Reserved {
		_, a := extra.Attributes[name]
		_, nb := extra.BlockTypes[name]
		if a || nb {
			clash = append(clash, name+" (reserved)")
		}
	}
	for name, a := range extra.Attributes {
		if _, ok := b.Attributes[name]; ok {
			clash = append(clash, name)
			continue
		}
		if _, ok := b.BlockTypes[name]; ok {
			clash = append(clash, name)
			continue
		}
		b.Attributes[name] = a
	}
	for name, nb := range extra.BlockTypes {
		if _, ok := b.Attributes[name]; ok {
			clash = append(clash, name)
			continue
		}
		if _, ok := b.BlockTypes[name]; ok {
			clash = append(clash, name)
			continue
		}
		b.BlockTypes[name] = nb
	}
	if len(clash) > 0 {
		sort.Strings(clash)
		return nil, fmt.Errorf("kind %s: the core schema already defines %v; a provider may add attributes, not redefine them", kind, clash)
	}
	if extra.Description != "" {
		b.Description += "\n\n" + extra.Description
	}
	return b, nil
}

// attribute builder, local to this package so that it depends on the
// protocol types only.
type attr struct{ a protocol.Attribute }

func at(ty cty.Type) *attr                 { return &attr{a: protocol.Attribute{Type: ty}} }
func (x *attr) req() *attr                 { x.a.Required = true; return x }
func (x *attr) opt() *attr                 { x.a.Optional = true; return x }
func (x *attr) comp() *attr                { x.a.Computed = true; return x }
func (x *attr) forceNew() *attr            { x.a.ForceNew = true; return x }
func (x *attr) sensitive() *attr           { x.a.Sensitive = true; return x }
func (x *attr) writeOnly() *attr           { x.a.WriteOnly = true; return x }
func (x *attr) doc(d string) *attr         { x.a.Description = d; return x }
func (x *attr) build() *protocol.Attribute { c := x.a; return &c }

type attrs map[string]*attr

type blocks map[string]*protocol.NestedBlock

func block(desc string, as attrs, bs blocks) *protocol.Block {
	b := &protocol.Block{Description: desc, Attributes: map[string]*protocol.Attribute{}, BlockTypes: map[string]*protocol.NestedBlock{}}
	for n, a := range as {
		b.Attributes[n] = a.build()
	}
	for n, nb := range bs {
		b.BlockTypes[n] = nb
	}
	return b
}

func nested(nesting protocol.Nesting, min, max int, b *protocol.Block) *protocol.NestedBlock {
	return &protocol.NestedBlock{Block: *b, Nesting: nesting, MinItems: min, MaxItems: max}
}

// common returns the computed attributes every kind has; withDigest adds
// `digest`.
func common(as attrs, withDigest bool) attrs {
	as["id"] = at(cty.String).comp().doc("The object's identifier. For artifacts (models, datasets, prompts, indexes) it is an artifact id, `sha256:<hex>`, that every provider can resolve in the artifact store.")
	as["version"] = at(cty.Number).comp().doc("Set by llmops: 1 on creation, increased by each replacement.")
	if withDigest {
		as["digest"] = at(cty.String).comp().doc("The content digest, `sha256:<hex>`.")
	}
	return as
}

// commandAttr is an argv list: never run through a shell.
func commandAttr(what string) *attr {
	return at(cty.List(cty.String)).doc(what + " An argv list (`[\"python3\", \"train.py\"]`), never run through a shell; it runs in the configuration directory under the job contract.")
}

func envAttr() *attr {
	return at(cty.Map(cty.String)).opt().forceNew().doc("Extra environment variables for the command. Part of the job's identity.")
}

// Output types shared by providers.
var (
	// SplitType is the type of one element of a dataset's computed `splits`.
	SplitType = cty.Object(map[string]cty.Type{"path": cty.String, "digest": cty.String, "rows": cty.Number})
)

var builders = map[string]func() *protocol.Block{
	Model:          modelBlock,
	Dataset:        datasetBlock,
	Prompt:         promptBlock,
	TrainingRun:    trainingRunBlock,
	Evaluation:     evaluationBlock,
	EmbeddingIndex: embeddingIndexBlock,
	Deployment:     deploymentBlock,
	Monitor:        monitorBlock,
}
