package engine

import (
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// proposedNew merges the configuration with the prior object: attributes
// the provider computes and the configuration leaves unset keep their
// prior value, so that an unchanged object plans as no change. Attributes
// named in ignore keep their prior value whatever the configuration says.
func proposedNew(b *protocol.Block, prior, config cty.Value, ignore []string) cty.Value {
	if config.IsNull() {
		return config
	}
	if prior.IsNull() || !prior.IsKnown() {
		return config
	}
	v := proposedNewBlock(b, prior, config)
	if len(ignore) > 0 {
		v = applyIgnore(v, prior, ignore)
	}
	return v
}

func proposedNewBlock(b *protocol.Block, prior, config cty.Value) cty.Value {
	if config.IsNull() || !config.IsKnown() || !config.Type().IsObjectType() {
		return config
	}
	if prior.IsNull() || !prior.IsKnown() || !prior.Type().IsObjectType() {
		return config
	}
	out := config.AsValueMap()
	for name, a := range b.Attributes {
		cv := config.GetAttr(name)
		if !prior.Type().HasAttribute(name) {
			continue
		}
		if a.Computed && cv.IsNull() {
			out[name] = prior.GetAttr(name)
		}
	}
	for name, nb := range b.BlockTypes {
		if !prior.Type().HasAttribute(name) {
			continue
		}
		cv, pv := config.GetAttr(name), prior.GetAttr(name)
		switch nb.Nesting {
		case protocol.NestingSingle:
			out[name] = proposedNewBlock(&nb.Block, pv, cv)
		case protocol.NestingList:
			if cv.IsKnown() && pv.IsKnown() && !cv.IsNull() && !pv.IsNull() && cv.LengthInt() == pv.LengthInt() && cv.Type().IsListType() {
				cl, pl := cv.AsValueSlice(), pv.AsValueSlice()
				elems := make([]cty.Value, len(cl))
				for i := range cl {
					elems[i] = proposedNewBlock(&nb.Block, pl[i], cl[i])
				}
				if len(elems) > 0 {
					out[name] = cty.ListVal(elems)
				}
			}
		}
	}
	if out == nil {
		return config
	}
	return cty.ObjectVal(out)
}

// applyIgnore puts back the prior value of each ignored attribute path
// (dotted names, e.g. "input" or "hyperparameters.epochs").
func applyIgnore(v, prior cty.Value, ignore []string) cty.Value {
	for _, ig := range ignore {
		if ig == "*" || ig == "all" {
			return prior
		}
		path := cty.Path{}
		for _, part := range strings.Split(ig, ".") {
			path = path.GetAttr(part)
		}
		pv, err := path.Apply(prior)
		if err != nil {
			continue
		}
		nv, err := cty.Transform(v, func(p cty.Path, cur cty.Value) (cty.Value, error) {
			if p.Equals(path) {
				return pv, nil
			}
			return cur, nil
		})
		if err == nil {
			v = nv
		}
	}
	return v
}

// valuesEqual reports whether a and b are known and equal, ignoring marks.
func valuesEqual(a, b cty.Value) bool {
	return values.Equal(a, b)
}
