package plugin

import (
	"context"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// dataSourceType returns the implied type of a data source type, or an
// error diagnostic naming those the provider serves.
func (sc *schemaCache) dataSourceType(provider, name string) (cty.Type, protocol.Diagnostics) {
	if ty, ok := sc.dataTypes[name]; ok {
		return ty, nil
	}
	names := make([]string, 0, len(sc.dataTypes))
	for n := range sc.dataTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	serves := strings.Join(names, ", ")
	if serves == "" {
		serves = "none"
	}
	var diags protocol.Diagnostics
	diags.Errorf("Unsupported data source",
		"The provider %s has no data source named %q. Its data sources: %s.", provider, name, serves)
	return cty.NilType, diags
}

// ReadDataSource implements protocol.DataSourceProvider over the wire. A
// provider built before data sources existed answers Unimplemented: the
// response then says Unsupported.
func (c *Client) ReadDataSource(ctx context.Context, req protocol.ReadDataSourceRequest) protocol.ReadDataSourceResponse {
	sc, diags := c.schemas(ctx)
	if diags.HasErrors() {
		return protocol.ReadDataSourceResponse{Diagnostics: diags}
	}
	ty, diags := sc.dataSourceType(c.name, req.TypeName)
	if diags.HasErrors() {
		return protocol.ReadDataSourceResponse{Diagnostics: diags}
	}
	cfg, err := encodeValue(req.Config, ty)
	if err != nil {
		encodeDiags(&diags, "data source configuration", err)
		return protocol.ReadDataSourceResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ReadDataSource(ctx, &proto.ReadDataSource_Request{TypeName: req.TypeName, Config: cfg})
	if err != nil {
		if status.Code(err) == codes.Unimplemented {
			return protocol.ReadDataSourceResponse{Unsupported: true}
		}
		return protocol.ReadDataSourceResponse{Diagnostics: c.rpcDiags(ctx, "ReadDataSource", err)}
	}
	resp := protocol.ReadDataSourceResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
	if resp.State, err = decodeValue(r.State, ty); err != nil {
		resp.Diagnostics.FromError("Invalid data source value from the provider "+c.name, err)
	}
	return resp
}

// ReadDataSource serves protocol.DataSourceProvider when the
// implementation has it.
func (s *server) ReadDataSource(ctx context.Context, req *proto.ReadDataSource_Request) (resp *proto.ReadDataSource_Response, _ error) {
	dp, ok := s.impl.(protocol.DataSourceProvider)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this provider has no data sources")
	}
	resp = &proto.ReadDataSource_Response{}
	defer recoverDiags(&resp.Diagnostics)
	sc, diags := s.schemas(ctx)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	ty, diags := sc.dataSourceType("", req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	cfg, err := decodeValue(req.Config, ty)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid data source configuration", err)
		return resp, nil
	}
	r := dp.ReadDataSource(ctx, protocol.ReadDataSourceRequest{TypeName: req.TypeName, Config: cfg})
	if r.Unsupported {
		return nil, status.Error(codes.Unimplemented, "this provider has no data sources")
	}
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	if r.State != cty.NilVal && !r.Diagnostics.HasErrors() {
		if resp.State, err = encodeValue(r.State, ty); err != nil {
			resp.Diagnostics = append(resp.Diagnostics, errDiag("Invalid data source value", err)...)
		}
	}
	return resp, nil
}
