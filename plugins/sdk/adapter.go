package sdk

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// NewProtocolProvider adapts p to protocol.Provider, the interface the
// engine calls. sdk.Serve serves the result over gRPC; tests (and the
// engine, for built-in providers) can call it in process.
//
// The adapter implements the protocol generically: it validates
// configurations against the schema, plans changes (ForceNew, computed
// values, ModifyPlan), dispatches ApplyResourceChange to Create, Update or
// Delete, passes pending objects to Read, recovers panics into error
// diagnostics, and cancels in-flight calls on StopProvider.
func NewProtocolProvider(p *Provider) protocol.Provider {
	a := &adapter{p: p, resources: map[string]*resourceInfo{}}
	a.stopCtx, a.stopCancel = context.WithCancelCause(context.Background())
	a.schema = protocol.GetSchemaResponse{
		ProviderVersion: p.Version,
		Provider:        &protocol.Schema{Block: p.Schema.Build()},
		ResourceTypes:   map[string]*protocol.Schema{},
	}
	if err := ValidateSchema(a.schema.Provider.Block); err != nil {
		a.schema.Diagnostics.FromError("Invalid provider schema", err)
	}
	a.providerTy = a.schema.Provider.Block.ImpliedType()
	names := make([]string, 0, len(p.Resources))
	for name := range p.Resources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := p.Resources[name]
		if r == nil {
			a.schema.Diagnostics.Errorf("Invalid resource", "Resource type %q has no definition.", name)
			continue
		}
		blk := r.Schema.Build()
		a.schema.ResourceTypes[name] = &protocol.Schema{Version: r.SchemaVersion, Block: blk}
		keep := map[string]bool{}
		r.Schema.keepState("", keep)
		a.resources[name] = &resourceInfo{r: r, block: blk, ty: blk.ImpliedType(), keep: keep}
		if err := ValidateSchema(blk); err != nil {
			a.schema.Diagnostics.FromError(fmt.Sprintf("Invalid schema for resource type %q", name), err)
		}
		if r.Create == nil {
			a.schema.Diagnostics.Errorf("Invalid resource", "Resource type %q has no Create function.", name)
		}
		if r.Read == nil {
			a.schema.ServerCapabilities = append(a.schema.ServerCapabilities, protocol.CapabilityStateOnlyPrefix+name)
		}
		if r.ModifyPlan == nil || r.PurePlan {
			// The plan depends on prior and config alone.
			a.schema.ServerCapabilities = append(a.schema.ServerCapabilities, protocol.CapabilityPurePlanPrefix+name)
		}
	}
	a.schema.ServerCapabilities = append(a.schema.ServerCapabilities, protocol.CapabilityPlanValidates)
	a.addDataSources()
	return a
}

type resourceInfo struct {
	r     *Resource
	block *protocol.Block
	ty    cty.Type
	// keep are the attributes declared UseStateForUnknown.
	keep map[string]bool
}

type adapter struct {
	p          *Provider
	schema     protocol.GetSchemaResponse
	providerTy cty.Type
	resources  map[string]*resourceInfo
	data       map[string]*dataInfo

	metaMu sync.RWMutex
	meta   any

	stopMu     sync.Mutex
	stopCtx    context.Context
	stopCancel context.CancelCauseFunc
}

// call prepares the context of one call: cancelled by the caller or by
// StopProvider, and carrying logging fields.
func (a *adapter) call(ctx context.Context, typeName, op string) (context.Context, func()) {
	a.stopMu.Lock()
	stop := a.stopCtx
	a.stopMu.Unlock()
	cctx, cancel := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(stop, func() { cancel(ErrStopped) })
	cctx = withLogInfo(cctx, a.p.Name, typeName, op)
	return cctx, func() { unhook(); cancel(nil) }
}

func (a *adapter) getMeta() any {
	a.metaMu.RLock()
	defer a.metaMu.RUnlock()
	return a.meta
}

