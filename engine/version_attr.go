package engine

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// withVersion sets the computed `version` attribute of a lifecycle kind
// object: the engine owns it (docs/architecture.md, section 2.3: an
// integer that increases with each replacement), providers leave it
// unknown.
func withVersion(ri addrs.ResourceInstance, v cty.Value, version int64) cty.Value {
	if !ri.Resource.IsKind() || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute("version") {
		return v
	}
	if v.Type().AttributeType("version") != cty.Number {
		return v
	}
	if cur := v.GetAttr("version"); cur.IsKnown() && !cur.IsNull() {
		if bf := cur.AsBigFloat(); bf.IsInt() {
			if i, _ := bf.Int64(); i == version {
				return v
			}
		}
	}
	m := v.AsValueMap()
	m["version"] = cty.NumberIntVal(version)
	return cty.ObjectVal(m)
}
