package plugin

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// server serves a protocol.Provider as the gRPC Provider service. It caches
// the provider's schemas, which it needs to decode the values it receives.
type server struct {
	proto.UnimplementedProviderServer
	impl protocol.Provider

	mu     sync.Mutex
	schema *schemaCache
}

func newServer(impl protocol.Provider) *server { return &server{impl: impl} }

// schemaCache is a GetSchema response with the implied types precomputed.
type schemaCache struct {
	resp       protocol.GetSchemaResponse
	providerTy cty.Type
	types      map[string]cty.Type
	dataTypes  map[string]cty.Type
}

func newSchemaCache(resp protocol.GetSchemaResponse) *schemaCache {
	sc := &schemaCache{resp: resp, providerTy: cty.EmptyObject, types: make(map[string]cty.Type, len(resp.ResourceTypes)),
		dataTypes: make(map[string]cty.Type, len(resp.DataSources))}
	for name, s := range resp.DataSources {
		if s != nil {
			sc.dataTypes[name] = s.Block.ImpliedType()
		}
	}
	if resp.Provider != nil {
		sc.providerTy = resp.Provider.Block.ImpliedType()
	}
	for name, s := range resp.ResourceTypes {
		if s != nil {
			sc.types[name] = s.Block.ImpliedType()
		}
	}
	return sc
}

// resourceType returns the implied type of a resource type, or an error
// diagnostic naming the types the provider does serve.
func (sc *schemaCache) resourceType(provider, name string) (cty.Type, protocol.Diagnostics) {
	if ty, ok := sc.types[name]; ok {
		return ty, nil
	}
	names := make([]string, 0, len(sc.types))
	for n := range sc.types {
		names = append(names, n)
	}
	sort.Strings(names)
	var diags protocol.Diagnostics
	diags.Errorf("Unsupported resource type",
		"The provider %s does not serve a resource type named %q. It serves: %s.", provider, name, strings.Join(names, ", "))
	return cty.NilType, diags
}

func (s *server) schemas(ctx context.Context) (*schemaCache, protocol.Diagnostics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schema != nil {
		return s.schema, nil
	}
	resp := s.impl.GetSchema(ctx, protocol.GetSchemaRequest{})
	if resp.Diagnostics.HasErrors() {
		return nil, resp.Diagnostics
	}
	s.schema = newSchemaCache(resp)
	return s.schema, nil
}

// recoverDiags turns a panic in the provider into an error diagnostic, so a
// provider bug fails one call instead of killing the process.
func recoverDiags(diags *[]*proto.Diagnostic) {
	if r := recover(); r != nil {
		*diags = append(*diags, &proto.Diagnostic{
			Severity: proto.Diagnostic_ERROR,
			Summary:  "The provider panicked",
			Detail:   PanicDetail("The call", r),
		})
	}
}

func errDiag(summary string, err error) []*proto.Diagnostic {
	return []*proto.Diagnostic{{Severity: proto.Diagnostic_ERROR, Summary: summary, Detail: err.Error()}}
}

func (s *server) GetSchema(ctx context.Context, _ *proto.GetSchema_Request) (resp *proto.GetSchema_Response, _ error) {
	resp = &proto.GetSchema_Response{}
	defer recoverDiags(&resp.Diagnostics)
	r := s.impl.GetSchema(ctx, protocol.GetSchemaRequest{})
	resp.ProviderVersion = r.ProviderVersion
	resp.ServerCapabilities = r.ServerCapabilities
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	var err error
	if resp.Provider, err = schemaToProto(r.Provider); err != nil {
		resp.Diagnostics = append(resp.Diagnostics, errDiag("Invalid provider schema", err)...)
		return resp, nil
	}
	if resp.ResourceTypes, err = schemasToProto(r.ResourceTypes); err != nil {
		resp.Diagnostics = append(resp.Diagnostics, errDiag("Invalid resource schema", err)...)
		return resp, nil
	}
	if len(r.DataSources) > 0 {
		if resp.DataSources, err = schemasToProto(r.DataSources); err != nil {
			resp.Diagnostics = append(resp.Diagnostics, errDiag("Invalid data source schema", err)...)
			return resp, nil
		}
	}
	if !r.Diagnostics.HasErrors() {
		s.mu.Lock()
		s.schema = newSchemaCache(r)
		s.mu.Unlock()
	}
	return resp, nil
}

