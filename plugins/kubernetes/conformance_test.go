package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/internal/testenv"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/conformance"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// TestConformance runs the SDK's conformance suite on the provider, in
// process and as the built binary llmops starts, against the test control
// plane (scripts/k8s-test-env.sh) with the S3 emulator
// (scripts/aws-test-env.sh) as the remote artifact store. The test acts as
// the kubelet (kubelet_test.go): it runs the jobs' pods here through the
// runner; kwok marks serving pods Ready. The untransformed dataset case
// stores the bundle whose id the other cases use (a bundle is a directory
// like any model), stored in the remote store beforehand (the suite's
// local store is private: the provider fetches the bundle by its id).
func TestConformance(t *testing.T) {
	c := needCluster(t)
	aws := testenv.NeedAWS(t)
	aws.Setenv(t) // the in-process provider reaches the store with them
	ns := c.namespace(t)
	startKubelet(t, c.client, ns, aws.Env())
	bucket := aws.NewBucket(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "conf-data.jsonl")
	if err := os.WriteFile(data, []byte(strings.Repeat(`{"text": "conformance suite"}`+"\n", 3)+`{"text": "kubernetes"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, n := cty.StringVal, cty.NumberIntVal
	obj := cty.ObjectVal
	list := func(xs ...string) cty.Value { return strs(xs...) }
	split := cty.MapVal(map[string]cty.Value{"train": cty.NumberFloatVal(0.5), "eval": cty.NumberFloatVal(0.5)})
	// Every attribute of a nested block must be given: fit fills the
	// ones left out with nulls.
	schemas := Provider().Resources
	fit := func(typ string, v cty.Value) cty.Value {
		out, err := fillObject(schemas[typ].Schema.Build().ImpliedType(), v)
		if err != nil {
			t.Fatalf("a %s configuration: %v", typ, err)
		}
		return out
	}
	dataset := func(extra map[string]cty.Value) cty.Value {
		m := map[string]cty.Value{"source": s("file://" + data), "split": split}
		for k, v := range extra {
			m[k] = v
		}
		return fit("dataset", obj(m))
	}
	transform := func(cmd string) cty.Value {
		return obj(map[string]cty.Value{"command": list("/bin/sh", "-c", cmd)})
	}
	const upper = `tr a-z A-Z < "$LLMOPS_INPUT_PATH" > "$LLMOPS_OUTPUT_DIR/data.jsonl"`

	pcfg := obj(map[string]cty.Value{
		"kubeconfig": s(c.kubeconfig), "namespace": s(ns), "image": s("ghcr.io/acme/train:1.4"),
		"runner_path": s(filepath.Join(binaries(t), "llmops-provider-kubernetes")),
	})
	store := protocol.ArtifactStore{URL: "s3://" + bucket + "/conformance", Endpoint: aws.Endpoint, PathStyle: true, Region: aws.Region}
	id := conformanceDatasetID(t, data, store)
	const ok = `mkdir -p "$LLMOPS_OUTPUT_DIR/model" && cp "$LLMOPS_BASE_MODEL_PATH/dataset.json" "$LLMOPS_OUTPUT_DIR/model/" && echo '{"loss": 1}' > "$LLMOPS_OUTPUT_DIR/metrics.json"`
	train := func(script string, extra map[string]cty.Value) cty.Value {
		m := map[string]cty.Value{"base_model": s(id), "dataset": s(id), "command": list("/bin/sh", "-c", script)}
		for k, v := range extra {
			m[k] = v
		}
		return fit("training_run", obj(m))
	}
	eval := func(acc string, min float64) cty.Value {
		return fit("evaluation", obj(map[string]cty.Value{
			"model": s(id), "dataset": s(id), "command": list("/bin/sh", "-c", `echo '{"accuracy": `+acc+`}' > "$LLMOPS_OUTPUT_DIR/metrics.json"`),
			"gate": cty.TupleVal([]cty.Value{obj(map[string]cty.Value{"metric": s("accuracy"), "min": cty.NumberFloatVal(min)})}),
		}))
	}
	embed := func(size int64, extra map[string]cty.Value) cty.Value {
		m := map[string]cty.Value{"dataset": s(id), "chunk_size": n(size), "chunk_overlap": n(2),
			"command": list("/bin/sh", "-c", `while read -r line; do echo "[${#line}, 1]"; done`)}
		for k, v := range extra {
			m[k] = v
		}
		return fit("embedding_index", obj(m))
	}
	dep := func(tag string, extra map[string]cty.Value) cty.Value {
		m := map[string]cty.Value{
			"model":  s(id),
			"serve":  obj(map[string]cty.Value{"command": list("vllm", "serve", "{model_path}", "--port", "{port}"), "env": cty.MapVal(map[string]cty.Value{"TAG": s(tag)})}),
			"access": obj(map[string]cty.Value{"api_keys": list("sk-conformance-0123456789")}),
		}
		for k, v := range extra {
			m[k] = v
		}
		return fit("deployment", obj(m))
	}
	jobID := func(st cty.Value) string { return st.GetAttr("job_id").AsString() }
	maxDur := func(d string) map[string]cty.Value {
		return map[string]cty.Value{"resources": obj(map[string]cty.Value{"max_duration": s(d)})}
	}
	cases := []conformance.Case{
		{
			TypeName: "dataset", Create: dataset(nil), Update: dataset(map[string]cty.Value{"seed": n(7)}),
			Invalid: dataset(map[string]cty.Value{"split": cty.MapVal(map[string]cty.Value{"train": cty.NumberFloatVal(0.9), "eval": cty.NumberFloatVal(0.2)})}), InvalidError: "sum to 1",
			KeptAfterDelete: true, // artifacts outlive their objects; the engine's gc removes them
		},
		{
			Name: "dataset_transform", TypeName: "dataset",
			Create: dataset(map[string]cty.Value{"transform": transform(upper)}),
			Update: dataset(map[string]cty.Value{"transform": transform(upper), "description": s("upper-cased")}),
			Invalid: dataset(map[string]cty.Value{"transform": obj(map[string]cty.Value{"command": list("true"),
				"env": cty.MapVal(map[string]cty.Value{"LLMOPS_RUN_ID": s("x")})})}), InvalidError: "env cannot set LLMOPS_RUN_ID",
			KeptAfterDelete: true,
		},
		{Name: "dataset_transform_failing", TypeName: "dataset", Create: dataset(map[string]cty.Value{"transform": transform("echo transform-boom >&2; exit 3")}), FailsWith: "exit status 3"},
		{
			TypeName: "training_run", Create: train(ok, nil), Update: train(ok, maxDur("1h")), Replace: train(ok+" # v2", nil),
			Invalid: train(ok, map[string]cty.Value{"retry": obj(map[string]cty.Value{"on": list("sometimes")})}), InvalidError: "not one of",
			ImportID: jobID,
		},
		{Name: "training_run_failing", TypeName: "training_run", Create: train("echo boom-marker; exit 4", nil), FailsWith: "exit status 4"},
		{
			TypeName: "evaluation", Create: eval("0.9", 0.5), Update: eval("0.9", 0.6), Replace: eval("0.95", 0.6),
			Invalid: fit("evaluation", obj(map[string]cty.Value{"model": s(id)})), InvalidError: "no built-in evaluations",
			ImportID: jobID,
		},
		{Name: "evaluation_gate_failing", TypeName: "evaluation", Create: eval("0.4", 0.5), FailsWith: "accuracy"},
		{
			TypeName: "embedding_index", Create: embed(8, nil), Update: embed(8, maxDur("1h")), Replace: embed(12, nil),
			Invalid: embed(8, map[string]cty.Value{"chunk_overlap": n(8)}), InvalidError: "must be smaller than chunk_size",
			KeptAfterDelete: true,
		},
		{
			// Revision 2 (a new serve env) rolls out blue/green; kwok
			// marks the pods Ready.
			TypeName: "deployment", Create: dep("c1", nil), Update: dep("c2", nil), Replace: dep("c2", map[string]cty.Value{"port": n(1)}),
			Invalid: dep("c3", map[string]cty.Value{"access": obj(map[string]cty.Value{"requests_per_minute": n(10)})}), InvalidError: "public = true",
			ImportID: func(st cty.Value) string { return st.GetAttr("id").AsString() },
		},
	}
	cfg := conformance.Config{
		ProviderType: "kubernetes", ProviderConfig: pcfg, Cases: cases, ArtifactStore: store,
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
		c.ProviderPath = filepath.Join(binaries(t), "llmops-provider-kubernetes")
		c.Env = aws.Env()
		conformance.Run(t, c)
	})
}

// conformanceDatasetID stores a dataset bundle of data in the remote
// store and returns its id.
func conformanceDatasetID(t *testing.T, data string, store protocol.ArtifactStore) string {
	t.Helper()
	ctx := context.Background()
	st, err := remote.OpenStore(ctx, t.TempDir(), remote.Config(store), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := jobs.BuildDatasetBundle(dir, data, "jsonl", "", map[string]float64{"train": 0.5, "eval": 0.5}, 1); err != nil {
		t.Fatal(err)
	}
	info, err := st.PutContext(ctx, dir, artifacts.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(info.ID)
}
