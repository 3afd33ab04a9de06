package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/lang"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// VarsFileSuffix is the suffix of automatically loaded variable files.
const VarsFileSuffix = ".llmops.vars"

// EnvVarPrefix prefixes environment variables that set input variables.
const EnvVarPrefix = "LLMOPS_VAR_"

// VarSource is one source of input variable values on the command line,
// in the order given: a -var NAME=VALUE or a -var-file PATH.
type VarSource struct {
	// File is set for -var-file.
	File string
	// Name and Value are set for -var.
	Name, Value string
}

// CollectVariables resolves every declared variable's value. Precedence,
// lowest first: the default, *.llmops.vars files in the configuration
// directory (lexical order), the -var-file and -var flags in command-line
// order, then LLMOPS_VAR_<name> environment variables (docs/architecture.md,
// section 2.2: last wins). Values are converted to the type constraint,
// validated, and marked sensitive where the variable is.
func CollectVariables(cfg *configs.Config, cli []VarSource, environ []string) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	raw := map[string]rawValue{}

	entries, _ := os.ReadDir(cfg.Dir)
	var auto []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), VarsFileSuffix) {
			auto = append(auto, filepath.Join(cfg.Dir, e.Name()))
		}
	}
	sort.Strings(auto)
	for _, f := range auto {
		diags = append(diags, loadVarsFile(cfg, f, raw, false)...)
	}
	for _, src := range cli {
		if src.File != "" {
			p := src.File
			if !filepath.IsAbs(p) {
				p = filepath.Join(cfg.Dir, p)
			}
			diags = append(diags, loadVarsFile(cfg, p, raw, true)...)
			continue
		}
		if _, ok := cfg.Variables[src.Name]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("-var sets %q, but the configuration declares no variable %q. Declare it with a variable block, or correct the name.", src.Name, src.Name),
			})
			continue
		}
		raw[src.Name] = rawValue{str: src.Value, isString: true, source: "-var " + src.Name}
	}
	for _, kv := range environ {
		if !strings.HasPrefix(kv, EnvVarPrefix) {
			continue
		}
		name, val, _ := strings.Cut(strings.TrimPrefix(kv, EnvVarPrefix), "=")
		if _, ok := cfg.Variables[name]; !ok {
			continue
		}
		raw[name] = rawValue{str: val, isString: true, source: "environment variable " + EnvVarPrefix + name}
	}

	out := make(map[string]cty.Value, len(cfg.Variables))
	names := make([]string, 0, len(cfg.Variables))
	for n := range cfg.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := cfg.Variables[name]
		val, ds := finalizeVariable(v, raw[name])
		diags = append(diags, ds...)
		if v.Sensitive {
			val = val.Mark(values.Sensitive)
		}
		out[name] = val
	}
	if !diags.HasErrors() {
		for _, name := range names {
			diags = append(diags, validateVariable(cfg, cfg.Variables[name], out[name])...)
		}
	}
	return out, diags
}

type rawValue struct {
	set      bool
	val      cty.Value
	rng      *hcl.Range
	str      string
	isString bool
	source   string
}

func loadVarsFile(cfg *configs.Config, path string, raw map[string]rawValue, explicit bool) hcl.Diagnostics {
	src, err := os.ReadFile(path)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file", Detail: fmt.Sprintf("%s. Check the -var-file path.", err)}}
	}
	name := path
	if rel, err := filepath.Rel(cfg.Dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		name = rel
	}
	cfg.Sources[name] = src
	if diags := configs.CheckNesting(src, name); diags.HasErrors() {
		return diags
	}
	f, diags := hclparse.NewParser().ParseHCL(src, name)
	if diags.HasErrors() {
		return diags
	}
	attrs, ds := f.Body.JustAttributes()
	diags = append(diags, ds...)
	for n, a := range attrs {
		if _, ok := cfg.Variables[n]; !ok {
			sev := hcl.DiagWarning
			if explicit {
				sev = hcl.DiagError
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: sev,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The file sets %q, but the configuration declares no variable %q. Declare it, or remove the line.", n, n),
				Subject:  a.NameRange.Ptr(),
			})
			continue
		}
		v, ds := a.Expr.Value(nil)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		raw[n] = rawValue{set: true, val: v, rng: a.Expr.Range().Ptr(), source: name}
	}
	return diags
}

