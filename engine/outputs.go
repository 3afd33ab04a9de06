package engine

import (
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// outputChanges compares evaluated outputs with the recorded ones.
func outputChanges(cfg *configs.Config, prev []*state.Output, now map[string]cty.Value, destroy bool, sealer values.Sealer) []*plans.OutputChange {
	before := map[string]cty.Value{}
	for _, o := range prev {
		v, err := values.DecodeOutput(o.ValueJSON, o.TypeJSON, o.Sensitive, sealer)
		if err != nil && v == cty.NilVal {
			continue
		}
		before[o.Name] = v
	}
	var out []*plans.OutputChange
	names := map[string]bool{}
	for n := range before {
		names[n] = true
	}
	for n := range cfg.Outputs {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		b, hadBefore := before[n]
		a, hasNow := now[n]
		oc := &plans.OutputChange{Name: n}
		if o, ok := cfg.Outputs[n]; ok {
			oc.Sensitive = o.Sensitive
		}
		if destroy || (!hasNow && cfg.Outputs[n] == nil) {
			if !hadBefore {
				continue
			}
			oc.Action, oc.Before, oc.After = plans.Delete, b, cty.NullVal(cty.DynamicPseudoType)
			out = append(out, oc)
			continue
		}
		if !hasNow {
			continue
		}
		switch {
		case !hadBefore && bothNull(a, cty.NullVal(cty.DynamicPseudoType)):
			// A null output is not recorded, so it was not before either:
			// no change (it showed as "~ name = null -> null").
			oc.Action, oc.Before, oc.After = plans.NoOp, cty.NullVal(cty.DynamicPseudoType), a
		case !hadBefore:
			oc.Action, oc.Before, oc.After = plans.Create, cty.NullVal(cty.DynamicPseudoType), a
		case valuesEqual(a, b):
			oc.Action, oc.Before, oc.After = plans.NoOp, b, a
		default:
			oc.Action, oc.Before, oc.After = plans.Update, b, a
		}
		out = append(out, oc)
	}
	return out
}

// encodeOutputs prepares output values for the state. Unknown outputs
// (from a failed apply) are left out.
func encodeOutputs(cfg *configs.Config, vals map[string]cty.Value, sealer values.Sealer) ([]*state.Output, error) {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*state.Output
	for _, n := range names {
		v := vals[n]
		raw, _ := v.UnmarkDeep()
		if !raw.IsWhollyKnown() {
			continue
		}
		sensitive := values.IsSensitive(v)
		if o, ok := cfg.Outputs[n]; ok && o.Sensitive {
			sensitive = true
		}
		vj, tj, err := values.EncodeOutput(raw, sensitive, sealer)
		if err != nil {
			return nil, fmt.Errorf("output %s is sensitive and no state key is configured to seal it. %s", n, secretsHelp)
		}
		out = append(out, &state.Output{Name: n, ValueJSON: vj, TypeJSON: tj, Sensitive: sensitive})
	}
	return out, nil
}

// bothNull reports whether a and b are known nulls, whatever their types.
func bothNull(a, b cty.Value) bool {
	ua, _ := a.UnmarkDeep()
	ub, _ := b.UnmarkDeep()
	return ua.IsKnown() && ub.IsKnown() && ua.IsNull() && ub.IsNull()
}
