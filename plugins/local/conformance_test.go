package local_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/local"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/conformance"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// conformanceCases exercises every kind the local provider serves. The
// suite gives the provider a fresh artifact store, and runs the cases in
// order: the model and dataset cases store the artifacts (content
// addressed, so their ids are known beforehand) that the job cases use.
func conformanceCases(t *testing.T) ([]conformance.Case, cty.Value) {
	fx := fixtures(t)
	modelDigest, err := artifacts.HashPath(filepath.Join(fx, "base"), artifacts.HashOptions{})
	must(t, err)
	split := splitVal(map[string]float64{"train": 0.8, "eval": 0.2})
	dsSource := str("file://" + filepath.Join(fx, "data.jsonl"))
	// The dataset's id, from a throwaway store.
	h := newHarness(t, t.TempDir(), fx)
	ds := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": dsSource, "split": split}))
	if ds.diags.HasErrors() {
		t.Fatal(diagText(ds.diags))
	}
	modelID, dsID := str(string(modelDigest.ID)), str(attrStr(ds.state, "id"))
	job := func(name string, env map[string]string, m map[string]cty.Value) cty.Value {
		e := map[string]string{"LLMOPS_TEST_JOB": name}
		for k, v := range env {
			e[k] = v
		}
		m["command"] = strs(testJobCommand(t))
		m["env"] = smap(e)
		return obj(m)
	}
	hp := func(lr float64) cty.Value {
		return obj(map[string]cty.Value{"learning_rate": num(lr), "epochs": cty.NumberIntVal(1)})
	}
	gates := func(min float64) cty.Value { return cty.ListVal([]cty.Value{gate("accuracy", num(min), null)}) }
	cases := []conformance.Case{
		{
			TypeName:     "model",
			Create:       obj(map[string]cty.Value{"source": str("file://" + filepath.Join(fx, "base")), "license": str("apache-2.0")}),
			Update:       obj(map[string]cty.Value{"source": str("file://" + filepath.Join(fx, "base")), "license": str("mit")}),
			Invalid:      obj(map[string]cty.Value{"source": str("s3://bucket/model")}),
			InvalidError: "Unsupported model source",
			ImportID:     func(st cty.Value) string { return st.GetAttr("id").AsString() },
			StateOnly:    true, // artifacts outlive their objects; the engine's gc removes them
		},
		{
			TypeName:     "dataset",
			Create:       obj(map[string]cty.Value{"source": dsSource, "split": split}),
			Update:       obj(map[string]cty.Value{"source": dsSource, "split": split, "seed": cty.NumberIntVal(7)}),
			Invalid:      obj(map[string]cty.Value{"source": dsSource, "split": splitVal(map[string]float64{"train": 0.9, "eval": 0.2})}),
			InvalidError: "sum to 1",
			StateOnly:    true,
		},
		{
			TypeName:     "prompt",
			Create:       obj(map[string]cty.Value{"template": str("Hi {{name}}"), "variables": strs("name")}),
			Update:       obj(map[string]cty.Value{"template": str("Hello {{ name }}!"), "variables": strs("name")}),
			Invalid:      obj(map[string]cty.Value{"template": str("Hi {{x}}"), "variables": strs("y")}),
			InvalidError: "not declared",
			StateOnly:    true,
		},
		{
			TypeName: "training_run",
			Create:   job("train", nil, map[string]cty.Value{"base_model": modelID, "dataset": dsID, "hyperparameters": hp(0.01)}),
			Update: job("train", nil, map[string]cty.Value{"base_model": modelID, "dataset": dsID, "hyperparameters": hp(0.01),
				"resources": resources(map[string]cty.Value{"max_duration": str("1h")})}),
			Replace:      job("train", nil, map[string]cty.Value{"base_model": modelID, "dataset": dsID, "hyperparameters": hp(0.02)}),
			Invalid:      obj(map[string]cty.Value{"base_model": modelID, "command": cty.ListValEmpty(cty.String)}),
			InvalidError: "command is empty",
		},
		{
			Name:      "training_run_failing",
			TypeName:  "training_run",
			Create:    job("fail", nil, map[string]cty.Value{"base_model": modelID}),
			FailsWith: "boom at step 31",
		},
		{
			TypeName:     "evaluation",
			Create:       job("eval", map[string]string{"LLMOPS_TEST_ACCURACY": "0.9"}, map[string]cty.Value{"model": modelID, "dataset": dsID, "gate": gates(0.5)}),
			Update:       job("eval", map[string]string{"LLMOPS_TEST_ACCURACY": "0.9"}, map[string]cty.Value{"model": modelID, "dataset": dsID, "gate": gates(0.6)}),
			Replace:      job("eval", map[string]string{"LLMOPS_TEST_ACCURACY": "0.8"}, map[string]cty.Value{"model": modelID, "dataset": dsID, "gate": gates(0.6)}),
			Invalid:      obj(map[string]cty.Value{"model": modelID, "command": strs("x"), "gate": cty.ListVal([]cty.Value{gate("accuracy", null, null)})}),
			InvalidError: "no bound",
		},
		{
			Name:      "evaluation_gate_failing",
			TypeName:  "evaluation",
			Create:    job("eval", map[string]string{"LLMOPS_TEST_ACCURACY": "0.4"}, map[string]cty.Value{"model": modelID, "gate": gates(0.5)}),
			FailsWith: `gate "accuracy" failed: 0.4 < min 0.5`,
		},
		{
			TypeName:     "embedding_index",
			Create:       job("embed", nil, map[string]cty.Value{"dataset": dsID, "chunk_size": cty.NumberIntVal(20), "chunk_overlap": cty.NumberIntVal(5)}),
			Replace:      job("embed", nil, map[string]cty.Value{"dataset": dsID, "chunk_size": cty.NumberIntVal(30), "chunk_overlap": cty.NumberIntVal(5)}),
			Invalid:      obj(map[string]cty.Value{"dataset": dsID, "command": strs("x"), "chunk_size": cty.NumberIntVal(10), "chunk_overlap": cty.NumberIntVal(10)}),
			InvalidError: "smaller than chunk_size",
		},
		{
			TypeName:     "deployment",
			Create:       h.deployment(depCfg{model: string(modelDigest.ID), tag: "c1", keys: []string{depKey}}),
			Update:       h.deployment(depCfg{model: string(modelDigest.ID), tag: "c2", keys: []string{depKey}}),
			Replace:      withAttr(h.deployment(depCfg{model: string(modelDigest.ID), tag: "c2", keys: []string{depKey}}), "port", cty.NumberIntVal(1)),
			Invalid:      h.deployment(depCfg{model: string(modelDigest.ID), tag: "c3"}),
			InvalidError: "public = true",
			ImportID:     func(st cty.Value) string { return st.GetAttr("id").AsString() },
		},
	}
	providerConfig := cty.ObjectVal(map[string]cty.Value{"allowed_roots": strs(fx)})
	return cases, providerConfig
}

