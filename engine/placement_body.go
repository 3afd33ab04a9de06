package engine

import (
	"context"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/lang"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Provider-specific settings of a placed object (issue 17): a block or an
// attribute that some candidate's schema defines (aws {}, kubernetes {},
// Slurm's partition, qos, retry {}) is accepted in the object's block,
// and each candidate sees only what its own schema defines. A name that
// no candidate defines is refused by each, as any unknown argument is.

// candidateSchemas returns the resource type's schema on each candidate
// that offers it, in candidate order.
func (e *Engine) candidateSchemas(ctx context.Context, rc *configs.Resource) []*protocol.Schema {
	var out []*protocol.Schema
	for _, c := range rc.Placement.Candidates {
		pi, err := e.providers.get(ctx, c)
		if err != nil {
			continue
		}
		if s, ds := pi.resourceSchema(rc.Addr.Type, nil); !ds.HasErrors() {
			out = append(out, s)
		}
	}
	return out
}

// forCandidate returns rc with its body as a candidate with schema s sees
// it: what only other candidates define is hidden. Objects without a
// placement block are returned as they are.
func (e *Engine) forCandidate(ctx context.Context, rc *configs.Resource, s *protocol.Schema) *configs.Resource {
	if rc == nil || rc.Placement == nil || s == nil || s.Block == nil {
		return rc
	}
	hb := hideBody{Body: rc.Config, attrs: map[string]bool{}, blocks: map[string]*protocol.NestedBlock{}}
	for _, o := range e.candidateSchemas(ctx, rc) {
		if o.Block == nil {
			continue
		}
		for n := range o.Block.Attributes {
			if !defines(s.Block, n) {
				hb.attrs[n] = true
			}
		}
		for n, nb := range o.Block.BlockTypes {
			if !defines(s.Block, n) {
				hb.blocks[n] = nb
			}
		}
	}
	if len(hb.attrs) == 0 && len(hb.blocks) == 0 {
		return rc
	}
	c := *rc
	c.Config = hb
	return &c
}

func defines(b *protocol.Block, name string) bool {
	_, a := b.Attributes[name]
	_, nb := b.BlockTypes[name]
	return a || nb
}

// candidateRefs returns the references of a placed object's body as every
// candidate reads it (a reference inside aws {} counts although the first
// candidate has no such block).
func (e *Engine) candidateRefs(ctx context.Context, rc *configs.Resource) ([]*lang.Reference, hcl.Diagnostics) {
	var refs []*lang.Reference
	var diags hcl.Diagnostics
	for _, s := range e.candidateSchemas(ctx, rc) {
		r, ds := lang.References(hcldec.Variables(e.forCandidate(ctx, rc, s).Config, DecoderSpec(s.Block)))
		refs = append(refs, r...)
		diags = append(diags, ds...)
	}
	return refs, diags
}

// hideBody is a body without some attributes and blocks: they are
// accepted (so the candidate's decoding does not refuse them) and left
// out of what it reads.
type hideBody struct {
	hcl.Body
	attrs  map[string]bool
	blocks map[string]*protocol.NestedBlock
}

func (b hideBody) extend(s *hcl.BodySchema) *hcl.BodySchema {
	out := &hcl.BodySchema{Attributes: slices.Clone(s.Attributes), Blocks: slices.Clone(s.Blocks)}
	for n := range b.attrs {
		out.Attributes = append(out.Attributes, hcl.AttributeSchema{Name: n})
	}
	for n, nb := range b.blocks {
		h := hcl.BlockHeaderSchema{Type: n}
		if nb.Nesting == protocol.NestingMap {
			h.LabelNames = []string{"key"}
		}
		out.Blocks = append(out.Blocks, h)
	}
	return out
}

func (b hideBody) strip(c *hcl.BodyContent) *hcl.BodyContent {
	if c == nil {
		return c
	}
	for n := range b.attrs {
		delete(c.Attributes, n)
	}
	kept := c.Blocks[:0:0]
	for _, bl := range c.Blocks {
		if _, hidden := b.blocks[bl.Type]; !hidden {
			kept = append(kept, bl)
		}
	}
	c.Blocks = kept
	return c
}

func (b hideBody) Content(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := b.Body.Content(b.extend(s))
	return b.strip(c), diags
}

func (b hideBody) PartialContent(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	c, rest, diags := b.Body.PartialContent(b.extend(s))
	return b.strip(c), rest, diags
}

func (b hideBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	as, diags := b.Body.JustAttributes()
	for n := range b.attrs {
		delete(as, n)
	}
	return as, diags
}

// validateCandidates validates a placed object on every candidate, each
// reading the body as its schema defines it; what a candidate refuses is
// reported once, naming the candidate.
func (e *Engine) validateCandidates(ctx context.Context, d *evalData, rc *configs.Resource, r addrs.Resource, mi addrs.ModuleInstance) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, c := range rc.Placement.Candidates {
		pi, err := e.providers.get(ctx, c)
		if err != nil {
			continue // reported when the providers start
		}
		s, ds := pi.resourceSchema(rc.Addr.Type, nil)
		if ds.HasErrors() {
			continue // a rejection reason when placing
		}
		for _, dg := range e.validateOn(ctx, d, e.forCandidate(ctx, rc, s), r, mi, pi, s) {
			key := dg.Summary + "\x00" + dg.Detail
			if dg.Subject != nil {
				key += "\x00" + dg.Subject.String()
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			if len(rc.Placement.Candidates) > 1 {
				dg.Detail += " (placement candidate " + c.String() + ")"
			}
			diags = append(diags, dg)
		}
	}
	return diags
}
