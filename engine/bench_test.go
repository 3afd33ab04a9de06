package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// chainSource is the shape of `make bench`: ten chains of test_value.
func chainSource(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		parent := `"root"`
		if i >= 10 {
			parent = fmt.Sprintf("test_value.r%d.output.name", i-10)
		}
		fmt.Fprintf(&b, "resource \"test_value\" \"r%d\" {\n  input = { name = \"r%d\", parent = %s, lr = 0.0002, epochs = 3 }\n}\n", i, i, parent)
	}
	return []byte(b.String())
}

func BenchmarkLoad1000(b *testing.B) {
	src := map[string][]byte{"main.llmops.hcl": chainSource(1000)}
	b.SetBytes(int64(len(src["main.llmops.hcl"])))
	for i := 0; i < b.N; i++ {
		if _, diags := configs.LoadSources("/tmp", src); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

func BenchmarkGraphBuild1000(b *testing.B) {
	cfg, diags := configs.LoadSources("/tmp", map[string][]byte{"main.llmops.hcl": chainSource(1000)})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	e := New(Options{Config: cfg, Providers: FactoryFunc(func(context.Context, addrs.ProviderConfig) (protocol.Provider, error) {
		return newTestProvider(), nil
	})})
	ctx := context.Background()
	e.startProviders(ctx, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, diags := e.buildGraph(ctx, nil); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// BenchmarkPlanPerObject is a no-op plan of 1,000 recorded objects with an
// in-process provider: the engine's own cost per object.
func BenchmarkPlanPerObject(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": string(chainSource(1000))})
	if _, _, diags := h.apply(PlanOptions{}); diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := h.plan(PlanOptions{})
		if p.HasChanges() {
			b.Fatal("no-op plan has changes")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/object")
}
