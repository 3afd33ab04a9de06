package plugin_test

import (
	"context"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func TestMain(m *testing.M) {
	if servePluginMode() {
		return
	}
	os.Exit(m.Run())
}

// startSubprocess starts the test binary as a provider plugin in mode.
func startSubprocess(t testing.TB, typ, mode string, env ...string) *plugin.Client {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := plugin.Start(context.Background(), plugin.StartOptions{
		Path: exe, Type: typ,
		Env:    append([]string{envMode + "=" + mode}, env...),
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}}),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*plugin.Client)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// inProcess connects to impl through go-plugin's in-memory gRPC test
// server: the same client and server code, no process.
func inProcess(t testing.TB, impl protocol.Provider) protocol.Provider {
	t.Helper()
	client, server := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		plugin.PluginName: &plugin.GRPCProviderPlugin{Impl: impl, Name: "fake"},
	})
	_ = server // client.Close asks the server to stop
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(plugin.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(protocol.Provider)
}

// transports runs f over both an in-process connection and a subprocess.
func transports(t *testing.T, f func(t *testing.T, p protocol.Provider)) {
	t.Run("in-process", func(t *testing.T) { f(t, inProcess(t, &fakeProvider{})) })
	t.Run("subprocess", func(t *testing.T) { f(t, startSubprocess(t, "fake", "fake")) })
}

func TestSchemaRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		got := p.GetSchema(context.Background(), protocol.GetSchemaRequest{})
		if got.Diagnostics.HasErrors() {
			t.Fatal(got.Diagnostics.Err())
		}
		want := fakeSchema()
		if got.ProviderVersion != want.ProviderVersion || !reflect.DeepEqual(got.ServerCapabilities, want.ServerCapabilities) {
			t.Errorf("version/capabilities: got %q %v", got.ProviderVersion, got.ServerCapabilities)
		}
		if got.ResourceTypes["fake_thing"].Version != 2 {
			t.Errorf("schema version: got %d", got.ResourceTypes["fake_thing"].Version)
		}
		if !got.ResourceTypes["fake_thing"].Block.ImpliedType().Equals(want.ResourceTypes["fake_thing"].Block.ImpliedType()) {
			t.Errorf("implied type differs:\n got %#v\nwant %#v", got.ResourceTypes["fake_thing"].Block.ImpliedType(), want.ResourceTypes["fake_thing"].Block.ImpliedType())
		}
		if d := blockDiff(got.ResourceTypes["fake_thing"].Block, want.ResourceTypes["fake_thing"].Block, ""); d != "" {
			t.Errorf("resource block differs: %s", d)
		}
		if d := blockDiff(got.Provider.Block, want.Provider.Block, ""); d != "" {
			t.Errorf("provider block differs: %s", d)
		}
		sens := got.ResourceTypes["fake_thing"].Block.SensitivePaths()
		if len(sens) != 1 || protocol.PathString(sens[0]) != "secret" {
			t.Errorf("sensitive paths: %v", sens)
		}
	})
}

func TestDiagnosticsRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		resp := p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{
			TypeName: "fake_thing", Config: cty.NullVal(richBlock().ImpliedType()),
		})
		want := fakeDiags()
		if len(resp.Diagnostics) != len(want) {
			t.Fatalf("got %d diagnostics, want %d: %v", len(resp.Diagnostics), len(want), resp.Diagnostics)
		}
		for i, d := range resp.Diagnostics {
			w := want[i]
			if d.Severity != w.Severity || d.Summary != w.Summary || d.Detail != w.Detail || !d.Attribute.Equals(w.Attribute) {
				t.Errorf("diagnostic %d: got %+v (%s), want %+v (%s)", i, d, protocol.PathString(d.Attribute), w, protocol.PathString(w.Attribute))
			}
		}
		cfg := cty.ObjectVal(map[string]cty.Value{"endpoint": cty.StringVal("bad"), "token": cty.NullVal(cty.String)})
		vr := p.ValidateProviderConfig(context.Background(), protocol.ValidateProviderConfigRequest{Config: cfg})
		if len(vr.Diagnostics) != 1 || protocol.PathString(vr.Diagnostics[0].Attribute) != "endpoint" {
			t.Errorf("provider config diagnostics: %+v", vr.Diagnostics)
		}
	})
}