func (s *server) ValidateProviderConfig(ctx context.Context, req *proto.ValidateProviderConfig_Request) (resp *proto.ValidateProviderConfig_Response, _ error) {
	resp = &proto.ValidateProviderConfig_Response{}
	defer recoverDiags(&resp.Diagnostics)
	sc, diags := s.schemas(ctx)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	cfg, err := decodeValue(req.Config, sc.providerTy)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid provider configuration", err)
		return resp, nil
	}
	r := s.impl.ValidateProviderConfig(ctx, protocol.ValidateProviderConfigRequest{Config: cfg})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	return resp, nil
}

func (s *server) ConfigureProvider(ctx context.Context, req *proto.ConfigureProvider_Request) (resp *proto.ConfigureProvider_Response, _ error) {
	resp = &proto.ConfigureProvider_Response{}
	defer recoverDiags(&resp.Diagnostics)
	sc, diags := s.schemas(ctx)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	cfg, err := decodeValue(req.Config, sc.providerTy)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid provider configuration", err)
		return resp, nil
	}
	r := s.impl.ConfigureProvider(ctx, protocol.ConfigureProviderRequest{
		Config: cfg, WorkingDir: req.WorkingDir, ArtifactDir: req.ArtifactDir, EngineVersion: req.EngineVersion,
		ArtifactStore:  artifactStoreFromProto(req.ArtifactStore),
		SensitivePaths: pathsFromProto(req.SensitivePaths),
	})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	return resp, nil
}

func (s *server) ValidateResourceConfig(ctx context.Context, req *proto.ValidateResourceConfig_Request) (resp *proto.ValidateResourceConfig_Response, _ error) {
	resp = &proto.ValidateResourceConfig_Response{}
	defer recoverDiags(&resp.Diagnostics)
	ty, diags := s.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	cfg, err := decodeValue(req.Config, ty)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid resource configuration", err)
		return resp, nil
	}
	r := s.impl.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: req.TypeName, Config: cfg, SensitivePaths: pathsFromProto(req.SensitivePaths)})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	return resp, nil
}

func (s *server) resourceType(ctx context.Context, name string) (cty.Type, protocol.Diagnostics) {
	sc, diags := s.schemas(ctx)
	if diags.HasErrors() {
		return cty.NilType, diags
	}
	return sc.resourceType(providerNameOf(sc), name)
}

// providerNameOf guesses the provider's type name from its resource types
// for messages ("null" from "null_value").
func providerNameOf(sc *schemaCache) string {
	for n := range sc.types {
		if i := strings.IndexByte(n, '_'); i > 0 {
			return n[:i]
		}
	}
	return "(this provider)"
}

// decodeAll decodes several values of one type, stopping at the first
// error. Identical encodings (config and proposed state often are) are
// decoded once.
func decodeAll(ty cty.Type, dvs ...*proto.DynamicValue) ([]cty.Value, error) {
	out := make([]cty.Value, len(dvs))
	for i, dv := range dvs {
		if j := sameEncoding(dvs[:i], dv); j >= 0 {
			out[i] = out[j]
			continue
		}
		v, err := decodeValue(dv, ty)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func sameEncoding(prev []*proto.DynamicValue, dv *proto.DynamicValue) int {
	if dv == nil || len(dv.Msgpack) < 2 {
		return -1
	}
	for j, p := range prev {
		if p != nil && bytes.Equal(p.Msgpack, dv.Msgpack) {
			return j
		}
	}
	return -1
}

func (s *server) PlanResourceChange(ctx context.Context, req *proto.PlanResourceChange_Request) (resp *proto.PlanResourceChange_Response, _ error) {
	resp = &proto.PlanResourceChange_Response{}
	defer recoverDiags(&resp.Diagnostics)
	ty, diags := s.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	vals, err := decodeAll(ty, req.PriorState, req.ProposedNewState, req.Config)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid plan request", err)
		return resp, nil
	}
	r := s.impl.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{
		TypeName: req.TypeName, PriorState: vals[0], ProposedNewState: vals[1], Config: vals[2], PriorPrivate: req.PriorPrivate,
		SensitivePaths: pathsFromProto(req.SensitivePaths),
	})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	resp.RequiresReplace = pathsToProto(r.RequiresReplace)
	resp.PlannedPrivate = r.PlannedPrivate
	if resp.PlannedState, err = encodeValue(r.PlannedState, ty); err != nil {
		resp.Diagnostics = append(resp.Diagnostics, errDiag("The provider produced an invalid planned state", err)...)
	}
	return resp, nil
}

