package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// testProvider is a minimal in-process provider for engine tests:
// test_value is like null_value (input, triggers_replace force-new,
// computed output and id); setting fail = true makes apply fail, input =
// "warn" makes it succeed with a warning on input.
//
// `name` makes ids deterministic ("<name>#<n>", n counting the creates of
// that name), and `behavior` makes the provider misbehave on purpose, for
// the engine's scenario tests (testdata/scenarios):
//
//	plan-changes-input    the plan changes the configured input (invalid plan)
//	apply-changes-output  apply returns an output other than the planned one
//	update-new-id         an update returns a new id (planned as unchanged)
//	fail-partial          apply fails but returns the object it made (tainted), output null
//	fail-partial-once     the same, for the first create of its name only
//	needs-input           validation refuses a null input
//	output-after-apply    the plan of a create leaves output unknown (like a
//	                      training run's output model); an update keeps it
//
// Behaviors combine, separated by commas.
//
//	pending:N             create returns a pending object, done after N reads
//	pending-fail          create returns a pending object whose job fails
//	panic-plan            PlanResourceChange panics
//	fail-destroy-once     the first destroy of each object fails
type testProvider struct {
	// kindsOnly serves only the lifecycle kinds (training_run): a
	// provider of another type than "test", whose test_ types would break
	// the naming rule.
	kindsOnly bool
	// offers, when set, are what GetOffers answers.
	offers []protocol.Offer
	// pure announces pure_plan for test_value; plans counts plan calls.
	pure  bool
	plans atomic.Int64
	// applyDelay makes every apply take this long.
	applyDelay time.Duration
	// importConfigs are the configurations import requests carried.
	importConfigs []cty.Value
	mu            sync.Mutex
	applies       []string // "create:<id>" etc.
	nextID        atomic.Int64
	objects       map[string]cty.Value // id -> object, what "reality" holds
	names         map[string]int       // creates per name
	reads         map[string]int       // reads per pending handle
	// hold keeps every pending object pending, whatever its behavior says.
	hold atomic.Bool
	// Placement tests: runBlocks are blocks only this provider's
	// training_run defines (a provider-specific block such as aws {});
	// refuse makes its creates fail with a capacity refusal; validated and
	// created record the configurations it was given.
	runBlocks map[string]*protocol.NestedBlock
	refuse    bool
	validated []cty.Value
	created   []cty.Value
}

func newTestProvider() *testProvider {
	return &testProvider{objects: map[string]cty.Value{}, names: map[string]int{}, reads: map[string]int{}}
}

var testValueSchema = &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{
	"input":            {Type: cty.DynamicPseudoType, Optional: true},
	"triggers_replace": {Type: cty.DynamicPseudoType, Optional: true, ForceNew: true},
	"fail":             {Type: cty.Bool, Optional: true},
	"secret":           {Type: cty.String, Optional: true, Sensitive: true},
	"name":             {Type: cty.String, Optional: true},
	"behavior":         {Type: cty.String, Optional: true},
	"output":           {Type: cty.DynamicPseudoType, Computed: true},
	"id":               {Type: cty.String, Computed: true},
}}}

// testDeploymentSchema is test_value's with the deployment kind's
// traffic (traffic://<id>, known once it is created), for the
// prior-state references of prior_refs.go.
var testDeploymentSchema = func() *protocol.Schema {
	b := *testValueSchema.Block
	b.Attributes = map[string]*protocol.Attribute{"traffic": {Type: cty.String, Computed: true}}
	for n, a := range testValueSchema.Block.Attributes {
		b.Attributes[n] = a
	}
	return &protocol.Schema{Block: &b}
}()

// has reports whether the `behavior` of a test_value (a comma-separated
// list) names b.
func has(v cty.Value, b string) bool {
	for _, x := range strings.Split(behavior(v), ",") {
		if x == b || strings.HasPrefix(x, b+":") {
			return true
		}
	}
	return false
}

// behavior is the `behavior` attribute of a test_value (or "").
func behavior(v cty.Value) string {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute("behavior") {
		return ""
	}
	b := v.GetAttr("behavior")
	if b.IsNull() || !b.IsKnown() {
		return ""
	}
	return b.AsString()
}

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
	r := protocol.GetSchemaResponse{
		ServerCapabilities: caps,
		ProviderVersion:    "0.0.1",
		Provider:           &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{"label": {Type: cty.String, Optional: true}}}},
		ResourceTypes:      map[string]*protocol.Schema{"test_value": testValueSchema, "training_run": p.runSchema(), "deployment": testDeploymentSchema},
		DataSources:        map[string]*protocol.Schema{"test_lookup": testLookupSchema},
	}
	if p.kindsOnly {
		r.ResourceTypes, r.DataSources = map[string]*protocol.Schema{"training_run": p.runSchema()}, nil
	}
	return r
}