// The paths of sensitive values reach the provider on every call that
// carries configuration or state.
func TestSensitivePathsRoundTrip(t *testing.T) {
	paths := []cty.Path{
		cty.GetAttrPath("secret"),
		cty.GetAttrPath("m").IndexString("TOKEN"),
		cty.GetAttrPath("items").IndexInt(1).GetAttr("name"),
		// "every element" cannot travel: the path ends before it, which
		// covers the whole collection.
		cty.GetAttrPath("labelled").Index(cty.UnknownVal(cty.String)).GetAttr("v"),
	}
	want := []string{"secret", `m["TOKEN"]`, "items[1].name", "labelled"}
	check := func(t *testing.T, call string, d protocol.Diagnostics) {
		t.Helper()
		var got []string
		for _, x := range d {
			if x.Summary == "sensitive" {
				got = append(got, protocol.PathString(x.Attribute))
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the provider got sensitive paths %q, want %q", call, got, want)
		}
	}
	transports(t, func(t *testing.T, p protocol.Provider) {
		ctx := context.Background()
		v := cty.NullVal(richBlock().ImpliedType())
		pcfg := cty.ObjectVal(map[string]cty.Value{"endpoint": cty.NullVal(cty.String), "token": cty.NullVal(cty.String)})
		check(t, "ConfigureProvider", p.ConfigureProvider(ctx, protocol.ConfigureProviderRequest{Config: pcfg, SensitivePaths: paths}).Diagnostics)
		check(t, "ValidateResourceConfig", p.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: "fake_thing", Config: v, SensitivePaths: paths}).Diagnostics)
		check(t, "PlanResourceChange", p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: "fake_thing", PriorState: v, ProposedNewState: v, Config: v, SensitivePaths: paths}).Diagnostics)
		check(t, "ApplyResourceChange", p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: "fake_thing", PriorState: v, PlannedState: v, Config: v, SensitivePaths: paths}).Diagnostics)
		check(t, "ReadResource", p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "fake_thing", CurrentState: v, SensitivePaths: paths}).Diagnostics)
	})
}

func TestUnknownResourceType(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		resp := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "fake_nope"})
		if !resp.Diagnostics.HasErrors() || !strings.Contains(resp.Diagnostics.Err().Error(), `"fake_nope"`) {
			t.Fatalf("want an error naming the type, got %v", resp.Diagnostics)
		}
		if !strings.Contains(resp.Diagnostics.Err().Error(), "fake_thing") {
			t.Errorf("the error should list the types served: %v", resp.Diagnostics.Err())
		}
	})
}

func TestImportUpgradeStop(t *testing.T) {
	transports(t, func(t *testing.T, p protocol.Provider) {
		ctx := context.Background()
		ir := p.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: "fake_thing", ID: "abc"})
		if ir.Diagnostics.HasErrors() || len(ir.Imported) != 1 {
			t.Fatalf("import: %+v", ir)
		}
		if got := ir.Imported[0]; got.State.GetAttr("id").AsString() != "abc" || string(got.Private) != "imp" || got.TypeName != "fake_thing" || !got.State.GetAttr("secret").IsNull() {
			t.Errorf("import: %#v", got)
		}
		// With the resource's configuration (partly unknown), which reaches
		// the provider.
		ty := richBlock().ImpliedType()
		cfg := map[string]cty.Value{}
		for n, at := range ty.AttributeTypes() {
			cfg[n] = cty.NullVal(at)
		}
		cfg["secret"], cfg["s"] = cty.StringVal("tok"), cty.UnknownVal(cty.String)
		ir = p.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: "fake_thing", ID: "abc", Config: cty.ObjectVal(cfg)})
		if ir.Diagnostics.HasErrors() || len(ir.Imported) != 1 || !ir.Imported[0].State.GetAttr("secret").RawEquals(cty.StringVal("tok")) {
			t.Errorf("import with configuration: %+v", ir)
		}
		ur := p.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{TypeName: "fake_thing", Version: 1, RawJSON: []byte(`{"s":"old","dyn":{"value":3,"type":"number"}}`)})
		if ur.Diagnostics.HasErrors() {
			t.Fatal(ur.Diagnostics.Err())
		}
		if !ur.UpgradedState.GetAttr("dyn").RawEquals(cty.NumberIntVal(3)) || ur.UpgradedState.GetAttr("s").AsString() != "old" {
			t.Errorf("upgrade: %#v", ur.UpgradedState)
		}
		if sr := p.StopProvider(ctx, protocol.StopProviderRequest{}); sr.Error != "stopped" {
			t.Errorf("stop: %+v", sr)
		}
	})
}