func (s *server) ApplyResourceChange(ctx context.Context, req *proto.ApplyResourceChange_Request) (resp *proto.ApplyResourceChange_Response, _ error) {
	resp = &proto.ApplyResourceChange_Response{}
	defer recoverDiags(&resp.Diagnostics)
	ty, diags := s.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	vals, err := decodeAll(ty, req.PriorState, req.PlannedState, req.Config)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid apply request", err)
		return resp, nil
	}
	r := s.impl.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{
		TypeName: req.TypeName, PriorState: vals[0], PlannedState: vals[1], Config: vals[2], PlannedPrivate: req.PlannedPrivate,
		SensitivePaths: pathsFromProto(req.SensitivePaths), Address: req.Address,
	})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	resp.Private = r.Private
	resp.Pending = pendingToProto(r.Pending)
	if resp.NewState, err = encodeValue(r.NewState, ty); err != nil {
		resp.Diagnostics = append(resp.Diagnostics, errDiag("The provider produced an invalid new state", err)...)
	}
	return resp, nil
}

func (s *server) ReadResource(ctx context.Context, req *proto.ReadResource_Request) (resp *proto.ReadResource_Response, _ error) {
	resp = &proto.ReadResource_Response{}
	defer recoverDiags(&resp.Diagnostics)
	ty, diags := s.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	cur, err := decodeValue(req.CurrentState, ty)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid read request", err)
		return resp, nil
	}
	r := s.impl.ReadResource(ctx, protocol.ReadResourceRequest{
		TypeName: req.TypeName, CurrentState: cur, Private: req.Private, Pending: pendingFromProto(req.Pending),
		SensitivePaths: pathsFromProto(req.SensitivePaths),
	})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	resp.Private = r.Private
	resp.Pending = pendingToProto(r.Pending)
	if resp.NewState, err = encodeValue(r.NewState, ty); err != nil {
		resp.Diagnostics = append(resp.Diagnostics, errDiag("The provider produced an invalid state", err)...)
	}
	return resp, nil
}

func (s *server) ImportResourceState(ctx context.Context, req *proto.ImportResourceState_Request) (resp *proto.ImportResourceState_Response, _ error) {
	resp = &proto.ImportResourceState_Response{}
	defer recoverDiags(&resp.Diagnostics)
	sc, diags := s.schemas(ctx)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	ireq := protocol.ImportResourceStateRequest{TypeName: req.TypeName, ID: req.Id, Address: req.Address}
	if req.Config != nil {
		ty, d := sc.resourceType(providerNameOf(sc), req.TypeName)
		if d.HasErrors() {
			resp.Diagnostics = diagsToProto(d)
			return resp, nil
		}
		cfg, err := decodeValue(req.Config, ty)
		if err != nil {
			resp.Diagnostics = errDiag("Invalid import configuration from llmops", err)
			return resp, nil
		}
		ireq.Config = cfg
	}
	r := s.impl.ImportResourceState(ctx, ireq)
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	for _, ir := range r.Imported {
		ty, d := sc.resourceType(providerNameOf(sc), ir.TypeName)
		if d.HasErrors() {
			resp.Diagnostics = append(resp.Diagnostics, diagsToProto(d)...)
			continue
		}
		st, err := encodeValue(ir.State, ty)
		if err != nil {
			resp.Diagnostics = append(resp.Diagnostics, errDiag("The provider produced an invalid imported state", err)...)
			continue
		}
		resp.ImportedResources = append(resp.ImportedResources, &proto.ImportResourceState_ImportedResource{
			TypeName: ir.TypeName, State: st, Private: ir.Private,
		})
	}
	return resp, nil
}

func (s *server) UpgradeResourceState(ctx context.Context, req *proto.UpgradeResourceState_Request) (resp *proto.UpgradeResourceState_Response, _ error) {
	resp = &proto.UpgradeResourceState_Response{}
	defer recoverDiags(&resp.Diagnostics)
	ty, diags := s.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	r := s.impl.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{TypeName: req.TypeName, Version: req.Version, RawJSON: req.RawJson})
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	var err error
	if resp.UpgradedState, err = encodeValue(r.UpgradedState, ty); err != nil {
		resp.Diagnostics = append(resp.Diagnostics, errDiag("The provider produced an invalid upgraded state", err)...)
	}
	return resp, nil
}

func (s *server) StopProvider(ctx context.Context, _ *proto.StopProvider_Request) (resp *proto.StopProvider_Response, _ error) {
	resp = &proto.StopProvider_Response{}
	defer func() {
		if r := recover(); r != nil {
			resp.Error = fmt.Sprintf("the provider panicked while stopping: %v", r)
		}
	}()
	r := s.impl.StopProvider(ctx, protocol.StopProviderRequest{})
	resp.Error = r.Error
	return resp, nil
}
