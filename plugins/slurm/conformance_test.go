package slurm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/conformance"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// TestConformance runs the SDK's conformance suite on the provider, in
// process and as the built binary llmops starts, against the test cluster. The suite's artifact store is
// private, so every input is staged; jobs run in a directory under the
// shared directory (working_dir). The dataset case stores the bundle whose
// id the job and deployment cases use (a bundle is a directory like any
// model); the deployment's replica runs the test binary as its server.
func TestConformance(t *testing.T) {
	env := needSlurm(t)
	h := newHarness(t, nil)
	data := h.write("conf-data.jsonl", strings.Repeat(`{"text": "conformance"}`+"\n", 3)+`{"text": "suite"}`+"\n")
	dsCfg := func(extra map[string]any) cty.Value {
		m := map[string]any{"source": "file://" + data, "split": map[string]float64{"train": 0.5, "eval": 0.5}}
		for k, v := range extra {
			m[k] = v
		}
		return toCty(h.ty("dataset"), m)
	}
	ds := h.run("dataset", dsCfg(nil))
	if ds.Diagnostics.HasErrors() {
		t.Fatal(ds.Diagnostics.Err())
	}
	dsID := str(ds.NewState, "id")
	train := func(script string, extra map[string]any) cty.Value {
		m := map[string]any{"base_model": dsID, "dataset": dsID, "command": []string{"bash", "-c", script}}
		for k, v := range extra {
			m[k] = v
		}
		return toCty(h.ty("training_run"), m)
	}
	const ok = `mkdir -p "$LLMOPS_OUTPUT_DIR/model" && cp "$LLMOPS_BASE_MODEL_PATH/dataset.json" "$LLMOPS_OUTPUT_DIR/model/" && echo '{"loss": 1}' > "$LLMOPS_OUTPUT_DIR/metrics.json"`
	eval := func(acc string, min float64) cty.Value {
		return toCty(h.ty("evaluation"), map[string]any{
			"model": dsID, "dataset": dsID, "command": []string{"bash", "-c", `echo '{"accuracy": ` + acc + `}' > "$LLMOPS_OUTPUT_DIR/metrics.json"`},
			"gate": []any{map[string]any{"metric": "accuracy", "min": min}},
		})
	}
	serve := serveBinary(t, env)
	dep := func(tag string, extra map[string]any) cty.Value {
		m := map[string]any{
			"model": dsID,
			"serve": map[string]any{
				"command": []string{serve, "--port={port}", "--model={model_path}", "--tag=" + tag},
				"env":     map[string]string{"LLMOPS_SLURM_TEST_SERVE": "1"},
			},
			"access":    map[string]any{"api_keys": []string{"sk-conformance-0123456789"}},
			"resources": map[string]any{"max_duration": "30m"},
		}
		for k, v := range extra {
			m[k] = v
		}
		return toCty(h.ty("deployment"), m)
	}
	cases := []conformance.Case{
		{
			TypeName: "dataset", Create: dsCfg(nil), Update: dsCfg(map[string]any{"seed": 7}),
			Invalid: dsCfg(map[string]any{"split": map[string]float64{"train": 0.9, "eval": 0.2}}), InvalidError: "sum to 1",
			KeptAfterDelete: true, // artifacts outlive their objects; the engine's gc removes them
		},
		{
			TypeName: "training_run",
			Create:   train(ok, nil),
			Update:   train(ok, map[string]any{"resources": map[string]any{"max_duration": "1h"}, "retry": map[string]any{"attempts": 2}}),
			Replace:  train(ok+" # v2", nil),
			Invalid:  train(ok, map[string]any{"retry": map[string]any{"on": []string{"sometimes"}}}), InvalidError: "not one of",
		},
		{Name: "training_run_failing", TypeName: "training_run", Create: train("echo boom-marker; exit 4", nil), FailsWith: "boom-marker"},
		{
			TypeName: "evaluation", Create: eval("0.9", 0.5), Update: eval("0.9", 0.6), Replace: eval("0.95", 0.6),
			Invalid: toCty(h.ty("evaluation"), map[string]any{"model": dsID}), InvalidError: "no built-in evaluations",
		},
		{Name: "evaluation_gate_failing", TypeName: "evaluation", Create: eval("0.4", 0.5), FailsWith: "accuracy"},
		{
			// A serving job behind the gateway; the update rolls out
			// revision 2 (a new serve argument) blue/green.
			TypeName: "deployment", Create: dep("c1", nil), Update: dep("c2", nil), Replace: dep("c2", map[string]any{"port": 1}),
			Invalid: dep("c3", map[string]any{"access": map[string]any{"requests_per_minute": 10}}), InvalidError: "public = true",
			ImportID: func(st cty.Value) string { return st.GetAttr("id").AsString() },
		},
	}
	os.MkdirAll(filepath.Join(h.workDir, "run"), 0o755)
	pcfg := toCty(h.schema.Provider.Block.ImpliedType(), map[string]any{
		"url": env.URL, "user": env.User, "token_file": env.TokenFile, "shared_dir": env.Shared, "partition": env.Partition,
		"working_dir": filepath.Join(h.workDir, "run"),
	})
	cfg := conformance.Config{
		ProviderType: "slurm", ProviderConfig: pcfg, Cases: cases,
		PendingTimeout: 3 * time.Minute, PollInterval: 200 * time.Millisecond,
	}
	t.Run("InProcess", func(t *testing.T) {
		c := cfg
		c.Factory = func() protocol.Provider { return sdk.NewProtocolProvider(Provider()) }
		conformance.Run(t, c)
	})
	t.Run("Binary", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the provider binary")
		}
		c := cfg
		c.ProviderPath = conformance.Build(t, "github.com/llmops/llmops/cmd/llmops-provider-slurm", "slurm")
		conformance.Run(t, c)
	})
}
