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
	d := newEvalData(e.cfg, e.opts.Variables)
	d.unknownResources = func(r addrs.Resource) cty.Value {
		rc := e.cfg.Resources[r]
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
			ds = e.evalLocal(d, n.name)
		case nkOutput:
			_, ds = e.evalOutput(d, n.name)
		case nkResource:
			ds = e.validateResource(ctx, d, cg, n.res)
		}
		add(ds)
		return graph.OK
	}, nil)
	return diags
}

func (e *Engine) validateResource(ctx context.Context, d *evalData, cg *configGraph, r addrs.Resource) hcl.Diagnostics {
	rc := e.cfg.Resources[r]
	schema := cg.schemas[r]
	if rc == nil || schema == nil {
		return nil
	}
	_, diags := e.evalLifecycle(d, rc)
	// count and for_each: check what is known now; unknown values wait for plan.
	if rc.Count != nil {
		_, ds := d.scope(addrs.NoKey, cty.NilVal).EvalExpr(rc.Count, cty.Number)
		diags = append(diags, ds...)
	}
	if rc.ForEach != nil {
		if v, ds := d.scope(addrs.NoKey, cty.NilVal).EvalExpr(rc.ForEach, cty.DynamicPseudoType); ds.HasErrors() {
			diags = append(diags, ds...)
		} else if v.IsWhollyKnown() {
			_, _, _, ds := e.expand(d, rc)
			diags = append(diags, ds...)
		}
	}
	if rc.Placement != nil {
		return append(diags, e.validateCandidates(ctx, d, rc)...)
	}
	pi, ds := e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return append(diags, ds...)
	}
	return append(diags, e.validateOn(ctx, d, rc, pi, schema)...)
}

// validateOn evaluates an object's body against one provider's schema and
// asks that provider to validate it.
func (e *Engine) validateOn(ctx context.Context, d *evalData, rc *configs.Resource, pi *providerInstance, schema *protocol.Schema) hcl.Diagnostics {
	r := rc.Addr
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
	v, ds := d.scope(key, each).EvalBody(rc.Config, DecoderSpec(schema.Block))
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return diags
	}
	v = completeObject(schema.Block, v)
	raw, _ := v.UnmarkDeep()
	resp := pi.client.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: r.Type, Config: raw,
		SensitivePaths: values.SensitivePaths(v), // issue 13: the provider masks the values at these paths in its logs, errors and files.
	})
	return append(diags, providerDiags(resp.Diagnostics, rc.Config, rc.DeclRange, r.String())...)
}
