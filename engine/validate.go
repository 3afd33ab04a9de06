package engine

import (
	"context"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Validate checks the configuration without reading state or changing
// anything: references, types against each provider's schema, cycles,
// and the providers' own validation. Values that depend on resources are
// unknown, so only what is certain is reported.
func (e *Engine) Validate(ctx context.Context) hcl.Diagnostics {
	diags := e.startProviders(ctx, nil)
	if diags.HasErrors() {
		return diags
	}
	cg, ds := e.buildGraph(ctx, nil)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return diags
	}
	d := e.newEvalData(cg)
	d.unknownResources = func(r addrs.Resource) cty.Value {
		rc := e.cfg.Resource(r)
		if s, ok := cg.schemas[r]; ok && rc.Count == nil && rc.ForEach == nil {
			return cty.UnknownVal(s.Block.ImpliedType())
		}
		return cty.DynamicVal
	}
	var mu = make(chan struct{}, 1)
	add := func(ds hcl.Diagnostics) {
		mu <- struct{}{}
		diags = append(diags, ds...)
		<-mu
	}
	cg.g.Walk(ctx, 0, func(ctx context.Context, n node) graph.Result {
		var ds hcl.Diagnostics
		switch n.kind {
		case nkLocal:
			ds = e.evalLocal(d, n.mod, n.name)
		case nkModule:
			ds = e.validateModuleCall(d, n.mod)
		case nkOutput:
			if n.mod.IsRoot() {
				_, ds = e.evalOutput(d, n.name)
			} else {
				ds = e.evalModuleOutput(d, n.mod, n.name)
			}
		case nkResource:
			ds = e.validateResource(ctx, d, cg, n.res)
		}
		add(ds)
		return graph.OK
	}, nil)
	return diags
}

// validateModuleCall checks a module call's arguments for one
// representative instance of it (its first, or a stand-in when count or
// for_each are not known before apply): the module's blocks are then
// checked once, not once per instance.
func (e *Engine) validateModuleCall(d *evalData, p addrs.Module) hcl.Diagnostics {
	child := e.cfg.Descendant(p)
	call := child.Call()
	parent, name, _ := p.Parent()
	ins := d.moduleInstances(parent)
	if len(ins) == 0 {
		return nil
	}
	in := ins[0]
	exp, keys, each, ds := expandExprs(d.scope(in, addrs.NoKey, cty.NilVal), call.Count, call.ForEach)
	var diags hcl.Diagnostics
	key := addrs.InstanceKey(addrs.NoKey)
	ev := cty.NilVal
	switch {
	case !ds.HasErrors() && len(keys) > 0:
		key, ev = keys[0], each[keys[0]]
	case call.Count != nil:
		key = addrs.IntKey(0)
	case call.ForEach != nil:
		key, ev = addrs.StringKey(""), cty.DynamicVal
	}
	if x := call.Count; ds.HasErrors() {
		// Report what is wrong with a known value; an unknown one waits for plan.
		if x == nil {
			x = call.ForEach
		}
		if xv, xds := d.scope(in, addrs.NoKey, cty.NilVal).EvalExpr(x, cty.DynamicPseudoType); xds.HasErrors() || xv.IsWhollyKnown() {
			diags = append(diags, ds...)
		}
	}
	v, ds := e.moduleVariables(d, child, call, in, in.Child(name, key), key, ev)
	diags = append(diags, ds...)
	d.setCall(in, name, exp, []addrs.InstanceKey{key}, map[addrs.InstanceKey]cty.Value{key: v})
	return diags
}

func (e *Engine) validateResource(ctx context.Context, d *evalData, cg *configGraph, r addrs.Resource) hcl.Diagnostics {
	rc := e.cfg.Resource(r)
	schema := cg.schemas[r]
	if rc == nil || schema == nil {
		return nil
	}
	mis := d.moduleInstances(r.Module.Module())
	if len(mis) == 0 {
		return nil
	}
	mi := mis[0]
	_, diags := e.evalLifecycle(d, rc, mi)
	// count and for_each: check what is known now; unknown values wait for plan.
	if rc.Count != nil {
		_, ds := d.scope(mi, addrs.NoKey, cty.NilVal).EvalExpr(rc.Count, cty.Number)
		diags = append(diags, ds...)
	}
	if rc.ForEach != nil {
		if v, ds := d.scope(mi, addrs.NoKey, cty.NilVal).EvalExpr(rc.ForEach, cty.DynamicPseudoType); ds.HasErrors() {
			diags = append(diags, ds...)
		} else if v.IsWhollyKnown() {
			_, _, _, ds := e.expand(d, rc, mi)
			diags = append(diags, ds...)
		}
	}
	if rc.Placement != nil {
		return append(diags, e.validateCandidates(ctx, d, rc, r, mi)...)
	}
	pi, ds := e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return append(diags, ds...)
	}
	return append(diags, e.validateOn(ctx, d, rc, r, mi, pi, schema)...)
}

// validateOn evaluates an object's body against one provider's schema and
// asks that provider to validate it.
func (e *Engine) validateOn(ctx context.Context, d *evalData, rc *configs.Resource, r addrs.Resource, mi addrs.ModuleInstance, pi *providerInstance, schema *protocol.Schema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	key := addrs.InstanceKey(addrs.NoKey)
	each := cty.NilVal
	switch {
	case rc.Count != nil:
		key = addrs.IntKey(0)
	case rc.ForEach != nil:
		key = addrs.StringKey("")
		each = cty.DynamicVal
	}
	v, ds := d.scope(mi, key, each).EvalBody(rc.Config, DecoderSpec(schema.Block))
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return diags
	}
	if rc.Addr.IsData() {
		return diags // read, not validated, by its provider
	}
	v = completeObject(schema.Block, v)
	raw, _ := v.UnmarkDeep()
	resp := pi.client.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: r.Type, Config: raw,
		SensitivePaths: values.SensitivePaths(v), // issue 13: the provider masks the values at these paths in its logs, errors and files.
	})
	return append(diags, providerDiags(resp.Diagnostics, rc.Config, rc.DeclRange, r.String())...)
}
