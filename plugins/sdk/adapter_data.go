package sdk

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

type dataInfo struct {
	d     *DataSource
	block *protocol.Block
	ty    cty.Type
}

// addDataSources builds the schemas of the provider's data sources.
func (a *adapter) addDataSources() {
	a.data = map[string]*dataInfo{}
	if len(a.p.DataSources) == 0 {
		return
	}
	a.schema.DataSources = map[string]*protocol.Schema{}
	names := make([]string, 0, len(a.p.DataSources))
	for n := range a.p.DataSources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		d := a.p.DataSources[name]
		if d == nil || d.Read == nil {
			a.schema.Diagnostics.Errorf("Invalid data source", "Data source %q has no Read function.", name)
			continue
		}
		blk := d.Schema.Build()
		if err := ValidateSchema(blk); err != nil {
			a.schema.Diagnostics.FromError(fmt.Sprintf("Invalid schema for data source %q", name), err)
		}
		a.schema.DataSources[name] = &protocol.Schema{Block: blk}
		a.data[name] = &dataInfo{d: d, block: blk, ty: blk.ImpliedType()}
	}
}

// ReadDataSource implements protocol.DataSourceProvider: it checks the
// configuration against the schema, calls the data source's Read and
// checks that what it returns keeps the configuration.
func (a *adapter) ReadDataSource(ctx context.Context, req protocol.ReadDataSourceRequest) (resp protocol.ReadDataSourceResponse) {
	defer recoverTo(&resp.Diagnostics, "ReadDataSource")
	if len(a.data) == 0 {
		resp.Unsupported = true
		return resp
	}
	di, ok := a.data[req.TypeName]
	if !ok {
		names := make([]string, 0, len(a.data))
		for n := range a.data {
			names = append(names, n)
		}
		sort.Strings(names)
		resp.Diagnostics.Errorf("Unsupported data source", "The provider %s has no data source named %q. Its data sources: %s.", a.p.Name, req.TypeName, strings.Join(names, ", "))
		return resp
	}
	cfg := conform(orNull(req.Config, di.ty), di.ty, "configuration", &resp.Diagnostics)
	if resp.Diagnostics.HasErrors() {
		return resp
	}
	validateBlock(di.block, cfg, nil, &resp.Diagnostics)
	if !cfg.IsWhollyKnown() {
		resp.Diagnostics.Errorf("Data source configuration has unknown values",
			"llmops reads a data source only once its configuration is known. This is a bug in llmops.")
	}
	if resp.Diagnostics.HasErrors() {
		return resp
	}
	cctx, done := a.call(ctx, req.TypeName, "ReadDataSource")
	defer done()
	v, diags := di.d.Read(cctx, &ReadDataRequest{TypeName: req.TypeName, Config: newObject(cfg, di.ty), Meta: a.getMeta()})
	resp.Diagnostics = append(resp.Diagnostics, diags...)
	if diags.HasErrors() {
		return resp
	}
	if v.Value == cty.NilVal {
		v = newObject(cfg, di.ty)
	}
	st := conform(v.Value, di.ty, "data source value", &resp.Diagnostics)
	if resp.Diagnostics.HasErrors() {
		return resp
	}
	if !st.IsWhollyKnown() {
		resp.Diagnostics.Errorf("Provider returned an unknown value", "The data source %s returned values that are not known. This is a bug in the provider %s.", req.TypeName, a.p.Name)
		return resp
	}
	resp.State = st
	return resp
}
