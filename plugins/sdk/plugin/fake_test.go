package plugin_test

import (
	"context"
	"os"
	"sync/atomic"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// envMode makes the test binary act as a provider plugin, so the tests can
// start real subprocesses without building anything.
const envMode = "LLMOPS_PLUGIN_TEST_MODE"

// servePluginMode serves a provider when the binary was started as a
// plugin; it reports whether it did (it does not return in that case).
func servePluginMode() bool {
	switch os.Getenv(envMode) {
	case "fake":
		plugin.Serve(&fakeProvider{}, plugin.WithType("fake"))
	case "null":
		plugin.Serve(sdk.NewProtocolProvider(null.Provider()), plugin.WithType("null"))
	case "v2":
		// A provider built for a protocol this llmops does not speak.
		goplugin.Serve(&goplugin.ServeConfig{
			HandshakeConfig:  plugin.Handshake,
			VersionedPlugins: map[int]goplugin.PluginSet{2: {plugin.PluginName: &plugin.GRPCProviderPlugin{Impl: &fakeProvider{}}}},
			GRPCServer:       goplugin.DefaultGRPCServer,
		})
	default:
		return false
	}
	os.Exit(0)
	return true
}

// richBlock has one attribute or block of every shape the protocol carries.
func richBlock() *protocol.Block {
	str := func(opt, comp bool) *protocol.Attribute {
		return &protocol.Attribute{Type: cty.String, Optional: opt, Computed: comp}
	}
	return &protocol.Block{
		Description: "everything",
		Attributes: map[string]*protocol.Attribute{
			"s":        {Type: cty.String, Required: true, Description: "a string"},
			"n":        {Type: cty.Number, Optional: true},
			"b":        {Type: cty.Bool, Optional: true},
			"l":        {Type: cty.List(cty.String), Optional: true},
			"st":       {Type: cty.Set(cty.String), Optional: true},
			"m":        {Type: cty.Map(cty.Number), Optional: true},
			"o":        {Type: cty.Object(map[string]cty.Type{"a": cty.String, "b": cty.List(cty.Number)}), Optional: true},
			"dyn":      {Type: cty.DynamicPseudoType, Optional: true},
			"secret":   {Type: cty.String, Optional: true, Sensitive: true},
			"id":       str(false, true),
			"opt_comp": {Type: cty.String, Optional: true, Computed: true, ForceNew: true},
		},
		BlockTypes: map[string]*protocol.NestedBlock{
			"single": {Nesting: protocol.NestingSingle, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{"x": str(true, false)}}},
			"items": {Nesting: protocol.NestingList, MinItems: 1, MaxItems: 5, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{
				"name": {Type: cty.String, Required: true}, "val": {Type: cty.DynamicPseudoType, Optional: true},
			}}},
			"tags":     {Nesting: protocol.NestingSet, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{"k": str(true, false)}}},
			"labelled": {Nesting: protocol.NestingMap, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{"v": {Type: cty.Number, Optional: true}}}},
		},
	}
}

func fakeSchema() protocol.GetSchemaResponse {
	return protocol.GetSchemaResponse{
		ProviderVersion: "9.9.9",
		Provider: &protocol.Schema{Block: &protocol.Block{Attributes: map[string]*protocol.Attribute{
			"endpoint": {Type: cty.String, Optional: true},
			"token":    {Type: cty.String, Optional: true, Sensitive: true},
		}, BlockTypes: map[string]*protocol.NestedBlock{}}},
		ResourceTypes:      map[string]*protocol.Schema{"fake_thing": {Version: 2, Block: richBlock()}},
		ServerCapabilities: []string{"plan_destroy"},
	}
}

// fakeDiags are diagnostics with every kind of path step.
func fakeDiags() protocol.Diagnostics {
	return protocol.Diagnostics{
		{Severity: protocol.Error, Summary: "bad s", Detail: "s is bad", Attribute: cty.GetAttrPath("s")},
		{Severity: protocol.Warning, Summary: "odd item", Detail: "d", Attribute: cty.GetAttrPath("items").IndexInt(0).GetAttr("name")},
		{Severity: protocol.Error, Summary: "bad label", Attribute: cty.GetAttrPath("labelled").IndexString("eu").GetAttr("v")},
		{Severity: protocol.Warning, Summary: "no path"},
	}
}

// fakeProvider echoes what it is sent, so a round trip can be compared.
type fakeProvider struct {
	stops atomic.Int32
}

func (f *fakeProvider) GetSchema(context.Context, protocol.GetSchemaRequest) protocol.GetSchemaResponse {
	return fakeSchema()
}