func TestParseReattach(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string // type -> network:addr
		wantErr  string
	}{
		{"unix", `{"null":{"Protocol":"grpc","ProtocolVersion":1,"Pid":42,"Test":true,"Addr":{"Network":"unix","String":"/tmp/p1"}}}`,
			map[string]string{"null": "unix:/tmp/p1"}, ""},
		{"two", `{"a":{"Addr":{"Network":"tcp","String":"127.0.0.1:1234"}},"b":{"Addr":{"Network":"unix","String":"/s"}}}`,
			map[string]string{"a": "tcp:127.0.0.1:1234", "b": "unix:/s"}, ""},
		{"bad json", `{`, nil, "invalid LLMOPS_REATTACH_PROVIDERS"},
		{"bad network", `{"x":{"Addr":{"Network":"udp","String":"1"}}}`, nil, `provider "x": unknown network`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := plugin.ParseReattach(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotS := map[string]string{}
			for typ, rc := range got {
				gotS[typ] = rc.Addr.Network() + ":" + rc.Addr.String()
				if rc.Protocol != goplugin.ProtocolGRPC {
					t.Errorf("%s: protocol %q", typ, rc.Protocol)
				}
			}
			if !reflect.DeepEqual(gotS, tt.want) {
				t.Errorf("got %v want %v", gotS, tt.want)
			}
			line, err := plugin.FormatReattach(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := plugin.ParseReattach(line)
			if err != nil || len(again) != len(got) {
				t.Errorf("format/parse round trip: %v %v", again, err)
			}
		})
	}
}

// blockDiff describes the first difference between two blocks, or "".
func blockDiff(got, want *protocol.Block, at string) string {
	if got.Description != want.Description {
		return at + ": description " + got.Description + " != " + want.Description
	}
	if !reflect.DeepEqual(sortedKeys(got.Attributes), sortedKeys(want.Attributes)) {
		return at + ": attributes " + strings.Join(sortedKeys(got.Attributes), ",") + " != " + strings.Join(sortedKeys(want.Attributes), ",")
	}
	for n, wa := range want.Attributes {
		ga := *got.Attributes[n]
		w := *wa
		if !ga.Type.Equals(w.Type) {
			return at + "." + n + ": type " + ga.Type.GoString() + " != " + w.Type.GoString()
		}
		ga.Type, w.Type = cty.NilType, cty.NilType
		if ga != w {
			return at + "." + n + ": flags differ"
		}
	}
	if !reflect.DeepEqual(sortedKeys(got.BlockTypes), sortedKeys(want.BlockTypes)) {
		return at + ": block types " + strings.Join(sortedKeys(got.BlockTypes), ",") + " != " + strings.Join(sortedKeys(want.BlockTypes), ",")
	}
	for n, wb := range want.BlockTypes {
		gb := got.BlockTypes[n]
		if gb.Nesting != wb.Nesting || gb.MinItems != wb.MinItems || gb.MaxItems != wb.MaxItems {
			return at + "." + n + ": nesting or limits differ"
		}
		if d := blockDiff(&gb.Block, &wb.Block, at+"."+n); d != "" {
			return d
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