// resource looks up a resource type, or returns an error naming the types
// the provider serves.
func (a *adapter) resource(name string) (*resourceInfo, Diagnostics) {
	if ri, ok := a.resources[name]; ok {
		return ri, nil
	}
	names := make([]string, 0, len(a.resources))
	for n := range a.resources {
		names = append(names, n)
	}
	sort.Strings(names)
	var diags Diagnostics
	diags.Errorf("Unsupported resource type", "The provider %s does not serve a resource type named %q. It serves: %s.",
		a.p.Name, name, strings.Join(names, ", "))
	return nil, diags
}

// recoverTo turns a panic in provider code into an error diagnostic.
func recoverTo(diags *Diagnostics, op string) {
	if r := recover(); r != nil {
		diags.Errorf("The provider panicked", "%s panicked; this is a bug in the provider.\n\n%v\n\n%s", op, r, debug.Stack())
	}
}

// conform converts v to ty, or nulls it with an error diagnostic.
func conform(v cty.Value, ty cty.Type, what string, diags *Diagnostics) cty.Value {
	if v == cty.NilVal {
		return cty.NullVal(ty)
	}
	if v.IsNull() {
		return cty.NullVal(ty)
	}
	if v.Type().Equals(ty) {
		return v
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		diags.Errorf("Provider produced an invalid "+what, "The value does not conform to the schema: %s. This is a bug in the provider.", err)
		return cty.NullVal(ty)
	}
	return cv
}

func orNull(v cty.Value, ty cty.Type) cty.Value {
	if v == cty.NilVal {
		return cty.NullVal(ty)
	}
	return v
}

func (a *adapter) GetSchema(context.Context, protocol.GetSchemaRequest) protocol.GetSchemaResponse {
	return a.schema
}

func (a *adapter) ValidateProviderConfig(ctx context.Context, req protocol.ValidateProviderConfigRequest) (resp protocol.ValidateProviderConfigResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	defer recoverTo(&resp.Diagnostics, "ValidateProviderConfig")
	cfg := orNull(req.Config, a.providerTy)
	sensitive := a.schema.Provider.Block.SensitivePaths()
	secrets := collectSecrets(sensitive, cfg)
	validateBlock(a.schema.Provider.Block, cfg, nil, &resp.Diagnostics)
	if a.p.ValidateConfig != nil && !resp.Diagnostics.HasErrors() {
		cctx, done := a.call(ctx, "", "ValidateProviderConfig")
		defer done()
		cctx = withSecrets(cctx, secrets)
		resp.Diagnostics = append(resp.Diagnostics, a.p.ValidateConfig(cctx, &ValidateRequest{Config: newObject(cfg, a.providerTy), Sensitive: sensitive})...)
	}
	return resp
}

// sensitivePaths are the paths the engine sent plus those the schema
// marks sensitive.
func sensitivePaths(b *protocol.Block, given []cty.Path) SensitivePaths {
	return append(SensitivePaths(b.SensitivePaths()), given...)
}

func (a *adapter) ConfigureProvider(ctx context.Context, req protocol.ConfigureProviderRequest) (resp protocol.ConfigureProviderResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	defer recoverTo(&resp.Diagnostics, "ConfigureProvider")
	if a.schema.Diagnostics.HasErrors() {
		resp.Diagnostics = a.schema.Diagnostics
		return resp
	}
	if a.p.Configure == nil {
		return resp
	}
	cctx, done := a.call(ctx, "", "ConfigureProvider")
	defer done()
	sensitive := sensitivePaths(a.schema.Provider.Block, req.SensitivePaths)
	cctx = withSecrets(cctx, collectSecrets(sensitive, req.Config))
	meta, diags := a.p.Configure(cctx, &ConfigureRequest{
		Config: newObject(orNull(req.Config, a.providerTy), a.providerTy), WorkingDir: req.WorkingDir,
		ArtifactDir: req.ArtifactDir, EngineVersion: req.EngineVersion, ArtifactStore: req.ArtifactStore, Sensitive: sensitive,
	})
	resp.Diagnostics = diags
	if !diags.HasErrors() {
		a.metaMu.Lock()
		a.meta = meta
		a.metaMu.Unlock()
	}
	return resp
}

