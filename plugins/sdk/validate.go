package sdk

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// validateBlock checks a configuration value against its schema: required
// attributes set, computed-only attributes unset, block counts within
// limits. Unknown values pass. Each problem carries its attribute path.
func validateBlock(b *protocol.Block, v cty.Value, path cty.Path, diags *Diagnostics) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return
	}
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		if !v.Type().HasAttribute(name) {
			continue
		}
		av := v.GetAttr(name)
		p := append(path.Copy(), cty.GetAttrStep{Name: name})
		switch {
		case a.Required && av.IsNull():
			diags.AttrErrorf(p, "Missing required argument",
				"The argument %q is required, but no definition was found.", protocol.PathString(p))
		case a.Computed && !a.Optional && !av.IsNull():
			diags.AttrErrorf(p, "Invalid argument",
				"The argument %q is set by the provider and cannot be set in configuration. Remove it.", protocol.PathString(p))
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		if !v.Type().HasAttribute(name) {
			continue
		}
		bv := v.GetAttr(name)
		p := append(path.Copy(), cty.GetAttrStep{Name: name})
		if !bv.IsKnown() {
			continue
		}
		n := 0
		if !bv.IsNull() {
			if nb.Nesting == protocol.NestingSingle {
				n = 1
			} else {
				n = bv.LengthInt()
			}
		}
		if nb.MinItems > 0 && n < nb.MinItems {
			diags.AttrErrorf(p, "Missing required block",
				"At least %d %q block%s required, %d found.", nb.MinItems, name, plural(nb.MinItems, " is", "s are"), n)
		}
		if nb.MaxItems > 0 && n > nb.MaxItems {
			diags.AttrErrorf(p, "Too many blocks",
				"At most %d %q block%s allowed, %d found.", nb.MaxItems, name, plural(nb.MaxItems, " is", "s are"), n)
		}
		if bv.IsNull() {
			continue
		}
		switch nb.Nesting {
		case protocol.NestingSingle:
			validateBlock(&nb.Block, bv, p, diags)
		case protocol.NestingSet:
			for it := bv.ElementIterator(); it.Next(); {
				_, e := it.Element()
				validateBlock(&nb.Block, e, p, diags)
			}
		default:
			for it := bv.ElementIterator(); it.Next(); {
				k, e := it.Element()
				validateBlock(&nb.Block, e, append(p.Copy(), cty.IndexStep{Key: k}), diags)
			}
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// unknownPaths lists the paths of unknown values inside v.
func unknownPaths(v cty.Value) []cty.Path {
	var out []cty.Path
	_ = cty.Walk(v, func(p cty.Path, x cty.Value) (bool, error) {
		if !x.IsKnown() {
			out = append(out, p.Copy())
			return false, nil
		}
		return true, nil
	})
	return out
}

// unknownsToNull replaces every unknown inside v with a null of its type.
func unknownsToNull(v cty.Value) cty.Value {
	if v.IsWhollyKnown() {
		return v
	}
	out, _ := cty.Transform(v, func(_ cty.Path, x cty.Value) (cty.Value, error) {
		if !x.IsKnown() {
			return cty.NullVal(x.Type()), nil
		}
		return x, nil
	})
	return out
}

func pathList(ps []cty.Path) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", protocol.PathString(p))
	}
	return s
}
