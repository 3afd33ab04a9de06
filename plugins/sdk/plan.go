package sdk

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// planner computes the framework's planned state from the proposed new
// state (the configuration, with the prior values of computed attributes
// it leaves unset, as the engine proposes it): a computed attribute the
// configuration leaves unset is unknown on create, keeps its prior value
// when nothing changes, and on an update that changes something is
// unknown unless it is declared UseStateForUnknown (keep). Everything
// else is taken from proposed (the configuration, as the engine adjusted
// it, e.g. for ignore_changes). Write-only attributes plan as null.
type planner struct {
	keep    map[string]bool
	create  bool
	changed bool
}

func (pl planner) object(b *protocol.Block, prefix string, prior, config, proposed cty.Value) cty.Value {
	if proposed.IsNull() || !proposed.IsKnown() || !proposed.Type().IsObjectType() {
		return proposed
	}
	if prior == cty.NilVal || prior.IsNull() || !prior.IsKnown() {
		pl.create = true
	}
	attrs := proposed.AsValueMap()
	if attrs == nil {
		attrs = map[string]cty.Value{}
	}
	for name, a := range b.Attributes {
		if a.WriteOnly {
			attrs[name] = cty.NullVal(a.Type)
			continue
		}
		if !a.Computed {
			continue
		}
		if cfg := attrOf(config, name); cfg != cty.NilVal && !cfg.IsNull() {
			continue
		}
		pv := attrOf(prior, name)
		switch {
		case a.Default != cty.NilVal:
			attrs[name] = a.Default // unset: the declared default
		case pl.create || pv == cty.NilVal:
			attrs[name] = cty.UnknownVal(a.Type)
		case !pl.changed || pl.keep[prefix+name]:
			attrs[name] = pv
		default:
			attrs[name] = cty.UnknownVal(a.Type)
		}
	}
	for name, nb := range b.BlockTypes {
		pv, ok := attrs[name]
		if !ok || pv.IsNull() || !pv.IsKnown() {
			continue
		}
		attrs[name] = pl.nested(nb, prefix+name+".", attrOf(prior, name), attrOf(config, name), pv)
	}
	return cty.ObjectVal(attrs)
}

func (pl planner) nested(nb *protocol.NestedBlock, prefix string, prior, config, proposed cty.Value) cty.Value {
	if prior == cty.NilVal || prior.IsNull() || !prior.IsKnown() {
		pl.create = true
	}
	ty := proposed.Type()
	switch {
	case nb.Nesting == protocol.NestingSingle:
		return pl.object(&nb.Block, prefix, prior, config, proposed)
	case ty.IsSetType():
		if !pl.create {
			return proposed // no reliable way to pair set elements; keep the engine's proposal
		}
		fallthrough
	case ty.IsListType() || ty.IsTupleType() || ty.IsMapType() || ty.IsObjectType():
		if proposed.LengthInt() == 0 {
			return proposed
		}
		var elems []cty.Value
		keyed := map[string]cty.Value{}
		for it := proposed.ElementIterator(); it.Next(); {
			k, e := it.Element()
			var pe, ce cty.Value
			if !pl.create {
				pe = indexOf(prior, k)
			}
			ce = indexOf(config, k)
			if ty.IsSetType() {
				ce = e
			}
			ne := pl.object(&nb.Block, prefix, pe, ce, e)
			elems = append(elems, ne)
			if k.Type() == cty.String {
				keyed[k.AsString()] = ne
			}
		}
		switch {
		case ty.IsListType():
			return cty.ListVal(elems)
		case ty.IsSetType():
			return cty.SetVal(elems)
		case ty.IsTupleType():
			return cty.TupleVal(elems)
		case ty.IsMapType():
			return cty.MapVal(keyed)
		default:
			return cty.ObjectVal(keyed)
		}
	}
	return proposed
}

// planCreate plans the object as new (a replacement's create).
func (ri *resourceInfo) planCreate(config, proposed cty.Value) cty.Value {
	return planner{keep: ri.keep, create: true, changed: true}.object(ri.block, "", cty.NilVal, config, proposed)
}

// attrOf returns v.name, or cty.NilVal when v is null, unknown or lacks it.
func attrOf(v cty.Value, name string) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return v.GetAttr(name)
}

// indexOf returns v[k] for lists, tuples, maps and objects, or cty.NilVal.
func indexOf(v cty.Value, k cty.Value) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return cty.NilVal
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		if k.Type() == cty.String && ty.HasAttribute(k.AsString()) {
			return v.GetAttr(k.AsString())
		}
	case ty.IsListType() || ty.IsTupleType() || ty.IsMapType():
		if v.HasIndex(k).True() {
			return v.Index(k)
		}
	}
	return cty.NilVal
}

// requiresReplace lists the ForceNew attributes whose planned value differs
// from the prior value (an unknown planned value counts as a change). A
// change inside a set block, which cannot be paired element by element,
// is reported at the block.
func requiresReplace(b *protocol.Block, prior, planned cty.Value, path cty.Path, out *[]cty.Path) {
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		if !a.ForceNew {
			continue
		}
		if changed(attrOf(prior, name), attrOf(planned, name)) {
			*out = append(*out, append(path.Copy(), cty.GetAttrStep{Name: name}))
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		if !hasForceNew(&nb.Block) {
			continue
		}
		p := append(path.Copy(), cty.GetAttrStep{Name: name})
		pv, nv := attrOf(prior, name), attrOf(planned, name)
		if !changed(pv, nv) {
			continue
		}
		switch {
		case pv == cty.NilVal || nv == cty.NilVal || pv.IsNull() || nv.IsNull() || !nv.IsKnown():
			*out = append(*out, p)
		case nb.Nesting == protocol.NestingSingle:
			requiresReplace(&nb.Block, pv, nv, p, out)
		case nb.Nesting == protocol.NestingSet || pv.LengthInt() != nv.LengthInt():
			*out = append(*out, p)
		default:
			for it := nv.ElementIterator(); it.Next(); {
				k, e := it.Element()
				pe := indexOf(pv, k)
				if pe == cty.NilVal {
					*out = append(*out, p)
					return
				}
				requiresReplace(&nb.Block, pe, e, append(p.Copy(), cty.IndexStep{Key: k}), out)
			}
		}
	}
}

func changed(a, b cty.Value) bool {
	if a == cty.NilVal || b == cty.NilVal {
		return a != b
	}
	a, _ = a.UnmarkDeep()
	b, _ = b.UnmarkDeep()
	if !b.IsWhollyKnown() {
		return true
	}
	eq := a.Equals(b)
	return !eq.IsKnown() || eq.False()
}

func hasForceNew(b *protocol.Block) bool {
	for _, a := range b.Attributes {
		if a.ForceNew {
			return true
		}
	}
	for _, nb := range b.BlockTypes {
		if hasForceNew(&nb.Block) {
			return true
		}
	}
	return false
}

// proposedNew builds a proposed new state when the caller sent none: the
// configuration, with computed attributes the configuration leaves unset
// taken from the prior state.
func proposedNew(b *protocol.Block, prior, config cty.Value) cty.Value {
	if config == cty.NilVal || config.IsNull() {
		return config
	}
	return planner{keep: allComputed, changed: false}.object(b, "", prior, config, config)
}

// allComputed keeps every prior value (with changed false it is not read).
var allComputed = map[string]bool{}
