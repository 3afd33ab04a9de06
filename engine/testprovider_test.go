package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// testProvider is a minimal in-process provider for engine tests:
// test_value is like null_value (input, triggers_replace force-new,
// computed output and id); setting fail = true makes apply fail, input =
// "warn" makes it succeed with a warning on input;
// test_secret has a sensitive attribute.
type testProvider struct {
	// offers, when set, are what GetOffers answers.
	offers []protocol.Offer
	// pure announces pure_plan for test_value; plans counts plan calls.
	pure  bool
	plans atomic.Int64
	// applyDelay makes every apply take this long.
	applyDelay time.Duration
	mu         sync.Mutex
	applies    []string // "create:<id>" etc.
	nextID     atomic.Int64
	objects    map[string]cty.Value // id -> object, what "reality" holds
}

func newTestProvider() *testProvider { return &testProvider{objects: map[string]cty.Value{}} }

var testValueSchema = &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{
	"input":            {Type: cty.DynamicPseudoType, Optional: true},
	"triggers_replace": {Type: cty.DynamicPseudoType, Optional: true, ForceNew: true},
	"fail":             {Type: cty.Bool, Optional: true},
	"secret":           {Type: cty.String, Optional: true, Sensitive: true},
	"output":           {Type: cty.DynamicPseudoType, Computed: true},
	"id":               {Type: cty.String, Computed: true},
}}}

// testRunSchema serves the training_run kind for placement tests.
var testRunSchema = &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{
	"input":            {Type: cty.DynamicPseudoType, Optional: true},
	"triggers_replace": {Type: cty.DynamicPseudoType, Optional: true, ForceNew: true},
	"fail":             {Type: cty.Bool, Optional: true},
	"secret":           {Type: cty.String, Optional: true, Sensitive: true},
	"resources":        {Type: cty.Object(map[string]cty.Type{"gpus": cty.Number, "max_duration": cty.String}), Optional: true},
	"output":           {Type: cty.DynamicPseudoType, Computed: true},
	"id":               {Type: cty.String, Computed: true},
	"version":          {Type: cty.Number, Computed: true},
}}}

func (p *testProvider) GetSchema(context.Context, protocol.GetSchemaRequest) protocol.GetSchemaResponse {
	var caps []string
	if p.pure {
		caps = append(caps, protocol.CapabilityPurePlanPrefix+"test_value")
	}
	return protocol.GetSchemaResponse{
		ServerCapabilities: caps,
		ProviderVersion:    "0.0.1",
		Provider:           &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{"label": {Type: cty.String, Optional: true}}}},
		ResourceTypes:      map[string]*protocol.Schema{"test_value": testValueSchema, "training_run": testRunSchema},
	}
}
func (p *testProvider) ValidateProviderConfig(context.Context, protocol.ValidateProviderConfigRequest) protocol.ValidateProviderConfigResponse {
	return protocol.ValidateProviderConfigResponse{}
}
func (p *testProvider) ConfigureProvider(context.Context, protocol.ConfigureProviderRequest) protocol.ConfigureProviderResponse {
	return protocol.ConfigureProviderResponse{}
}
func (p *testProvider) ValidateResourceConfig(_ context.Context, req protocol.ValidateResourceConfigRequest) protocol.ValidateResourceConfigResponse {
	var resp protocol.ValidateResourceConfigResponse
	in := req.Config.GetAttr("input")
	if in.IsKnown() && !in.IsNull() && in.Type() == cty.String && in.AsString() == "invalid" {
		resp.Diagnostics.AttrErrorf(cty.GetAttrPath("input"), "Invalid input", "the value \"invalid\" is refused by the test provider")
	}
	return resp
}