func (f *fakeProvider) ValidateProviderConfig(_ context.Context, req protocol.ValidateProviderConfigRequest) protocol.ValidateProviderConfigResponse {
	var d protocol.Diagnostics
	if !req.Config.IsNull() && req.Config.GetAttr("endpoint").RawEquals(cty.StringVal("bad")) {
		d.AttrErrorf(cty.GetAttrPath("endpoint"), "bad endpoint", "")
	}
	return protocol.ValidateProviderConfigResponse{Diagnostics: d}
}

// echoSensitive returns a warning per sensitive path it was given, so a
// test can see the paths travel.
func echoSensitive(paths []cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	for _, p := range paths {
		d = append(d, protocol.Diagnostic{Severity: protocol.Warning, Summary: "sensitive", Attribute: p})
	}
	return d
}

func (f *fakeProvider) ConfigureProvider(_ context.Context, req protocol.ConfigureProviderRequest) protocol.ConfigureProviderResponse {
	return protocol.ConfigureProviderResponse{Diagnostics: echoSensitive(req.SensitivePaths)}
}

func (f *fakeProvider) ValidateResourceConfig(_ context.Context, req protocol.ValidateResourceConfigRequest) protocol.ValidateResourceConfigResponse {
	if len(req.SensitivePaths) > 0 {
		return protocol.ValidateResourceConfigResponse{Diagnostics: echoSensitive(req.SensitivePaths)}
	}
	return protocol.ValidateResourceConfigResponse{Diagnostics: fakeDiags()}
}

func (f *fakeProvider) PlanResourceChange(_ context.Context, req protocol.PlanResourceChangeRequest) protocol.PlanResourceChangeResponse {
	return protocol.PlanResourceChangeResponse{
		PlannedState:    req.ProposedNewState,
		RequiresReplace: []cty.Path{cty.GetAttrPath("opt_comp"), cty.GetAttrPath("items").IndexInt(2).GetAttr("name")},
		PlannedPrivate:  append(append([]byte{}, req.PriorPrivate...), 'p'),
		Diagnostics:     echoSensitive(req.SensitivePaths),
	}
}

func (f *fakeProvider) ApplyResourceChange(_ context.Context, req protocol.ApplyResourceChangeRequest) protocol.ApplyResourceChangeResponse {
	resp := protocol.ApplyResourceChangeResponse{NewState: req.PlannedState, Private: req.PlannedPrivate, Diagnostics: echoSensitive(req.SensitivePaths)}
	if !req.PlannedState.IsNull() && req.PlannedState.GetAttr("s").RawEquals(cty.StringVal("pending")) {
		resp.Pending = &protocol.Pending{Handle: "h-1", Status: "queued", Message: "step 0"}
	}
	return resp
}

func (f *fakeProvider) ReadResource(_ context.Context, req protocol.ReadResourceRequest) protocol.ReadResourceResponse {
	return protocol.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private, Pending: req.Pending, Diagnostics: echoSensitive(req.SensitivePaths)}
}

func (f *fakeProvider) ImportResourceState(_ context.Context, req protocol.ImportResourceStateRequest) protocol.ImportResourceStateResponse {
	ty := richBlock().ImpliedType()
	attrs := map[string]cty.Value{}
	for n, at := range ty.AttributeTypes() {
		attrs[n] = cty.NullVal(at)
	}
	attrs["id"] = cty.StringVal(req.ID)
	attrs["s"] = cty.StringVal("imported")
	// The configuration, when sent, crosses the wire: its secret is kept.
	if req.Config != cty.NilVal && !req.Config.IsNull() {
		attrs["secret"] = req.Config.GetAttr("secret")
	}
	return protocol.ImportResourceStateResponse{Imported: []protocol.ImportedResource{{TypeName: req.TypeName, State: cty.ObjectVal(attrs), Private: []byte("imp")}}}
}

func (f *fakeProvider) UpgradeResourceState(_ context.Context, req protocol.UpgradeResourceStateRequest) protocol.UpgradeResourceStateResponse {
	v, err := ctyjson.Unmarshal(req.RawJSON, richBlock().ImpliedType())
	var d protocol.Diagnostics
	d.FromError("bad json", err)
	return protocol.UpgradeResourceStateResponse{UpgradedState: v, Diagnostics: d}
}

func (f *fakeProvider) StopProvider(context.Context, protocol.StopProviderRequest) protocol.StopProviderResponse {
	f.stops.Add(1)
	return protocol.StopProviderResponse{Error: "stopped"}
}

func (f *fakeProvider) Close() error { return nil }
