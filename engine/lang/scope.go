package lang

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/llmops/llmops/engine/values"
)

// Data supplies the values that references resolve to. Implementations
// return diagnostics for names that are not declared.
type Data interface {
	// Variables returns the object of every input variable's value.
	Variables() cty.Value
	GetLocal(ref LocalRef, rng hcl.Range) (cty.Value, hcl.Diagnostics)
	// GetResource returns the whole value of a resource: an object for a
	// single instance, a tuple for count, an object for for_each.
	GetResource(ref ResourceRef, rng hcl.Range) (cty.Value, hcl.Diagnostics)
	// GetModule returns the value of a module call: an object of its
	// outputs, a tuple of them for count, an object of them by key for
	// for_each.
	GetModule(ref ModuleRef, rng hcl.Range) (cty.Value, hcl.Diagnostics)
}

// Scope evaluates expressions of one block (one instance, when count or
// for_each applies).
type Scope struct {
	Data Data
	// BaseDir is the directory of the module the block is in (path.module,
	// and where file() looks); RootDir the root module's (path.root), the
	// same when empty.
	BaseDir string
	RootDir string
	// Workspace is llmops.workspace ("default" when empty).
	Workspace string
	// CountIndex is set for instances of a counted resource.
	CountIndex *int
	// EachKey/EachValue are set for instances of a for_each resource.
	EachKey   *string
	EachValue cty.Value
}

// EvalContext builds the context for an expression with these references.
func (s *Scope) EvalContext(refs []*Reference) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]cty.Value{}
	locals := map[string]cty.Value{}
	resources := map[string]map[string]cty.Value{}
	data := map[string]map[string]cty.Value{}
	modules := map[string]cty.Value{}
	pathAttrs := map[string]cty.Value{}
	for _, ref := range refs {
		switch subj := ref.Subject.(type) {
		case VarRef:
			if _, ok := vars["var"]; !ok {
				vars["var"] = s.Data.Variables()
			}
			if !vars["var"].Type().HasAttribute(subj.Name) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared input variable",
					Detail:   fmt.Sprintf("An input variable named %q is not declared. Add a variable %q block, or correct the name.", subj.Name, subj.Name),
					Subject:  ref.Range.Ptr(),
				})
			}
		case LocalRef:
			v, ds := s.Data.GetLocal(subj, ref.Range)
			diags = append(diags, ds...)
			locals[subj.Name] = v
		case ResourceRef:
			v, ds := s.Data.GetResource(subj, ref.Range)
			diags = append(diags, ds...)
			byType := resources
			if subj.Resource.IsData() {
				byType = data
			}
			m := byType[subj.Resource.Type]
			if m == nil {
				m = map[string]cty.Value{}
				byType[subj.Resource.Type] = m
			}
			m[subj.Resource.Name] = v
		case ModuleRef:
			if _, done := modules[subj.Name]; done {
				continue
			}
			v, ds := s.Data.GetModule(subj, ref.Range)
			diags = append(diags, ds...)
			modules[subj.Name] = v
		case CountRef:
			if s.CountIndex == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to count in a block without count",
					Detail:   "count.index is available only in a block that sets the count argument.",
					Subject:  ref.Range.Ptr(),
				})
				continue
			}
			if subj.Attr != "index" {
				diags = append(diags, badAttr("count", subj.Attr, "index", ref.Range))
				continue
			}
			vars["count"] = cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(*s.CountIndex))})
		case EachRef:
			if s.EachKey == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to each in a block without for_each",
					Detail:   "each.key and each.value are available only in a block that sets the for_each argument.",
					Subject:  ref.Range.Ptr(),
				})
				continue
			}
			if subj.Attr != "key" && subj.Attr != "value" {
				diags = append(diags, badAttr("each", subj.Attr, "key or value", ref.Range))
				continue
			}
			vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(*s.EachKey), "value": s.EachValue})
		case LlmopsRef:
			diags = append(diags, s.llmopsVar(subj, ref.Range, vars)...)
		case PathRef:
			switch subj.Attr {
			case "module":
				pathAttrs[subj.Attr] = cty.StringVal(s.BaseDir)
			case "root":
				root := s.RootDir
				if root == "" {
					root = s.BaseDir
				}
				pathAttrs[subj.Attr] = cty.StringVal(root)
			case "cwd":
				wd, _ := filepath.Abs(".")
				pathAttrs["cwd"] = cty.StringVal(wd)
			default:
				diags = append(diags, badAttr("path", subj.Attr, "root, module or cwd", ref.Range))
			}
		}
	}
	if len(locals) > 0 {
		vars["local"] = cty.ObjectVal(locals)
	}
	if len(pathAttrs) > 0 {
		vars["path"] = cty.ObjectVal(pathAttrs)
	}
	if len(data) > 0 {
		vars["data"] = objectOfObjects(data)
	}
	if len(modules) > 0 {
		vars["module"] = cty.ObjectVal(modules)
	}
	for typ, m := range resources {
		vars[typ] = cty.ObjectVal(m)
	}
	return &hcl.EvalContext{Variables: vars, Functions: Functions(s.BaseDir)}, diags
}

