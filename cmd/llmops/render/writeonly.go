package render

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/plans"
)

// withWriteOnlySet shows the write-only attributes the configuration sets
// (ch.WriteOnlySet) as (sensitive) rather than null: the planned value
// never holds them. Before is marked the same way when it is an object
// that the set replaces or updates, so an unchanged key is no change.
func withWriteOnlySet(ch *plans.ResourceInstanceChange, before, after cty.Value) (cty.Value, cty.Value) {
	if len(ch.WriteOnlySet) == 0 {
		return before, after
	}
	set := func(v cty.Value) cty.Value {
		if v == cty.NilVal || v.IsNull() {
			return v
		}
		out, err := cty.Transform(v, func(p cty.Path, x cty.Value) (cty.Value, error) {
			for _, w := range ch.WriteOnlySet {
				if p.Equals(w) && x.IsNull() {
					return cty.UnknownVal(x.Type()).Mark(sensitiveMarkValue()), nil
				}
			}
			return x, nil
		})
		if err != nil {
			return v
		}
		return out
	}
	return set(before), set(after)
}
