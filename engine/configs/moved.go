package configs

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
)

// Moved is a `moved { from = ..., to = ... }` block: the object recorded
// at From is the one the configuration now declares at To (a renamed
// block, a block moved into or out of a module, into or out of count or
// for_each). Both are relative to the module that declares the block.
type Moved struct {
	From, To           addrs.MoveEndpoint
	FromRange, ToRange hcl.Range
	DeclRange          hcl.Range
}

var movedSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "from", Required: true}, {Name: "to", Required: true}}}

func (c *Config) addMoved(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(movedSchema)
	if diags.HasErrors() {
		return diags
	}
	m := &Moved{DeclRange: b.DefRange}
	var ok1, ok2 bool
	m.From, m.FromRange, ok1 = moveEndpoint(content.Attributes["from"], &diags)
	m.To, m.ToRange, ok2 = moveEndpoint(content.Attributes["to"], &diags)
	if !ok1 || !ok2 {
		return diags
	}
	switch {
	case m.From.IsModule != m.To.IsModule:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid moved block",
			Detail:   fmt.Sprintf("%s and %s are not the same kind of thing: a module moves to a module, a resource or an instance to a resource or an instance.", m.From, m.To),
			Subject:  m.ToRange.Ptr(),
		})
	case !m.From.IsModule && m.From.Instance.Resource.Type != m.To.Instance.Resource.Type:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid moved block",
			Detail:   fmt.Sprintf("%s is a %s and %s a %s: an object keeps its type when it moves.", m.From, m.From.Instance.Resource.Type, m.To, m.To.Instance.Resource.Type),
			Subject:  m.ToRange.Ptr(),
		})
	case m.From.String() == m.To.String():
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid moved block",
			Detail:   fmt.Sprintf("from and to are both %s: remove the block.", m.From),
			Subject:  b.DefRange.Ptr(),
		})
	}
	if !diags.HasErrors() {
		c.Moved = append(c.Moved, m)
	}
	return diags
}

func moveEndpoint(a *hcl.Attribute, diags *hcl.Diagnostics) (addrs.MoveEndpoint, hcl.Range, bool) {
	tr, ds := hcl.AbsTraversalForExpr(a.Expr)
	if ds.HasErrors() {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid moved address",
			Detail:   fmt.Sprintf("%s takes an address without quotes, such as training_run.ft, module.bot[\"en\"].training_run.ft or module.bot.", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
		return addrs.MoveEndpoint{}, a.Expr.Range(), false
	}
	rng := a.Expr.Range()
	e, err := addrs.ParseMoveEndpoint(traversalText(tr))
	if err != nil {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid moved address", Detail: err.Error() + ".", Subject: rng.Ptr()})
		return e, rng, false
	}
	return e, rng, true
}

// traversalText writes a traversal back as an address.
func traversalText(tr hcl.Traversal) string {
	var b strings.Builder
	for i, st := range tr {
		switch s := st.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			if i > 0 {
				b.WriteString(".")
			}
			b.WriteString(s.Name)
		case hcl.TraverseIndex:
			k, err := addrs.KeyFromValue(s.Key)
			if err == nil {
				b.WriteString(k.String())
			}
		}
	}
	return b.String()
}
