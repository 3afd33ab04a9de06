package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// providerDiags converts provider diagnostics into HCL diagnostics, giving
// each one with an attribute path the source range of that attribute in
// body (or of the block, when the attribute is not written there).
func providerDiags(pds protocol.Diagnostics, body hcl.Body, block hcl.Range, what string) hcl.Diagnostics {
	if len(pds) == 0 {
		return nil
	}
	out := make(hcl.Diagnostics, 0, len(pds))
	for _, pd := range pds {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: pd.Summary, Detail: pd.Detail}
		if pd.Severity == protocol.Warning {
			d.Severity = hcl.DiagWarning
		}
		rng := block
		if len(pd.Attribute) > 0 {
			if r, ok := pathRange(body, pd.Attribute); ok {
				rng = r
			}
			if d.Detail == "" {
				d.Detail = "The problem is with " + protocol.PathString(pd.Attribute) + " of " + what + "."
			}
		}
		if rng.Filename != "" {
			d.Subject = rng.Ptr()
		}
		out = append(out, d)
	}
	return out
}

// pathRange finds the source range of the attribute at path in body.
func pathRange(body hcl.Body, path cty.Path) (hcl.Range, bool) {
	if hb, ok := body.(hideBody); ok {
		body = hb.Body // a placed object's body as one candidate sees it
	}
	sb, ok := body.(*hclsyntax.Body)
	if !ok || len(path) == 0 {
		return hcl.Range{}, false
	}
	step, ok := path[0].(cty.GetAttrStep)
	if !ok {
		return hcl.Range{}, false
	}
	if a, ok := sb.Attributes[step.Name]; ok {
		return exprPathRange(a.Expr, path[1:]), true
	}
	var blocks []*hclsyntax.Block
	for _, b := range sb.Blocks {
		if b.Type == step.Name {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) == 0 {
		return hcl.Range{}, false
	}
	rest := path[1:]
	b := blocks[0]
	if len(rest) > 0 {
		if ix, ok := rest[0].(cty.IndexStep); ok {
			rest = rest[1:]
			if ix.Key.Type() == cty.Number && ix.Key.IsKnown() {
				i, _ := ix.Key.AsBigFloat().Int64()
				if int(i) < len(blocks) && i >= 0 {
					b = blocks[i]
				}
			} else if ix.Key.Type() == cty.String && ix.Key.IsKnown() {
				for _, bb := range blocks {
					if len(bb.Labels) > 0 && bb.Labels[0] == ix.Key.AsString() {
						b = bb
					}
				}
			}
		}
	}
	if len(rest) > 0 {
		if r, ok := pathRange(b.Body, rest); ok {
			return r, true
		}
	}
	return b.DefRange(), true
}

// exprPathRange narrows to an item of an object or tuple constructor when
// the path goes inside the expression.
func exprPathRange(expr hclsyntax.Expression, path cty.Path) hcl.Range {
	if len(path) == 0 {
		return expr.Range()
	}
	switch x := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		var key string
		switch s := path[0].(type) {
		case cty.GetAttrStep:
			key = s.Name
		case cty.IndexStep:
			if s.Key.Type() == cty.String && s.Key.IsKnown() {
				key = s.Key.AsString()
			}
		}
		for _, item := range x.Items {
			kv, diags := item.KeyExpr.Value(nil)
			if diags.HasErrors() || kv.Type() != cty.String || kv.AsString() != key {
				continue
			}
			return exprPathRange(item.ValueExpr, path[1:])
		}
	case *hclsyntax.TupleConsExpr:
		if s, ok := path[0].(cty.IndexStep); ok && s.Key.Type() == cty.Number && s.Key.IsKnown() {
			i, _ := s.Key.AsBigFloat().Int64()
			if i >= 0 && int(i) < len(x.Exprs) {
				return exprPathRange(x.Exprs[i], path[1:])
			}
		}
	}
	return expr.Range()
}
