package plugin_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// BenchmarkRoundTrip measures one PlanResourceChange of a null_value (a
// typical small object with a dynamic attribute) through the whole stack:
// msgpack encoding, gRPC (with mTLS for the subprocess), the server, the
// sdk framework's planning, and back. "parallel10" keeps ten calls in
// flight, as the engine does.
func BenchmarkRoundTrip(b *testing.B) {
	cfg := cty.ObjectVal(map[string]cty.Value{
		"input": cty.ObjectVal(map[string]cty.Value{
			"model": cty.StringVal("llama-3-8b"), "epochs": cty.NumberIntVal(3),
			"tags": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		}),
		"triggers_replace": cty.StringVal("v1"),
		"output":           cty.NullVal(cty.DynamicPseudoType),
		"id":               cty.NullVal(cty.String),
	})
	prior := cty.ObjectVal(map[string]cty.Value{
		"input": cfg.GetAttr("input"), "triggers_replace": cty.StringVal("v1"),
		"output": cfg.GetAttr("input"), "id": cty.StringVal("0123456789abcdef"),
	})
	req := protocol.PlanResourceChangeRequest{TypeName: "null_value", PriorState: prior, ProposedNewState: cfg, Config: cfg}
	run := func(b *testing.B, p protocol.Provider) {
		ctx := context.Background()
		if r := p.GetSchema(ctx, protocol.GetSchemaRequest{}); r.Diagnostics.HasErrors() {
			b.Fatal(r.Diagnostics.Err())
		}
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := p.PlanResourceChange(ctx, req); r.Diagnostics.HasErrors() {
					b.Fatal(r.Diagnostics.Err())
				}
			}
		})
		b.Run("parallel10", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism((10 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if r := p.PlanResourceChange(ctx, req); r.Diagnostics.HasErrors() {
						b.Error(r.Diagnostics.Err())
						return
					}
				}
			})
		})
	}
	b.Run("direct", func(b *testing.B) { run(b, sdk.NewProtocolProvider(null.Provider())) })
	b.Run("in-process-grpc", func(b *testing.B) { run(b, inProcess(b, sdk.NewProtocolProvider(null.Provider()))) })
	b.Run("subprocess", func(b *testing.B) { run(b, startSubprocess(b, "null", "null")) })
}