func badAttr(root, attr, want string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s attribute", root),
		Detail:   fmt.Sprintf("%s has no attribute %q; use %s.", root, attr, want),
		Subject:  rng.Ptr(),
	}
}

// EvalExpr evaluates expr and converts it to want (cty.DynamicPseudoType
// for no conversion).
func (s *Scope) EvalExpr(expr hcl.Expression, want cty.Type) (cty.Value, hcl.Diagnostics) {
	refs, diags := ExprReferences(expr)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	ctx, ds := s.EvalContext(refs)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, ds := expr.Value(ctx)
	diags = append(diags, ds...)
	if want != cty.DynamicPseudoType && !ds.HasErrors() {
		cv, err := convert.Convert(v, want)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity:   hcl.DiagError,
				Summary:    "Incorrect value type",
				Detail:     fmt.Sprintf("This value must be %s, not %s (%s). Change the expression so that it gives %s.", want.FriendlyName(), v.Type().FriendlyName(), err, want.FriendlyName()),
				Subject:    expr.Range().Ptr(),
				Expression: expr,
			})
			return cty.UnknownVal(want), diags
		}
		v = cv
	}
	return v, diags
}

// EvalBody decodes body with spec, resolving every reference in it.
func (s *Scope) EvalBody(body hcl.Body, spec hcldec.Spec) (cty.Value, hcl.Diagnostics) {
	refs, diags := References(hcldec.Variables(body, spec))
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, ds := s.EvalBodyRefs(body, spec, refs)
	return v, append(diags, ds...)
}

// EvalBodyRefs is EvalBody for a body whose references under spec are
// known already (References of hcldec.Variables(body, spec)): a block
// evaluated once per instance, or at plan and again at apply, is analysed
// once.
func (s *Scope) EvalBodyRefs(body hcl.Body, spec hcldec.Spec, refs []*Reference) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ctx, ds := s.EvalContext(refs)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, ds := hcldec.Decode(body, spec, ctx)
	return values.NormalizeNumbers(v), append(diags, ds...)
}

// llmopsVar sets llmops.workspace.
func (s *Scope) llmopsVar(ref LlmopsRef, rng hcl.Range, vars map[string]cty.Value) hcl.Diagnostics {
	if ref.Attr != "workspace" {
		return hcl.Diagnostics{badAttr("llmops", ref.Attr, "workspace", rng)}
	}
	ws := s.Workspace
	if ws == "" {
		ws = "default"
	}
	vars["llmops"] = cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal(ws)})
	return nil
}

// objectOfObjects is {type: {name: value}} as an object of objects.
func objectOfObjects(m map[string]map[string]cty.Value) cty.Value {
	out := make(map[string]cty.Value, len(m))
	for k, inner := range m {
		out[k] = cty.ObjectVal(inner)
	}
	return cty.ObjectVal(out)
}
