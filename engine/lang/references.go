package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
)

// Subject is what a reference points at.
type Subject interface {
	String() string
	subject()
}

// VarRef is `var.NAME`.
type VarRef struct{ Name string }

// LocalRef is `local.NAME`.
type LocalRef struct{ Name string }

// ResourceRef is `TYPE.NAME` (a kind or a resource type).
type ResourceRef struct{ Resource addrs.Resource }

// ModuleRef is `module.NAME`, with the output named after it when the
// reference says which (`module.bot.endpoint`, `module.bot["en"].endpoint`);
// Output is empty for a reference to the whole module.
type ModuleRef struct {
	Name   string
	Output string
}

// CountRef is `count.ATTR`.
type CountRef struct{ Attr string }

// EachRef is `each.ATTR`.
type EachRef struct{ Attr string }

// LlmopsRef is `llmops.ATTR` (llmops.workspace).
type LlmopsRef struct{ Attr string }

// PathRef is `path.ATTR`.
type PathRef struct{ Attr string }

func (r VarRef) String() string      { return "var." + r.Name }
func (r LocalRef) String() string    { return "local." + r.Name }
func (r ResourceRef) String() string { return r.Resource.String() }
func (r CountRef) String() string    { return "count." + r.Attr }
func (r ModuleRef) String() string {
	if r.Output == "" {
		return "module." + r.Name
	}
	return "module." + r.Name + "." + r.Output
}
func (r EachRef) String() string   { return "each." + r.Attr }
func (r PathRef) String() string   { return "path." + r.Attr }
func (r LlmopsRef) String() string { return "llmops." + r.Attr }
func (VarRef) subject()            {}
func (LocalRef) subject()          {}
func (ResourceRef) subject()       {}
func (CountRef) subject()          {}
func (ModuleRef) subject()         {}
func (EachRef) subject()           {}
func (PathRef) subject()           {}
func (LlmopsRef) subject()         {}

// Reference is a parsed reference with its source range.
type Reference struct {
	Subject   Subject
	Range     hcl.Range
	Remaining hcl.Traversal
}

// ParseRef parses one traversal found in an expression.
func ParseRef(tr hcl.Traversal) (*Reference, hcl.Diagnostics) {
	root := tr.RootName()
	rng := tr.SourceRange()
	attr := func(kind string) (string, hcl.Traversal, hcl.Diagnostics) {
		if len(tr) < 2 {
			return "", nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid %s reference", root),
				Detail:   fmt.Sprintf("A reference to %s must name one, such as %s.NAME.", kind, root),
				Subject:  rng.Ptr(),
			}}
		}
		a, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			return "", nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid %s reference", root),
				Detail:   fmt.Sprintf("A reference to %s is %s.NAME, with a dot, not an index.", kind, root),
				Subject:  tr[1].SourceRange().Ptr(),
			}}
		}
		return a.Name, tr[2:], nil
	}
	var subj Subject
	var rest hcl.Traversal
	var diags hcl.Diagnostics
	switch root {
	case "var":
		var n string
		n, rest, diags = attr("an input variable")
		subj = VarRef{Name: n}
		rng = hcl.RangeBetween(tr[0].SourceRange(), tr[min(1, len(tr)-1)].SourceRange())
	case "local":
		var n string
		n, rest, diags = attr("a local value")
		subj = LocalRef{Name: n}
		rng = hcl.RangeBetween(tr[0].SourceRange(), tr[min(1, len(tr)-1)].SourceRange())
	case "count":
		var n string
		n, rest, diags = attr("count")
		subj = CountRef{Attr: n}
	case "each":
		var n string
		n, rest, diags = attr("each")
		subj = EachRef{Attr: n}
	case "path":
		var n string
		n, rest, diags = attr("path")
		subj = PathRef{Attr: n}
	case "llmops":
		var n string
		n, rest, diags = attr("llmops")
		subj = LlmopsRef{Attr: n}
	case "module":
		return parseModuleRef(tr)
	case "data":
		return parseDataRef(tr)
	case "self", "terraform":
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Unsupported reference %q", root),
			Detail:   fmt.Sprintf("References to %s.* are not supported by llmops. Refer to var.NAME, local.NAME, KIND.NAME.ATTR or TYPE.NAME.ATTR.", root),
			Subject:  rng.Ptr(),
		}}
	default:
		if root == "resource" && len(tr) >= 2 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				tr = append(hcl.Traversal{hcl.TraverseRoot{Name: a.Name, SrcRange: a.SrcRange}}, tr[2:]...)
				root = a.Name
			}
		}
		if !addrs.IsKind(root) && !strings.Contains(root, "_") {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Reference to undeclared object %q", root),
				Detail:   fmt.Sprintf("%q is not a known name. A reference starts with var, local, count, each, path, a lifecycle kind (%s) or a resource type such as null_value.", root, strings.Join(addrs.Kinds, ", ")),
				Subject:  tr[0].SourceRange().Ptr(),
			}}
		}
		var n string
		n, rest, diags = attr("a " + root)
		subj = ResourceRef{Resource: addrs.Resource{Type: root, Name: n}}
		rng = hcl.RangeBetween(tr[0].SourceRange(), tr[min(1, len(tr)-1)].SourceRange())
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &Reference{Subject: subj, Range: rng, Remaining: rest}, nil
}

