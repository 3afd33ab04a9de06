package engine

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/values"
)

// The nodes every walk evaluates the same way: locals, module calls and
// the outputs of modules other than the root. Each evaluates once per
// instance of its module.

// evalLocal evaluates a local value in every instance of module mod.
func (e *Engine) evalLocal(d *evalData, mod addrs.Module, name string) hcl.Diagnostics {
	l := e.cfg.Descendant(mod).Locals[name]
	var diags hcl.Diagnostics
	for _, mi := range d.moduleInstances(mod) {
		v, ds := d.scope(mi, addrs.NoKey, cty.NilVal).EvalExpr(l.Expr, cty.DynamicPseudoType)
		diags = append(diags, ds...)
		d.setLocal(mi, name, v)
	}
	return diags
}

// evalModuleOutput evaluates an output of module mod (not the root) in
// every instance of it, for the calling module's references.
func (e *Engine) evalModuleOutput(d *evalData, mod addrs.Module, name string) hcl.Diagnostics {
	o := e.cfg.Descendant(mod).Outputs[name]
	var diags hcl.Diagnostics
	for _, mi := range d.moduleInstances(mod) {
		v, ds := d.scope(mi, addrs.NoKey, cty.NilVal).EvalExpr(o.Expr, cty.DynamicPseudoType)
		diags = append(diags, ds...)
		if o.Sensitive {
			v = v.Mark(values.Sensitive)
		}
		d.setModuleOutput(mi, name, v)
	}
	return diags
}

// evalModuleCall expands the call of module p in every instance of the
// calling module (count, for_each) and evaluates the variables of each
// instance it makes from the call's arguments.
func (e *Engine) evalModuleCall(d *evalData, p addrs.Module) hcl.Diagnostics {
	child := e.cfg.Descendant(p)
	call := child.Call()
	parent, name, _ := p.Parent()
	var diags hcl.Diagnostics
	for _, in := range d.moduleInstances(parent) {
		exp, keys, each, ds := expandExprs(d.scope(in, addrs.NoKey, cty.NilVal), call.Count, call.ForEach)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		vars := make(map[addrs.InstanceKey]cty.Value, len(keys))
		for _, k := range keys {
			v, ds := e.moduleVariables(d, child, call, in, in.Child(name, k), k, each[k])
			diags = append(diags, ds...)
			vars[k] = v
		}
		d.setCall(in, name, exp, keys, vars)
	}
	return diags
}

// moduleVariables evaluates the variables of module instance mi from the
// arguments of its call (in the calling instance's scope, with the
// call's count.index or each), as CollectVariables does for the root:
// defaults, type conversion, nullable, sensitive and validation.
func (e *Engine) moduleVariables(d *evalData, child *configs.Config, call *configs.ModuleCall, in, mi addrs.ModuleInstance, key addrs.InstanceKey, each cty.Value) (cty.Value, hcl.Diagnostics) {
	scope := d.scope(in, key, each)
	names := make([]string, 0, len(child.Variables))
	for n := range child.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]cty.Value, len(names))
	var diags hcl.Diagnostics
	for _, n := range names {
		v := child.Variables[n]
		a, set := call.Inputs[n]
		if !set {
			val := v.Default
			if val == cty.NilVal {
				val = cty.DynamicVal // reported by the loader
			}
			out[n] = markVariable(v, val)
			continue
		}
		val, ds := scope.EvalExpr(a.Expr, cty.DynamicPseudoType)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			out[n] = cty.DynamicVal
			continue
		}
		if v.TypeDefault != nil {
			val = v.TypeDefault.Apply(val)
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for module variable",
				Detail:   fmt.Sprintf("The value of %q for %s does not match its type: %s. Change the argument, or the variable's type at %s.", n, mi, err, configs.Pos(v.DeclRange)),
				Subject:  a.Expr.Range().Ptr(),
			})
			out[n] = cty.UnknownVal(v.Type)
			continue
		}
		if u, _ := conv.Unmark(); u.IsKnown() && u.IsNull() && !v.Nullable {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Null value for non-nullable variable",
				Detail:   fmt.Sprintf("Variable %q of %s is declared nullable = false; give it a value.", n, mi),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
		conv = markVariable(v, conv)
		for _, vd := range validateVariable(child, v, conv) {
			vd.Detail = mi.String() + ": " + vd.Detail
			diags = append(diags, vd)
		}
		out[n] = conv
	}
	return cty.ObjectVal(out), diags
}

func markVariable(v *configs.Variable, val cty.Value) cty.Value {
	if v.Sensitive {
		return val.Mark(values.Sensitive)
	}
	return val
}

// recordedIn lists the recorded resources (in module instances) whose
// configuration address is r, in address order.
func recordedIn(recorded map[addrs.Resource]*recordedResource, r addrs.Resource) []addrs.Resource {
	if r.Module.IsRoot() {
		if _, ok := recorded[r]; ok {
			return []addrs.Resource{r}
		}
		return nil
	}
	var out []addrs.Resource
	for a := range recorded {
		if a.Config() == r {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}
