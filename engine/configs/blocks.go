package configs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/llmops/llmops/addrs"
)

func hclValidIdentifier(s string) bool { return hclsyntax.ValidIdentifier(s) }

func badName(what, name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s name %q", what, name),
		Detail:   "A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.",
		Subject:  rng.Ptr(),
	}
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}},
}

func (c *Config) addVariable(b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	if !validIdent(name) {
		return hcl.Diagnostics{badName("variable", name, b.LabelRanges[0])}
	}
	if prev, ok := c.Variables[name]; ok {
		return hcl.Diagnostics{duplicate("variable", name, prev.DeclRange, b.DefRange.Ptr())}
	}
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, Default: cty.NilVal, Nullable: true, DeclRange: b.DefRange}
	content, diags := b.Body.Content(variableSchema)
	if a, ok := content.Attributes["type"]; ok {
		ty, def, ds := typeexpr.TypeConstraintWithDefaults(a.Expr)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			v.Type, v.TypeDefault = ty, def
		}
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Description)...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Sensitive)...)
	}
	if a, ok := content.Attributes["nullable"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Nullable)...)
	}
	if a, ok := content.Attributes["default"]; ok {
		val, ds := a.Expr.Value(nil)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			if v.TypeDefault != nil {
				val = v.TypeDefault.Apply(val)
			}
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("The default value of variable %q does not match its type constraint %s: %s. Change the default or the type.", name, typeexpr.TypeString(v.Type), err),
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				v.Default = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		vc, ds := vb.Body.Content(validationSchema)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		val := &Validation{Condition: vc.Attributes["condition"].Expr, ErrorMessage: vc.Attributes["error_message"].Expr, DeclRange: vb.DefRange}
		for _, tr := range val.Condition.Variables() {
			if tr.RootName() != "var" || len(tr) < 2 {
				diags = append(diags, invalidValidationRef(name, tr))
				continue
			}
			if a, ok := tr[1].(hcl.TraverseAttr); !ok || a.Name != name {
				diags = append(diags, invalidValidationRef(name, tr))
			}
		}
		v.Validations = append(v.Validations, val)
	}
	c.Variables[name] = v
	return diags
}

func invalidValidationRef(name string, tr hcl.Traversal) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference in variable validation",
		Detail:   fmt.Sprintf("The condition of a validation block of variable %q may refer only to var.%s.", name, name),
		Subject:  tr.SourceRange().Ptr(),
	}
}

func (c *Config) addLocals(b *hcl.Block) hcl.Diagnostics {
	attrs, diags := b.Body.JustAttributes()
	for name, a := range attrs {
		if prev, ok := c.Locals[name]; ok {
			diags = append(diags, duplicate("local value", name, prev.DeclRange, a.NameRange.Ptr()))
			continue
		}
		c.Locals[name] = &Local{Name: name, Expr: a.Expr, DeclRange: a.Range}
	}
	return diags
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"}, {Name: "depends_on"}},
}

func (c *Config) addOutput(b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	if !validIdent(name) {
		return hcl.Diagnostics{badName("output", name, b.LabelRanges[0])}
	}
	if prev, ok := c.Outputs[name]; ok {
		return hcl.Diagnostics{duplicate("output", name, prev.DeclRange, b.DefRange.Ptr())}
	}
	content, diags := b.Body.Content(outputSchema)
	o := &Output{Name: name, DeclRange: b.DefRange}
	if a, ok := content.Attributes["value"]; ok {
		o.Expr = a.Expr
	} else {
		o.Expr = hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), b.DefRange)
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &o.Description)...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &o.Sensitive)...)
	}
	if a, ok := content.Attributes["depends_on"]; ok {
		trs, ds := decodeDependsOn(a)
		diags = append(diags, ds...)
		o.DependsOn = trs
	}
	c.Outputs[name] = o
	return diags
}

var providerMetaSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "alias"}}}

func (c *Config) addProvider(b *hcl.Block) hcl.Diagnostics {
	typ := b.Labels[0]
	if !validIdent(typ) {
		return hcl.Diagnostics{badName("provider", typ, b.LabelRanges[0])}
	}
	content, rest, diags := b.Body.PartialContent(providerMetaSchema)
	addr := addrs.ProviderConfig{Type: typ}
	if a, ok := content.Attributes["alias"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &addr.Alias)...)
		if addr.Alias != "" && !validIdent(addr.Alias) {
			return append(diags, badName("provider alias", addr.Alias, a.Expr.Range()))
		}
	}
	if prev, ok := c.ProviderConfigs[addr]; ok {
		return append(diags, duplicate("provider configuration", addr.String(), prev.DeclRange, b.DefRange.Ptr()))
	}
	c.ProviderConfigs[addr] = &Provider{Addr: addr, Config: rest, DeclRange: b.DefRange}
	return diags
}

var artifactsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "path"}, {Name: "url"}, {Name: "endpoint"}, {Name: "path_style"}, {Name: "region"}, {Name: "profile"},
}}

// credentialNames are attributes people put credentials in: refused with
// advice, since llmops never reads credentials from configuration files.
var credentialNames = map[string]bool{
	"access_key": true, "access_key_id": true, "secret_key": true, "secret_access_key": true,
	"session_token": true, "token": true, "password": true, "username": true, "credentials": true,
}

func (c *Config) addArtifacts(b *hcl.Block) hcl.Diagnostics {
	if c.Artifacts != nil {
		return hcl.Diagnostics{duplicateBlock("artifacts", "The configuration", c.Artifacts.DeclRange, b.DefRange.Ptr())}
	}
	var diags hcl.Diagnostics
	if attrs, _ := b.Body.JustAttributes(); attrs != nil {
		names := make([]string, 0, len(attrs))
		for name := range attrs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if a := attrs[name]; credentialNames[name] {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Credentials in the artifacts block",
					// No Subject: a rendered snippet would print the value.
					Detail: fmt.Sprintf("%s (%s:%d) cannot be set here: llmops never reads credentials from configuration files (they would end up in git). "+
						"Remove it, and give credentials the standard way: for s3://, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or `profile`, an instance role; "+
						"for oci://, docker login (or oras login) to the registry.", name, a.NameRange.Filename, a.NameRange.Start.Line),
				})
			}
		}
	}
	content, cdiags := b.Body.Content(artifactsSchema)
	for _, d := range cdiags {
		if d.Summary == "Unsupported argument" && d.Subject != nil && diags.HasErrors() && mentionsCredential(d.Detail) {
			continue // said above, with advice
		}
		diags = append(diags, d)
	}
	a := &Artifacts{DeclRange: b.DefRange}
	for name, dst := range map[string]*hcl.Expression{
		"path": &a.Path, "url": &a.URL, "endpoint": &a.Endpoint, "path_style": &a.PathStyle, "region": &a.Region, "profile": &a.Profile,
	} {
		if attr, ok := content.Attributes[name]; ok {
			*dst = attr.Expr
		}
	}
	c.Artifacts = a
	return diags
}

func mentionsCredential(detail string) bool {
	for name := range credentialNames {
		if strings.Contains(detail, `"`+name+`"`) {
			return true
		}
	}
	return false
}

func decodeDependsOn(a *hcl.Attribute) ([]hcl.Traversal, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(a.Expr)
	var out []hcl.Traversal
	for _, e := range exprs {
		tr, ds := hcl.AbsTraversalForExpr(e)
		if ds.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on reference",
				Detail:   "Each element of depends_on must be a reference to a resource or lifecycle object, such as training_run.ft or null_value.r, without quotes.",
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		out = append(out, tr)
	}
	return out, diags
}