// References parses every traversal; invalid ones become diagnostics.
func References(trs []hcl.Traversal) ([]*Reference, hcl.Diagnostics) {
	var out []*Reference
	var diags hcl.Diagnostics
	for _, tr := range trs {
		r, ds := ParseRef(tr)
		diags = append(diags, ds...)
		if r != nil {
			out = append(out, r)
		}
	}
	return out, diags
}

// ExprReferences returns the references of an expression (nil-safe).
func ExprReferences(expr hcl.Expression) ([]*Reference, hcl.Diagnostics) {
	if expr == nil {
		return nil, nil
	}
	return References(expr.Variables())
}

// parseModuleRef parses module.NAME, module.NAME.OUTPUT and
// module.NAME[KEY].OUTPUT.
func parseModuleRef(tr hcl.Traversal) (*Reference, hcl.Diagnostics) {
	if len(tr) < 2 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid module reference",
			Detail: "A reference to a module must name one, such as module.NAME.OUTPUT.", Subject: tr.SourceRange().Ptr()}}
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid module reference",
			Detail: "A reference to a module is module.NAME, with a dot, not an index.", Subject: tr[1].SourceRange().Ptr()}}
	}
	ref := ModuleRef{Name: a.Name}
	end := 1
	if len(tr) > 2 {
		if _, ok := tr[2].(hcl.TraverseIndex); ok {
			end = 2
		}
	}
	if end+1 < len(tr) {
		if o, ok := tr[end+1].(hcl.TraverseAttr); ok {
			ref.Output = o.Name
		}
	}
	return &Reference{Subject: ref, Range: hcl.RangeBetween(tr[0].SourceRange(), tr[end].SourceRange()), Remaining: tr[2:]}, nil
}

// parseDataRef parses data.TYPE.NAME.
func parseDataRef(tr hcl.Traversal) (*Reference, hcl.Diagnostics) {
	bad := func() (*Reference, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid data reference",
			Detail: "A reference to a data source is data.TYPE.NAME, with dots, such as data.model.base.digest.", Subject: tr.SourceRange().Ptr()}}
	}
	if len(tr) < 3 {
		return bad()
	}
	typ, ok1 := tr[1].(hcl.TraverseAttr)
	name, ok2 := tr[2].(hcl.TraverseAttr)
	if !ok1 || !ok2 {
		return bad()
	}
	r := addrs.Resource{Mode: addrs.DataResourceMode, Type: typ.Name, Name: name.Name}
	return &Reference{Subject: ResourceRef{Resource: r}, Range: hcl.RangeBetween(tr[0].SourceRange(), tr[2].SourceRange()), Remaining: tr[3:]}, nil
}
