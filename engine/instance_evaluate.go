package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/lang"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// configValue is an instance's evaluated configuration, split for the
// provider: the provider sees raw (no marks); sensitive and secrets say
// what to mark in the values it returns.
type configValue struct {
	// raw is the configuration without marks, conforming to the schema.
	raw cty.Value
	// sensitive are the paths to mark sensitive in planned and new values:
	// sensitive in the schema or marked in the configuration.
	sensitive []cty.Path
	// secrets are the sensitive leaf values of the configuration, which a
	// provider may copy into other attributes (output = input).
	secrets []cty.Value
	// marked is the configuration with its marks, for recording where it
	// came from (a rollback's or a pin's configuration).
	marked cty.Value
}

// evaluate evaluates the instance's configuration block in scope.
func (x *instance) evaluate(scope *lang.Scope) (configValue, hcl.Diagnostics) {
	var v cty.Value
	var diags hcl.Diagnostics
	if b := x.body; b != nil && b.cfg == x.cfg && b.schema == x.schema {
		v, diags = scope.EvalBodyRefs(x.cfg.Config, b.spec, b.refs)
	} else {
		v, diags = scope.EvalBody(x.cfg.Config, DecoderSpec(x.schema.Block))
	}
	if diags.HasErrors() {
		return configValue{}, diags
	}
	return splitConfig(x.schema.Block, completeObject(x.schema.Block, v)), diags
}

// recordedConfig is the configuration that reproduces a recorded value:
// the attributes a user can set, with their marks. A rollback plans with
// the configuration of the version it returns to, and a rolled-back
// (pinned) object keeps planning with its own.
func (x *instance) recordedConfig(recorded cty.Value) configValue {
	u, marks := recorded.Unmark()
	return splitConfig(x.schema.Block, configOnly(x.schema.Block, u).WithMarks(marks))
}

// splitConfig separates a configuration value from its sensitive marks.
func splitConfig(b *protocol.Block, v cty.Value) configValue {
	cv := configValue{raw: v, sensitive: b.SensitivePaths(), marked: v}
	if !values.ContainsMarked(v) {
		return cv
	}
	raw, pvm := v.UnmarkDeepWithPaths()
	cv.raw = raw
	for _, pm := range pvm {
		if _, ok := pm.Marks[values.Sensitive]; ok {
			cv.sensitive = append(cv.sensitive, pm.Path)
		}
	}
	cv.secrets = values.SecretLeaves(v)
	return cv
}

// mark puts the configuration's sensitive marks on a value the provider
// returned for it.
func (cv configValue) mark(v cty.Value) cty.Value {
	return values.MarkSecretLeaves(values.MarkPaths(v, cv.sensitive), cv.secrets)
}

// configOnly keeps the attributes a user can set (computed-only ones
// become null), so a recorded object can serve as a configuration.
func configOnly(b *protocol.Block, v cty.Value) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	m := v.AsValueMap()
	for name, a := range b.Attributes {
		if a.Computed && !a.Optional && !a.Required {
			if cur, ok := m[name]; ok {
				m[name] = cty.NullVal(cur.Type())
			}
		}
	}
	return cty.ObjectVal(m)
}

// writeOnlySet lists the paths of the write-only attributes that cfg (a
// configuration of block b) sets: the plan shows them as set, since no
// planned or recorded value holds them.
func writeOnlySet(b *protocol.Block, cfg cty.Value) []cty.Path {
	var out []cty.Path
	writeOnlySetIn(b, cfg, nil, &out)
	return out
}

func writeOnlySetIn(b *protocol.Block, v cty.Value, path cty.Path, out *[]cty.Path) {
	if b == nil || v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return
	}
	for _, name := range b.AttributeNames() {
		if b.Attributes[name].WriteOnly && v.Type().HasAttribute(name) && !v.GetAttr(name).IsNull() {
			*out = append(*out, append(path.Copy(), cty.GetAttrStep{Name: name}))
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		if !v.Type().HasAttribute(name) {
			continue
		}
		nv := v.GetAttr(name)
		p := append(path.Copy(), cty.GetAttrStep{Name: name})
		if nb.Nesting == protocol.NestingSingle {
			writeOnlySetIn(&nb.Block, nv, p, out)
			continue
		}
		if nv.IsNull() || !nv.IsKnown() || !nv.CanIterateElements() {
			continue
		}
		for it := nv.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			writeOnlySetIn(&nb.Block, ev, append(p.Copy(), cty.IndexStep{Key: k}), out)
		}
	}
}