// test_lookup is a data source: value is "value-of-<key>" (a key
// starting with "missing" is an error), digest its length.
var testLookupSchema = &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{
	"key":    {Type: cty.String, Required: true},
	"value":  {Type: cty.String, Computed: true},
	"length": {Type: cty.Number, Computed: true},
}}}

func (p *testProvider) ReadDataSource(_ context.Context, req protocol.ReadDataSourceRequest) (resp protocol.ReadDataSourceResponse) {
	key := req.Config.GetAttr("key").AsString()
	if strings.HasPrefix(key, "missing") {
		resp.Diagnostics.AttrErrorf(cty.GetAttrPath("key"), "Not found", "Nothing is named %q.", key)
		return resp
	}
	val := "value-of-" + key
	resp.State = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key), "value": cty.StringVal(val), "length": cty.NumberIntVal(int64(len(val)))})
	return resp
}
func (p *testProvider) ValidateProviderConfig(context.Context, protocol.ValidateProviderConfigRequest) protocol.ValidateProviderConfigResponse {
	return protocol.ValidateProviderConfigResponse{}
}
func (p *testProvider) ConfigureProvider(context.Context, protocol.ConfigureProviderRequest) protocol.ConfigureProviderResponse {
	return protocol.ConfigureProviderResponse{}
}

// runSchema is testRunSchema with the provider's own blocks.
func (p *testProvider) runSchema() *protocol.Schema {
	if len(p.runBlocks) == 0 {
		return testRunSchema
	}
	b := *testRunSchema.Block
	b.BlockTypes = map[string]*protocol.NestedBlock{}
	for n, nb := range p.runBlocks {
		b.BlockTypes[n] = nb
	}
	return &protocol.Schema{Block: &b}
}

func (p *testProvider) ValidateResourceConfig(_ context.Context, req protocol.ValidateResourceConfigRequest) protocol.ValidateResourceConfigResponse {
	var resp protocol.ValidateResourceConfigResponse
	if req.TypeName == "training_run" {
		p.mu.Lock()
		p.validated = append(p.validated, req.Config)
		p.mu.Unlock()
	}
	in := req.Config.GetAttr("input")
	if in.IsKnown() && !in.IsNull() && in.Type() == cty.String && in.AsString() == "invalid" {
		resp.Diagnostics.AttrErrorf(cty.GetAttrPath("input"), "Invalid input", "the value \"invalid\" is refused by the test provider")
	}
	if has(req.Config, "needs-input") && in.IsKnown() && in.IsNull() {
		resp.Diagnostics.AttrErrorf(cty.GetAttrPath("input"), "Missing input", "this test_value needs an input")
	}
	return resp
}

