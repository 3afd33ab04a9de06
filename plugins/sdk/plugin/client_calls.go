package plugin

import (
	"context"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// encodeDiags appends an error diagnostic for a value that cannot be sent.
func encodeDiags(diags *protocol.Diagnostics, what string, err error) {
	diags.Errorf("Invalid value for the provider", "%s: %s", what, err)
}

// encodeAll encodes values of one type; names label errors.
// The first value is a recorded state (see encodeState).
func encodeAll(ty cty.Type, names []string, vals ...cty.Value) ([]*proto.DynamicValue, protocol.Diagnostics) {
	out := make([]*proto.DynamicValue, len(vals))
	var diags protocol.Diagnostics
	for i, v := range vals {
		enc := encodeValue
		if i == 0 {
			enc = encodeState
		}
		dv, err := enc(v, ty)
		if err != nil {
			encodeDiags(&diags, names[i], err)
			continue
		}
		out[i] = dv
	}
	return out, diags
}

// GetSchema calls the provider and caches the answer: later GetSchema
// calls return the cached response.
func (c *Client) GetSchema(ctx context.Context, _ protocol.GetSchemaRequest) protocol.GetSchemaResponse {
	if sc := c.schema.Load(); sc != nil {
		return sc.resp
	}
	sc, diags := c.schemas(ctx)
	if diags.HasErrors() {
		return protocol.GetSchemaResponse{Diagnostics: diags}
	}
	return sc.resp
}

func (c *Client) getSchema(ctx context.Context) (resp protocol.GetSchemaResponse) {
	if d := c.exitedDiags("GetSchema"); d != nil {
		return protocol.GetSchemaResponse{Diagnostics: d}
	}
	r, err := c.rpc.GetSchema(ctx, &proto.GetSchema_Request{})
	if err != nil {
		return protocol.GetSchemaResponse{Diagnostics: c.rpcDiags(ctx, "GetSchema", err)}
	}
	resp.ProviderVersion = r.ProviderVersion
	resp.ServerCapabilities = r.ServerCapabilities
	resp.Diagnostics = diagsFromProto(r.Diagnostics)
	if resp.Provider, err = schemaFromProto(r.Provider); err != nil {
		resp.Diagnostics.FromError("Invalid provider schema from the provider "+c.name, err)
	}
	if resp.Provider == nil {
		resp.Provider = &protocol.Schema{Block: &protocol.Block{}}
	}
	resp.ResourceTypes = make(map[string]*protocol.Schema, len(r.ResourceTypes))
	for name, s := range r.ResourceTypes {
		ps, err := schemaFromProto(s)
		if err != nil {
			resp.Diagnostics.FromError("Invalid schema for resource type "+name, err)
			continue
		}
		resp.ResourceTypes[name] = ps
	}
	if len(r.DataSources) > 0 {
		resp.DataSources = make(map[string]*protocol.Schema, len(r.DataSources))
	}
	for name, s := range r.DataSources {
		ps, err := schemaFromProto(s)
		if err != nil {
			resp.Diagnostics.FromError("Invalid schema for data source "+name, err)
			continue
		}
		resp.DataSources[name] = ps
	}
	return resp
}

func (c *Client) ValidateProviderConfig(ctx context.Context, req protocol.ValidateProviderConfigRequest) protocol.ValidateProviderConfigResponse {
	sc, diags := c.schemas(ctx)
	if diags.HasErrors() {
		return protocol.ValidateProviderConfigResponse{Diagnostics: diags}
	}
	cfg, err := encodeValue(req.Config, sc.providerTy)
	if err != nil {
		encodeDiags(&diags, "provider configuration", err)
		return protocol.ValidateProviderConfigResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ValidateProviderConfig(ctx, &proto.ValidateProviderConfig_Request{Config: cfg})
	if err != nil {
		return protocol.ValidateProviderConfigResponse{Diagnostics: c.rpcDiags(ctx, "ValidateProviderConfig", err)}
	}
	return protocol.ValidateProviderConfigResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
}

func (c *Client) ConfigureProvider(ctx context.Context, req protocol.ConfigureProviderRequest) protocol.ConfigureProviderResponse {
	sc, diags := c.schemas(ctx)
	if diags.HasErrors() {
		return protocol.ConfigureProviderResponse{Diagnostics: diags}
	}
	cfg, err := encodeValue(req.Config, sc.providerTy)
	if err != nil {
		encodeDiags(&diags, "provider configuration", err)
		return protocol.ConfigureProviderResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ConfigureProvider(ctx, &proto.ConfigureProvider_Request{
		Config: cfg, WorkingDir: req.WorkingDir, ArtifactDir: req.ArtifactDir, EngineVersion: req.EngineVersion,
		ArtifactStore:  artifactStoreToProto(req.ArtifactStore),
		SensitivePaths: pathsToProto(req.SensitivePaths),
	})
	if err != nil {
		return protocol.ConfigureProviderResponse{Diagnostics: c.rpcDiags(ctx, "ConfigureProvider", err)}
	}
	return protocol.ConfigureProviderResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
}

func (c *Client) ValidateResourceConfig(ctx context.Context, req protocol.ValidateResourceConfigRequest) protocol.ValidateResourceConfigResponse {
	ty, diags := c.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		return protocol.ValidateResourceConfigResponse{Diagnostics: diags}
	}
	cfg, err := encodeValue(req.Config, ty)
	if err != nil {
		encodeDiags(&diags, "configuration", err)
		return protocol.ValidateResourceConfigResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ValidateResourceConfig(ctx, &proto.ValidateResourceConfig_Request{TypeName: req.TypeName, Config: cfg, SensitivePaths: pathsToProto(req.SensitivePaths)})
	if err != nil {
		return protocol.ValidateResourceConfigResponse{Diagnostics: c.rpcDiags(ctx, "ValidateResourceConfig", err)}
	}
	return protocol.ValidateResourceConfigResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
}

func (c *Client) PlanResourceChange(ctx context.Context, req protocol.PlanResourceChangeRequest) protocol.PlanResourceChangeResponse {
	ty, diags := c.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		return protocol.PlanResourceChangeResponse{Diagnostics: diags}
	}
	dvs, diags := encodeAll(ty, []string{"prior state", "proposed new state", "configuration"},
		req.PriorState, req.ProposedNewState, req.Config)
	if diags.HasErrors() {
		return protocol.PlanResourceChangeResponse{Diagnostics: diags}
	}
	r, err := c.rpc.PlanResourceChange(ctx, &proto.PlanResourceChange_Request{
		TypeName: req.TypeName, PriorState: dvs[0], ProposedNewState: dvs[1], Config: dvs[2], PriorPrivate: req.PriorPrivate,
		SensitivePaths: pathsToProto(req.SensitivePaths),
	})
	if err != nil {
		return protocol.PlanResourceChangeResponse{Diagnostics: c.rpcDiags(ctx, "PlanResourceChange", err)}
	}
	resp := protocol.PlanResourceChangeResponse{
		RequiresReplace: pathsFromProto(r.RequiresReplace),
		PlannedPrivate:  r.PlannedPrivate,
		Diagnostics:     diagsFromProto(r.Diagnostics),
	}
	if resp.PlannedState, err = decodeValue(r.PlannedState, ty); err != nil {
		resp.Diagnostics.FromError("Invalid planned state from the provider "+c.name, err)
	}
	return resp
}

func (c *Client) ApplyResourceChange(ctx context.Context, req protocol.ApplyResourceChangeRequest) protocol.ApplyResourceChangeResponse {
	ty, diags := c.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		return protocol.ApplyResourceChangeResponse{Diagnostics: diags}
	}
	dvs, diags := encodeAll(ty, []string{"prior state", "planned state", "configuration"},
		req.PriorState, req.PlannedState, req.Config)
	if diags.HasErrors() {
		return protocol.ApplyResourceChangeResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ApplyResourceChange(ctx, &proto.ApplyResourceChange_Request{
		TypeName: req.TypeName, PriorState: dvs[0], PlannedState: dvs[1], Config: dvs[2], PlannedPrivate: req.PlannedPrivate,
		SensitivePaths: pathsToProto(req.SensitivePaths), Address: req.Address,
	})
	if err != nil {
		return protocol.ApplyResourceChangeResponse{Diagnostics: c.rpcDiags(ctx, "ApplyResourceChange", err)}
	}
	resp := protocol.ApplyResourceChangeResponse{
		Private:     r.Private,
		Pending:     pendingFromProto(r.Pending),
		Diagnostics: diagsFromProto(r.Diagnostics),
	}
	if resp.NewState, err = decodeValue(r.NewState, ty); err != nil {
		resp.Diagnostics.FromError("Invalid new state from the provider "+c.name, err)
	}
	return resp
}

func (c *Client) ReadResource(ctx context.Context, req protocol.ReadResourceRequest) protocol.ReadResourceResponse {
	ty, diags := c.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		return protocol.ReadResourceResponse{Diagnostics: diags}
	}
	cur, err := encodeState(req.CurrentState, ty)
	if err != nil {
		encodeDiags(&diags, "current state", err)
		return protocol.ReadResourceResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ReadResource(ctx, &proto.ReadResource_Request{
		TypeName: req.TypeName, CurrentState: cur, Private: req.Private, Pending: pendingToProto(req.Pending),
		SensitivePaths: pathsToProto(req.SensitivePaths),
	})
	if err != nil {
		return protocol.ReadResourceResponse{Diagnostics: c.rpcDiags(ctx, "ReadResource", err)}
	}
	resp := protocol.ReadResourceResponse{
		Private:     r.Private,
		Pending:     pendingFromProto(r.Pending),
		Diagnostics: diagsFromProto(r.Diagnostics),
	}
	if resp.NewState, err = decodeValue(r.NewState, ty); err != nil {
		resp.Diagnostics.FromError("Invalid state from the provider "+c.name, err)
	}
	return resp
}

func (c *Client) ImportResourceState(ctx context.Context, req protocol.ImportResourceStateRequest) protocol.ImportResourceStateResponse {
	sc, diags := c.schemas(ctx)
	if diags.HasErrors() {
		return protocol.ImportResourceStateResponse{Diagnostics: diags}
	}
	rty, d := sc.resourceType(c.name, req.TypeName)
	if d.HasErrors() {
		return protocol.ImportResourceStateResponse{Diagnostics: d}
	}
	cfg, err := encodeValue(req.Config, rty)
	if err != nil {
		var diags protocol.Diagnostics
		diags.FromError("Cannot encode the configuration for the provider "+c.name, err)
		return protocol.ImportResourceStateResponse{Diagnostics: diags}
	}
	r, err := c.rpc.ImportResourceState(ctx, &proto.ImportResourceState_Request{TypeName: req.TypeName, Id: req.ID, Config: cfg, Address: req.Address})
	if err != nil {
		return protocol.ImportResourceStateResponse{Diagnostics: c.rpcDiags(ctx, "ImportResourceState", err)}
	}
	resp := protocol.ImportResourceStateResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
	for _, ir := range r.ImportedResources {
		ty, d := sc.resourceType(c.name, ir.TypeName)
		if d.HasErrors() {
			resp.Diagnostics = append(resp.Diagnostics, d...)
			continue
		}
		st, err := decodeValue(ir.State, ty)
		if err != nil {
			resp.Diagnostics.FromError("Invalid imported state from the provider "+c.name, err)
			continue
		}
		resp.Imported = append(resp.Imported, protocol.ImportedResource{TypeName: ir.TypeName, State: st, Private: ir.Private})
	}
	return resp
}

func (c *Client) UpgradeResourceState(ctx context.Context, req protocol.UpgradeResourceStateRequest) protocol.UpgradeResourceStateResponse {
	ty, diags := c.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		return protocol.UpgradeResourceStateResponse{Diagnostics: diags}
	}
	r, err := c.rpc.UpgradeResourceState(ctx, &proto.UpgradeResourceState_Request{TypeName: req.TypeName, Version: req.Version, RawJson: req.RawJSON})
	if err != nil {
		return protocol.UpgradeResourceStateResponse{Diagnostics: c.rpcDiags(ctx, "UpgradeResourceState", err)}
	}
	resp := protocol.UpgradeResourceStateResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
	if resp.UpgradedState, err = decodeValue(r.UpgradedState, ty); err != nil {
		resp.Diagnostics.FromError("Invalid upgraded state from the provider "+c.name, err)
	}
	return resp
}

// StopProvider asks the provider to interrupt in-flight calls. A provider
// that has exited is already stopped.
func (c *Client) StopProvider(ctx context.Context, _ protocol.StopProviderRequest) protocol.StopProviderResponse {
	if c.Exited() {
		return protocol.StopProviderResponse{}
	}
	r, err := c.rpc.StopProvider(ctx, &proto.StopProvider_Request{})
	if err != nil {
		if c.Exited() {
			return protocol.StopProviderResponse{}
		}
		return protocol.StopProviderResponse{Error: c.rpcDiags(ctx, "StopProvider", err).Err().Error()}
	}
	return protocol.StopProviderResponse{Error: r.Error}
}
