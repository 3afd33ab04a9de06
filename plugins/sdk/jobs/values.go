package jobs

import (
	"encoding/json"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// NumberMap converts metrics to a cty map of numbers (an empty map, not
// null, when there are none).
func NumberMap(m map[string]float64) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.Number)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.NumberFloatVal(v)
	}
	return cty.MapVal(vals)
}

// FloatMap reads a map(number) attribute; nil when null or unknown.
func FloatMap(v cty.Value) map[string]float64 {
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	out := map[string]float64{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() {
			f, _ := e.AsBigFloat().Float64()
			out[k.AsString()] = f
		}
	}
	return out
}

// ToJSON renders a configuration value (hyperparameters) as JSON for
// LLMOPS_HPARAMS; a null value gives nil.
func ToJSON(v cty.Value) (json.RawMessage, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	v, _ = v.UnmarkDeep()
	return ctyjson.Marshal(v, v.Type())
}