func (p *testProvider) PlanResourceChange(_ context.Context, req protocol.PlanResourceChangeRequest) protocol.PlanResourceChangeResponse {
	p.plans.Add(1)
	resp := protocol.PlanResourceChangeResponse{PlannedPrivate: req.PriorPrivate}
	if req.ProposedNewState.IsNull() {
		resp.PlannedState = req.ProposedNewState
		return resp
	}
	m := req.ProposedNewState.AsValueMap()
	if has(req.Config, "panic-plan") {
		panic("the test provider panics in PlanResourceChange")
	}
	if has(req.Config, "plan-changes-input") {
		m["input"] = cty.StringVal("changed-by-plan")
	}
	in := m["input"]
	late := has(req.Config, "output-after-apply")
	_, isDeployment := m["traffic"]
	if isDeployment {
		m["traffic"] = cty.UnknownVal(cty.String)
		if !req.PriorState.IsNull() {
			m["traffic"] = req.PriorState.GetAttr("traffic")
		}
	}
	if req.PriorState.IsNull() {
		m["id"] = cty.UnknownVal(cty.String)
		m["output"] = in
		if late {
			m["output"] = cty.UnknownVal(cty.DynamicPseudoType)
		}
		resp.PlannedState = cty.ObjectVal(m)
		return resp
	}
	prior := req.PriorState
	if !valuesEqual(prior.GetAttr("triggers_replace"), m["triggers_replace"]) {
		resp.RequiresReplace = append(resp.RequiresReplace, cty.GetAttrPath("triggers_replace"))
		m["id"] = cty.UnknownVal(cty.String)
		if isDeployment {
			m["traffic"] = cty.UnknownVal(cty.String)
		}
	}
	if !late {
		m["output"] = in
	}
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
		if has(req.PriorState, "fail-destroy-once") && p.reads["destroy "+id] == 0 {
			p.reads["destroy "+id]++
			resp.Diagnostics.Errorf("Test failure", "the test provider cannot destroy %s yet", id)
			return resp
		}
		delete(p.objects, id)
		p.applies = append(p.applies, "delete:"+id)
		resp.NewState = req.PlannedState
		return resp
	}
	if req.TypeName == "training_run" && req.PriorState.IsNull() {
		if p.refuse {
			resp.Diagnostics = append(resp.Diagnostics, protocol.CapacityRefused("quota exhausted", "the test provider has no capacity"))
			return resp
		}
		p.created = append(p.created, req.Config)
	}
	m := req.PlannedState.AsValueMap()
	if f := m["fail"]; !f.IsNull() && f.True() {
		resp.Diagnostics.Errorf("Test failure", "the test provider was told to fail")
		return resp
	}
	if !m["id"].IsKnown() || (has(req.PlannedState, "update-new-id") && !req.PriorState.IsNull()) {
		m["id"] = cty.StringVal(p.newID(m["name"]))
	}
	if in := m["input"]; in.Type() == cty.String && in.IsKnown() && !in.IsNull() && in.AsString() == "warn" {
		resp.Diagnostics = append(resp.Diagnostics, protocol.Diagnostic{Severity: protocol.Warning, Summary: "Test warning",
			Detail: "the test provider warns of input \"warn\"", Attribute: cty.GetAttrPath("input")})
	}
	m["output"] = m["input"]
	if _, ok := m["traffic"]; ok {
		m["traffic"] = cty.StringVal("traffic://" + m["id"].AsString())
	}
	if has(req.PlannedState, "apply-changes-output") {
		m["output"] = cty.StringVal("changed-by-apply")
	}
	v := cty.ObjectVal(m)
	action := "update"
	if req.PriorState.IsNull() {
		action = "create"
	}
	p.applies = append(p.applies, action+":"+m["id"].AsString())
	p.objects[m["id"].AsString()] = v
	resp.NewState = v
	switch {
	case has(req.PlannedState, "fail-partial") || (has(req.PlannedState, "fail-partial-once") && p.names[nameOf(m)] == 1):
		m["output"] = cty.NullVal(cty.DynamicPseudoType)
		resp.NewState = cty.ObjectVal(m)
		resp.Diagnostics.Errorf("Test failure", "the test provider made the object, then failed")
	case (has(req.PlannedState, "pending") || has(req.PlannedState, "pending-fail")) && req.PriorState.IsNull():
		id := m["id"].AsString()
		m["output"] = cty.NullVal(cty.DynamicPseudoType)
		resp.NewState = cty.ObjectVal(m)
		resp.Pending = &protocol.Pending{Handle: id, Status: "queued", Message: "submitted"}
	}
	return resp
}

func nameOf(m map[string]cty.Value) string {
	if n := m["name"]; !n.IsNull() && n.IsKnown() {
		return n.AsString()
	}
	return ""
}

// newID names a new object: "<name>#<n>" when it has a name.
func (p *testProvider) newID(name cty.Value) string {
	if name.IsNull() || !name.IsKnown() {
		return fmt.Sprintf("t%d", p.nextID.Add(1))
	}
	p.names[name.AsString()]++
	return fmt.Sprintf("%s#%d", name.AsString(), p.names[name.AsString()])
}

func (p *testProvider) ReadResource(_ context.Context, req protocol.ReadResourceRequest) protocol.ReadResourceResponse {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := req.CurrentState.GetAttr("id").AsString()
	v, ok := p.objects[id]
	if !ok {
		return protocol.ReadResourceResponse{NewState: cty.NullVal(req.CurrentState.Type())}
	}
	if req.Pending != nil {
		return p.poll(req, v)
	}
	return protocol.ReadResourceResponse{NewState: v, Private: req.Private}
}

// poll answers a read of a pending object: still running until the
// behavior's number of reads, then done (or failed).
func (p *testProvider) poll(req protocol.ReadResourceRequest, v cty.Value) protocol.ReadResourceResponse {
	var resp protocol.ReadResourceResponse
	p.reads[req.Pending.Handle]++
	if has(v, "pending-fail") {
		resp.NewState = req.CurrentState
		resp.Diagnostics.Errorf("The job failed (exit 3)", "Last lines of the job's log:\n  boom at step 31")
		return resp
	}
	n := 1
	for _, x := range strings.Split(behavior(v), ",") {
		fmt.Sscanf(x, "pending:%d", &n)
	}
	if p.hold.Load() || p.reads[req.Pending.Handle] < n {
		resp.NewState = req.CurrentState
		resp.Pending = &protocol.Pending{Handle: req.Pending.Handle, Status: "running", Message: fmt.Sprintf("read %d", p.reads[req.Pending.Handle])}
		return resp
	}
	resp.NewState = v
	return resp
}

// ImportResourceState finds an object of reality by id.
func (p *testProvider) ImportResourceState(_ context.Context, req protocol.ImportResourceStateRequest) protocol.ImportResourceStateResponse {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.importConfigs = append(p.importConfigs, req.Config)
	v, ok := p.objects[req.ID]
	if !ok {
		return protocol.ImportResourceStateResponse{}
	}
	return protocol.ImportResourceStateResponse{Imported: []protocol.ImportedResource{{TypeName: req.TypeName, State: v}}}
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