func finalizeVariable(v *configs.Variable, rv rawValue) (cty.Value, hcl.Diagnostics) {
	var val cty.Value
	switch {
	case rv.isString:
		// A primitive type takes the text as it is, converted like a
		// vars file's string: -var epochs=two gets the same type error
		// as epochs = "two". Only collections and structures are parsed
		// as expressions (-var 'tags=["a", "b"]').
		if v.Type == cty.DynamicPseudoType || v.Type.IsPrimitiveType() {
			val = cty.StringVal(rv.str)
			break
		}
		if diags := configs.CheckNesting([]byte(rv.str), rv.source); diags.HasErrors() {
			return cty.DynamicVal, diags
		}
		expr, diags := hclsyntax.ParseExpression([]byte(rv.str), rv.source, hcl.InitialPos)
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			return cty.DynamicVal, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail: fmt.Sprintf("The value of %q from %s is not a valid %s: %s. Write it as in a vars file, with strings quoted: -var '%s=%s'.",
					v.Name, rv.source, typeexpr.TypeString(v.Type), strings.TrimSuffix(diags[0].Detail, "."), v.Name, exampleOf(v.Type)),
			}}
		}
	case rv.set:
		val = rv.val
	case v.Required():
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No value for required variable",
			Detail:   fmt.Sprintf("The variable %q has no default, so a value is required. Set it with -var %s=VALUE, a %s file, or the %s%s environment variable.", v.Name, v.Name, VarsFileSuffix, EnvVarPrefix, v.Name),
			Subject:  v.DeclRange.Ptr(),
		}}
	default:
		return v.Default, nil
	}
	if v.TypeDefault != nil {
		val = v.TypeDefault.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.UnknownVal(v.Type), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value of %q from %s does not match its type %s: %s.", v.Name, rv.source, typeexpr.TypeString(v.Type), err),
			Subject:  rv.rng,
		}}
	}
	if conv.IsNull() && !v.Nullable {
		return cty.UnknownVal(v.Type), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Null value for non-nullable variable",
			Detail:   fmt.Sprintf("The variable %q is declared nullable = false; give it a value.", v.Name),
			Subject:  rv.rng,
		}}
	}
	return conv, nil
}

// exampleOf is an example value of a collection or structural type, for
// an error about a -var value.
func exampleOf(ty cty.Type) string {
	if ty.IsMapType() || ty.IsObjectType() {
		return `{ key = "value" }`
	}
	return `["a", "b"]`
}

// sensitiveText is the set of the texts of v's primitive parts, for
// scrubbing a message built from a sensitive value.
func sensitiveText(v cty.Value) *scrub.Set {
	set := scrub.New()
	raw, _ := v.UnmarkDeep()
	_ = cty.Walk(raw, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.IsKnown() && !x.IsNull() {
			switch x.Type() {
			case cty.String:
				set.Add(x.AsString())
			case cty.Number:
				set.Add(x.AsBigFloat().Text('f', -1))
			}
		}
		return true, nil
	})
	return set
}

// messageWithoutSecrets evaluates a message template part by part, each
// interpolation whose value is sensitive (marked) written "(sensitive)".
func messageWithoutSecrets(expr hcl.Expression, ctx *hcl.EvalContext, def string) string {
	part := func(e hcl.Expression) (string, bool) {
		v, ds := e.Value(ctx)
		if ds.HasErrors() || !v.IsKnown() || v.IsNull() {
			return "", false
		}
		if v.ContainsMarked() {
			return scrub.Mask, true
		}
		s, err := convert.Convert(v, cty.String)
		if err != nil {
			return "", false
		}
		return s.AsString(), true
	}
	var parts []hcl.Expression
	switch t := expr.(type) {
	case *hclsyntax.TemplateExpr:
		for _, p := range t.Parts {
			parts = append(parts, p)
		}
	default:
		parts = []hcl.Expression{expr}
	}
	var b strings.Builder
	for _, p := range parts {
		s, ok := part(p)
		if !ok {
			return def
		}
		b.WriteString(s)
	}
	return b.String()
}

func validateVariable(cfg *configs.Config, v *configs.Variable, val cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: val})},
		Functions: lang.Functions(cfg.Dir),
	}
	for _, vl := range v.Validations {
		res, ds := vl.Condition.Value(ctx)
		if ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		res, _ = res.Unmark()
		if !res.IsKnown() {
			continue
		}
		if res.IsNull() || res.Type() != cty.Bool {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid validation condition",
				Detail:   "The condition must be a bool, true when the value is valid.",
				Subject:  vl.Condition.Range().Ptr(),
			})
			continue
		}
		if res.True() {
			continue
		}
		msg := "The value is not valid."
		if v.Sensitive || val.ContainsMarked() {
			// A message that interpolates the value (or anything made
			// from it) shows (sensitive) there.
			msg = sensitiveText(val).String(messageWithoutSecrets(vl.ErrorMessage, ctx, msg))
		} else if m, ds := vl.ErrorMessage.Value(ctx); !ds.HasErrors() {
			if m, _ = m.Unmark(); m.Type() == cty.String && m.IsKnown() && !m.IsNull() {
				msg = m.AsString()
			}
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("var.%s: %s\n\nThis was checked by the validation rule at %s.", v.Name, msg, configs.Pos(vl.DeclRange)),
			Subject:  vl.Condition.Range().Ptr(),
		})
	}
	return diags
}