func (a *adapter) ValidateResourceConfig(ctx context.Context, req protocol.ValidateResourceConfigRequest) (resp protocol.ValidateResourceConfigResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	defer recoverTo(&resp.Diagnostics, "ValidateResourceConfig")
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	cfg := orNull(req.Config, ri.ty)
	sensitive := sensitivePaths(ri.block, req.SensitivePaths)
	secrets := collectSecrets(sensitive, cfg)
	validateBlock(ri.block, cfg, nil, &resp.Diagnostics)
	if ri.r.Validate != nil && !resp.Diagnostics.HasErrors() {
		cctx, done := a.call(ctx, req.TypeName, "Validate")
		defer done()
		cctx = withSecrets(cctx, secrets)
		resp.Diagnostics = append(resp.Diagnostics, ri.r.Validate(cctx, &ValidateRequest{TypeName: req.TypeName, Config: newObject(cfg, ri.ty), Sensitive: sensitive})...)
	}
	return resp
}

func (a *adapter) PlanResourceChange(ctx context.Context, req protocol.PlanResourceChangeRequest) (resp protocol.PlanResourceChangeResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	defer recoverTo(&resp.Diagnostics, "PlanResourceChange")
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	prior := orNull(req.PriorState, ri.ty)
	config := orNull(req.Config, ri.ty)
	proposed := req.ProposedNewState
	if proposed == cty.NilVal {
		proposed = proposedNew(ri.block, prior, config)
	}
	resp.PlannedPrivate = req.PriorPrivate
	if proposed.IsNull() { // delete
		resp.PlannedState = cty.NullVal(ri.ty)
		return resp
	}
	// The plan validates the configuration too (capability
	// "plan_validates"), so the engine saves a ValidateResourceConfig call
	// per object on every plan.
	sensitive := sensitivePaths(ri.block, req.SensitivePaths)
	secrets := collectSecrets(sensitive, config, prior, proposed)
	vr := a.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: req.TypeName, Config: config, SensitivePaths: req.SensitivePaths})
	resp.Diagnostics = append(resp.Diagnostics, vr.Diagnostics...) // warnings too
	if vr.Diagnostics.HasErrors() {
		return resp
	}
	create := prior.IsNull()
	pl := planner{keep: ri.keep, create: create, changed: create || changed(prior, proposedNew(ri.block, prior, proposed))}
	planned := pl.object(ri.block, "", prior, config, proposed)
	if !create {
		requiresReplace(ri.block, prior, planned, nil, &resp.RequiresReplace)
		if len(resp.RequiresReplace) > 0 {
			planned = ri.planCreate(config, proposed)
		}
	}
	if ri.r.ModifyPlan != nil {
		cctx, done := a.call(ctx, req.TypeName, "ModifyPlan")
		defer done()
		cctx = withSecrets(cctx, secrets)
		mr := ri.r.ModifyPlan(cctx, &ModifyPlanRequest{
			TypeName: req.TypeName, Config: newObject(config, ri.ty), Prior: newObject(prior, ri.ty), Planned: newObject(planned, ri.ty),
			RequiresReplace: resp.RequiresReplace, Private: req.PriorPrivate, Meta: a.getMeta(), Sensitive: sensitive,
		})
		if mr != nil {
			resp.Diagnostics = append(resp.Diagnostics, mr.Diagnostics...)
			if mr.Planned.Value != cty.NilVal {
				planned = mr.Planned.Value
			}
			if len(mr.RequiresReplace) > 0 && len(resp.RequiresReplace) == 0 && !create {
				planned = ri.planCreate(config, planned)
			}
			resp.RequiresReplace = append(resp.RequiresReplace, mr.RequiresReplace...)
			if mr.Private != nil {
				resp.PlannedPrivate = mr.Private
			}
		}
	}
	resp.PlannedState = conform(planned, ri.ty, "planned state", &resp.Diagnostics)
	return resp
}
