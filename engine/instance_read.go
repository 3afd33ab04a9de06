package engine

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// readData is the executor's step for a data source instance: it reads
// the data source through its provider, with the configuration evaluated
// by the evaluate step (wholly known), and returns its value with the
// configuration's sensitive marks. Nothing is recorded: a data source is
// read again by every plan.
func (x *instance) readData(ctx context.Context, cv configValue) (cty.Value, hcl.Diagnostics) {
	dp, ok := x.prov.client.(protocol.DataSourceProvider)
	if !ok {
		return x.unknown(), hcl.Diagnostics{x.noDataSources()}
	}
	x.e.hooks.PreRefresh(x.addr)
	resp := dp.ReadDataSource(ctx, protocol.ReadDataSourceRequest{TypeName: x.typ(), Config: cv.raw})
	if resp.Unsupported {
		return x.unknown(), hcl.Diagnostics{x.noDataSources()}
	}
	diags := x.diags(resp.Diagnostics)
	if diags.HasErrors() {
		x.e.hooks.PostRefresh(x.addr, diags)
		return x.unknown(), diags
	}
	if resp.State == cty.NilVal || resp.State.IsNull() {
		return x.unknown(), append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Provider returned no value",
			Detail:   fmt.Sprintf("The provider %s read %s but returned no value. This is a bug in the provider.", x.prov.addr, x.addr),
			Subject:  x.declRange(),
		})
	}
	x.e.hooks.PostRefresh(x.addr, nil)
	return cv.mark(resp.State), diags
}

func (x *instance) noDataSources() *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Provider has no data sources",
		Detail:   fmt.Sprintf("The provider %s serves no data sources, so %s cannot be read. Upgrade the provider, or remove the data block.", x.prov.addr, x.addr),
		Subject:  x.declRange(),
	}
}

// pendingData is the value of a data source read during apply, as plans
// show it: the configuration, with every computed attribute unknown.
func (x *instance) pendingData(cv configValue) cty.Value {
	v := cv.raw
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return x.unknown()
	}
	m := v.AsValueMap()
	for name, a := range x.schema.Block.Attributes {
		if cur, ok := m[name]; a.Computed && (!ok || (cur.IsKnown() && cur.IsNull())) {
			m[name] = cty.UnknownVal(a.Type)
		}
	}
	return cv.mark(cty.ObjectVal(m))
}