// TestConformance builds llmops-provider-local and runs the suite on it out
// of process, exactly as llmops runs it (jobs are supervised by the built
// binary).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	bin := conformance.Build(t, "github.com/llmops/llmops/cmd/llmops-provider-local", "local")
	cases, pc := conformanceCases(t)
	data, env := dataCases(t, pc)
	conformance.Run(t, conformance.Config{ProviderPath: bin, Cases: cases, DataCases: data, Env: env, ProviderConfig: pc, PollInterval: 50 * time.Millisecond})
}

// TestConformanceInProcess runs the suite on the provider in process (jobs
// are supervised by the test binary, see TestMain).
func TestConformanceInProcess(t *testing.T) {
	cases, pc := conformanceCases(t)
	data, env := dataCases(t, pc)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	conformance.Run(t, conformance.Config{
		Factory: func() protocol.Provider { return sdk.NewProtocolProvider(local.Provider()) },
		Cases:   cases, DataCases: data, ProviderConfig: pc, PollInterval: 50 * time.Millisecond,
	})
}

// dataCases reads the model and dataset data sources: a model from a
// file, one from a Hugging Face cache laid out in a temporary directory
// (HF_HUB_CACHE, returned in env), and a dataset file.
func dataCases(t *testing.T, pc cty.Value) ([]conformance.DataCase, []string) {
	fx := pc.GetAttr("allowed_roots").Index(cty.NumberIntVal(0)).AsString()
	cache := t.TempDir()
	commit := strings.Repeat("c0", 20)
	snap := filepath.Join(cache, "models--org--tiny", "snapshots", commit)
	must(t, os.MkdirAll(snap, 0o755))
	must(t, os.MkdirAll(filepath.Join(cache, "models--org--tiny", "refs"), 0o755))
	must(t, os.WriteFile(filepath.Join(cache, "models--org--tiny", "refs", "main"), []byte(commit), 0o644))
	must(t, os.WriteFile(filepath.Join(snap, "config.json"), []byte(`{"layers": 2}`), 0o644))
	return []conformance.DataCase{
		{Name: "data.model file", TypeName: "model", Config: obj(map[string]cty.Value{"source": str("file://" + filepath.Join(fx, "base"))}),
			Invalid: obj(map[string]cty.Value{"source": str("hf://org/absent")}), InvalidError: "Cannot find the model"},
		{Name: "data.model hf", TypeName: "model", Config: obj(map[string]cty.Value{"source": str("hf://org/tiny"), "revision": str("main")})},
		{TypeName: "dataset", Config: obj(map[string]cty.Value{"source": str("file://" + filepath.Join(fx, "data.jsonl"))}),
			Invalid: obj(map[string]cty.Value{"source": str("s3://bucket/data")}), InvalidError: "Cannot find the dataset"},
	}, []string{"HF_HUB_CACHE=" + cache}
}

// withAttr returns an object value with one attribute replaced.
func withAttr(v cty.Value, name string, a cty.Value) cty.Value {
	m := v.AsValueMap()
	m[name] = a
	return cty.ObjectVal(m)
}