func (p *testProvider) PlanResourceChange(_ context.Context, req protocol.PlanResourceChangeRequest) protocol.PlanResourceChangeResponse {
	p.plans.Add(1)
	var resp protocol.PlanResourceChangeResponse
	if req.ProposedNewState.IsNull() {
		resp.PlannedState = req.ProposedNewState
		return resp
	}
	m := req.ProposedNewState.AsValueMap()
	in := m["input"]
	if req.PriorState.IsNull() {
		m["id"] = cty.UnknownVal(cty.String)
		m["output"] = in
		resp.PlannedState = cty.ObjectVal(m)
		return resp
	}
	prior := req.PriorState
	if !valuesEqual(prior.GetAttr("triggers_replace"), m["triggers_replace"]) {
		resp.RequiresReplace = append(resp.RequiresReplace, cty.GetAttrPath("triggers_replace"))
		m["id"] = cty.UnknownVal(cty.String)
	}
	m["output"] = in
	resp.PlannedState = cty.ObjectVal(m)
	return resp
}

func (p *testProvider) ApplyResourceChange(_ context.Context, req protocol.ApplyResourceChangeRequest) protocol.ApplyResourceChangeResponse {
	var resp protocol.ApplyResourceChangeResponse
	time.Sleep(p.applyDelay)
	p.mu.Lock()
	defer p.mu.Unlock()
	if req.PlannedState.IsNull() {
		id := req.PriorState.GetAttr("id").AsString()
		delete(p.objects, id)
		p.applies = append(p.applies, "delete:"+id)
		resp.NewState = req.PlannedState
		return resp
	}
	m := req.PlannedState.AsValueMap()
	if f := m["fail"]; !f.IsNull() && f.True() {
		resp.Diagnostics.Errorf("Test failure", "the test provider was told to fail")
		return resp
	}
	if !m["id"].IsKnown() {
		m["id"] = cty.StringVal(fmt.Sprintf("t%d", p.nextID.Add(1)))
	}
	if in := m["input"]; in.Type() == cty.String && in.IsKnown() && !in.IsNull() && in.AsString() == "warn" {
		resp.Diagnostics = append(resp.Diagnostics, protocol.Diagnostic{Severity: protocol.Warning, Summary: "Test warning",
			Detail: "the test provider warns of input \"warn\"", Attribute: cty.GetAttrPath("input")})
	}
	m["output"] = m["input"]
	v := cty.ObjectVal(m)
	action := "update"
	if req.PriorState.IsNull() {
		action = "create"
	}
	p.applies = append(p.applies, action+":"+m["id"].AsString())
	p.objects[m["id"].AsString()] = v
	resp.NewState = v
	return resp
}

func (p *testProvider) ReadResource(_ context.Context, req protocol.ReadResourceRequest) protocol.ReadResourceResponse {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := req.CurrentState.GetAttr("id").AsString()
	v, ok := p.objects[id]
	if !ok {
		return protocol.ReadResourceResponse{NewState: cty.NullVal(req.CurrentState.Type())}
	}
	return protocol.ReadResourceResponse{NewState: v, Private: req.Private}
}

func (p *testProvider) ImportResourceState(context.Context, protocol.ImportResourceStateRequest) protocol.ImportResourceStateResponse {
	return protocol.ImportResourceStateResponse{}
}
func (p *testProvider) UpgradeResourceState(context.Context, protocol.UpgradeResourceStateRequest) protocol.UpgradeResourceStateResponse {
	return protocol.UpgradeResourceStateResponse{}
}
func (p *testProvider) StopProvider(context.Context, protocol.StopProviderRequest) protocol.StopProviderResponse {
	return protocol.StopProviderResponse{}
}
func (p *testProvider) Close() error { return nil }

func (p *testProvider) appliesCopy() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.applies...)
}

func (p *testProvider) GetOffers(context.Context, protocol.GetOffersRequest) protocol.GetOffersResponse {
	if p.offers == nil {
		return protocol.GetOffersResponse{Unsupported: true}
	}
	return protocol.GetOffersResponse{Offers: p.offers}
}
