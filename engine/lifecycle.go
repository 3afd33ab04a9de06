package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/lang"
)

// lifecycle is a resource's evaluated lifecycle block.
type lifecycle struct {
	preventDestroy      bool
	createBeforeDestroy bool
	ignore              []string
}

// evalLifecycle evaluates the lifecycle expressions, which may use
// variables and locals.
func (e *Engine) evalLifecycle(d *evalData, r *configs.Resource, mod addrs.ModuleInstance) (lifecycle, hcl.Diagnostics) {
	var lc lifecycle
	var diags hcl.Diagnostics
	scope := d.scope(mod, addrs.NoKey, cty.NilVal)
	boolAttr := func(expr hcl.Expression, name string) bool {
		if expr == nil {
			return false
		}
		v, ds := scope.EvalExpr(expr, cty.Bool)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return false
		}
		v, _ = v.Unmark()
		if !v.IsKnown() || v.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid %s value", name),
				Detail:   fmt.Sprintf("lifecycle.%s must be known when planning: use a literal, a variable or a local value, not a value that is known only after apply.", name),
				Subject:  expr.Range().Ptr(),
			})
			return false
		}
		return v.True()
	}
	lc.preventDestroy = boolAttr(r.Lifecycle.PreventDestroy, "prevent_destroy")
	lc.createBeforeDestroy = boolAttr(r.Lifecycle.CreateBeforeDestroy, "create_before_destroy")
	if x := r.Lifecycle.IgnoreChanges; x != nil {
		if list, ok := staticIgnoreList(x); ok {
			lc.ignore = list
		} else {
			v, ds := scope.EvalExpr(x, cty.DynamicPseudoType)
			diags = append(diags, ds...)
			v, _ = v.UnmarkDeep()
			switch {
			case ds.HasErrors():
			case v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() == "all":
				lc.ignore = []string{"all"}
			case (v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) && v.IsWhollyKnown():
				for it := v.ElementIterator(); it.Next(); {
					_, ev := it.Element()
					if ev.Type() != cty.String || ev.IsNull() {
						diags = append(diags, badIgnore(x))
						break
					}
					lc.ignore = append(lc.ignore, ev.AsString())
				}
			default:
				diags = append(diags, badIgnore(x))
			}
		}
	}
	return lc, diags
}

func badIgnore(x hcl.Expression) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid ignore_changes value",
		Detail:   `ignore_changes takes a list of attribute names ([input, triggers_replace]), a list of strings from a variable or local (["input"]), or all.`,
		Subject:  x.Range().Ptr(),
	}
}

// expand evaluates the count or for_each of a resource in module
// instance mod. It returns the keys with the each.value of every
// for_each key.
func (e *Engine) expand(d *evalData, r *configs.Resource, mod addrs.ModuleInstance) (expansion, []addrs.InstanceKey, map[addrs.InstanceKey]cty.Value, hcl.Diagnostics) {
	return expandExprs(d.scope(mod, addrs.NoKey, cty.NilVal), r.Count, r.ForEach)
}

// expandExprs evaluates count or for_each (of a resource or a module
// call) in scope.
func expandExprs(scope *lang.Scope, count, forEach hcl.Expression) (expansion, []addrs.InstanceKey, map[addrs.InstanceKey]cty.Value, hcl.Diagnostics) {
	r := struct{ Count, ForEach hcl.Expression }{count, forEach}
	switch {
	case r.Count != nil:
		v, diags := scope.EvalExpr(r.Count, cty.Number)
		if diags.HasErrors() {
			return expandCount, nil, nil, diags
		}
		v, _ = v.Unmark()
		if !v.IsKnown() {
			return expandCount, nil, nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid count argument",
				Detail:   "The count value depends on values that are known only after apply. Use variables or locals for count, or apply the dependency first with -target.",
				Subject:  r.Count.Range().Ptr(),
			}}
		}
		if v.IsNull() {
			return expandCount, nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid count argument", Detail: "count must not be null.", Subject: r.Count.Range().Ptr()}}
		}
		n, acc := v.AsBigFloat().Int64()
		if acc != 0 || n < 0 {
			return expandCount, nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid count argument", Detail: "count must be a whole number, zero or more.", Subject: r.Count.Range().Ptr()}}
		}
		keys := make([]addrs.InstanceKey, n)
		for i := range keys {
			keys[i] = addrs.IntKey(i)
		}
		return expandCount, keys, nil, nil
	case r.ForEach != nil:
		v, diags := scope.EvalExpr(r.ForEach, cty.DynamicPseudoType)
		if diags.HasErrors() {
			return expandForEach, nil, nil, diags
		}
		if v.IsMarked() {
			return expandForEach, nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each argument", Detail: "for_each keys become part of addresses shown everywhere, so they cannot be sensitive.", Subject: r.ForEach.Range().Ptr()}}
		}
		if !v.IsWhollyKnown() {
			return expandForEach, nil, nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid for_each argument",
				Detail:   "The for_each value depends on values that are known only after apply. Use variables or locals for for_each, or apply the dependency first with -target.",
				Subject:  r.ForEach.Range().Ptr(),
			}}
		}
		ty := v.Type()
		each := map[addrs.InstanceKey]cty.Value{}
		var keys []addrs.InstanceKey
		switch {
		case v.IsNull():
			return expandForEach, nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each argument", Detail: "for_each must not be null.", Subject: r.ForEach.Range().Ptr()}}
		case ty.IsMapType() || ty.IsObjectType():
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				key := addrs.StringKey(k.AsString())
				keys = append(keys, key)
				each[key] = ev
			}
		case ty.IsSetType() && ty.ElementType() == cty.String:
			for it := v.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				if ev.IsNull() {
					return expandForEach, nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each argument", Detail: "for_each sets must not contain null.", Subject: r.ForEach.Range().Ptr()}}
				}
				key := addrs.StringKey(ev.AsString())
				keys = append(keys, key)
				each[key] = ev
			}
		default:
			return expandForEach, nil, nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid for_each argument",
				Detail:   fmt.Sprintf("for_each takes a map or a set of strings, not %s. Convert a list with toset(...).", ty.FriendlyName()),
				Subject:  r.ForEach.Range().Ptr(),
			}}
		}
		return expandForEach, keys, each, nil
	}
	return expandSingle, []addrs.InstanceKey{addrs.NoKey}, nil, nil
}
