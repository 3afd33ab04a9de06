package kubernetes

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// The dataset transform and embedding index kinds without a cluster: the
// provider's side runs against a fake API server (the Job it creates is
// read back), the pod's side is the runner run here with the container's
// environment, and the remote store is a shared directory. The end-to-end
// tests (e2e_data_test.go) run the same through the CLI on the real
// control plane.

// testMeta is a configured provider on a fake cluster whose remote store
// is a directory.
func testMeta(t *testing.T) (*meta, *fake.Clientset) {
	t.Helper()
	rc := remote.Config{URL: t.TempDir()}
	store, err := remote.OpenStore(context.Background(), t.TempDir(), rc, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl := fake.NewSimpleClientset()
	return &meta{client: cl, namespace: "llm", image: "img", runnerPath: "/r", gpuTypes: defaultGPUTypes, store: store, remote: rc,
		workDir: t.TempDir(), baseEnv: map[string]string{}}, cl
}

// object builds a value of the resource's schema: the given attributes,
// every other one null (nested objects filled the same way).
func object(t *testing.T, r *sdk.Resource, vals map[string]cty.Value) sdk.Object {
	t.Helper()
	v, err := fillObject(r.Schema.Build().ImpliedType(), cty.ObjectVal(vals))
	if err != nil {
		t.Fatal(err)
	}
	return sdk.Object{Value: v}
}

func fillObject(ty cty.Type, v cty.Value) (cty.Value, error) {
	if ty.IsListType() && !v.IsNull() && (v.Type().IsTupleType() || v.Type().IsListType()) && v.LengthInt() > 0 {
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			x, err := fillObject(ty.ElementType(), e)
			if err != nil {
				return cty.NilVal, err
			}
			elems = append(elems, x)
		}
		return cty.ListVal(elems), nil
	}
	if !ty.IsObjectType() || v.IsNull() || !v.Type().IsObjectType() {
		return convert.Convert(v, ty)
	}
	out := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		if !v.Type().HasAttribute(name) {
			out[name] = cty.NullVal(at)
			continue
		}
		x, err := fillObject(at, v.GetAttr(name))
		if err != nil {
			return cty.NilVal, err
		}
		out[name] = x
	}
	return cty.ObjectVal(out), nil
}

func strs(s ...string) cty.Value {
	vals := make([]cty.Value, len(s))
	for i, x := range s {
		vals[i] = cty.StringVal(x)
	}
	return cty.ListVal(vals)
}

// theJob returns the only Job in the fake cluster.
func theJob(t *testing.T, cl *fake.Clientset) *batchv1.Job {
	t.Helper()
	l, err := cl.BatchV1().Jobs("llm").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("want one Job, got %v (%v)", l, err)
	}
	return &l.Items[0]
}

// runPod runs the Job's container as its pod would: the runner, in
// process, with the container's environment; it returns the runner's
// result.
func runPod(t *testing.T, job *batchv1.Job) *result {
	t.Helper()
	c := job.Spec.Template.Spec.Containers[0]
	if c.Command[0] != "/r" || c.Command[1] != RunnerArg || c.Command[2] != "--" {
		t.Fatalf("the container does not run the runner: %v", c.Command)
	}
	for _, e := range c.Env {
		t.Setenv(e.Name, e.Value)
	}
	dir := t.TempDir()
	t.Setenv(EnvRunnerDir, dir)
	t.Setenv(EnvResultFile, filepath.Join(dir, "termination-log"))
	res := runJob(context.Background(), c.Command[3:])
	if res.Status != jobs.StatusSucceeded {
		t.Fatalf("the runner failed: %+v", res)
	}
	return res
}

func containerEnv(job *batchv1.Job) map[string]string {
	out := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		out[e.Name] = e.Value
	}
	return out
}

func TestTransformJob(t *testing.T) {
	m, cl := testMeta(t)
	ctx := context.Background()
	os.WriteFile(filepath.Join(m.workDir, "raw.jsonl"), []byte("{\"text\": \" A \"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n"), 0o644)
	r := datasetResource()
	st := object(t, r, map[string]cty.Value{
		"source": cty.StringVal("file://raw.jsonl"),
		"split":  cty.MapVal(map[string]cty.Value{"train": cty.NumberFloatVal(0.5), "eval": cty.NumberFloatVal(0.5)}),
		"transform": cty.ObjectVal(map[string]cty.Value{
			"command": strs("/bin/sh", "-c", `tr -d ' ' < "$LLMOPS_INPUT_PATH" | tr a-z A-Z > "$LLMOPS_OUTPUT_DIR/data.jsonl"`),
			"env":     cty.MapVal(map[string]cty.Value{"MODE": cty.StringVal("upper")}),
		}),
	})
	resp := r.Create(ctx, &sdk.CreateRequest{TypeName: "dataset", Config: st, Planned: st, Meta: m, Address: "dataset.docs"})
	if resp.Diagnostics.HasErrors() || resp.Pending == nil {
		t.Fatalf("create: pending %v, %v", resp.Pending, resp.Diagnostics.Err())
	}
	job := theJob(t, cl)
	env := containerEnv(job)
	var inputs map[string]string
	json.Unmarshal([]byte(env[jobs.EnvInputs]), &inputs)
	runID := jobs.RunID("transform", resp.State.GetString("identity"))
	switch {
	case job.Name != jobName(runID, 1) || job.Labels[LabelID] != runID || job.Labels[LabelKind] != "dataset" || job.Annotations[AnnotationAddress] != "dataset.docs":
		t.Fatalf("the Job's name and labels: %s %v %v", job.Name, job.Labels, job.Annotations)
	case env[EnvCollect] != collectData || env[EnvCollectFormat] != "jsonl" || env["MODE"] != "upper" || !strings.HasPrefix(inputs[jobs.EnvInputPath], "sha256:"):
		t.Fatalf("the Job's environment: %v", env)
	case !resp.State.IsNull() && resp.State.GetString("id") != "":
		t.Fatalf("a pending dataset has an id: %s", resp.State.GetString("id"))
	}
	res := runPod(t, job)
	out := datasetKind.complete(ctx, m, resp.State, job, 1, res)
	if out.Diagnostics.HasErrors() {
		t.Fatal(out.Diagnostics.Err())
	}
	got := out.State
	if got.GetString("status") != jobs.StatusSucceeded || !strings.HasPrefix(got.GetString("id"), "sha256:") || got.GetInt("rows") != 3 {
		t.Fatalf("the dataset: %v", got.Value.GoString())
	}
	b, _ := os.ReadFile(got.GetString("path"))
	if string(b) != "{\"TEXT\":\"A\"}\n{\"TEXT\":\"B\"}\n{\"TEXT\":\"C\"}\n" {
		t.Fatalf("the dataset's data is not the transform's output: %q", b)
	}
	if len(got.Attr("splits").AsValueMap()) != 2 {
		t.Fatalf("splits: %v", got.Attr("splits").GoString())
	}
	// The Job made the data; once the dataset is built, it is the
	// artifact that a refresh looks for.
	if resp := r.Read(ctx, &sdk.ReadRequest{State: got, Meta: m}); resp != nil && (resp.Diagnostics.HasErrors() || resp.State.Value != cty.NilVal && resp.State.IsNull()) {
		t.Fatalf("read of the built dataset: %+v", resp)
	}
}

func TestTransformRefusesSensitiveCommandAndReportsMissingOutput(t *testing.T) {
	m, _ := testMeta(t)
	os.WriteFile(filepath.Join(m.workDir, "raw.csv"), []byte("a,b\n1,2\n"), 0o644)
	r := datasetResource()
	st := object(t, r, map[string]cty.Value{
		"source":    cty.StringVal("file://raw.csv"),
		"transform": cty.ObjectVal(map[string]cty.Value{"command": strs("clean", "--token", "s3cret")}),
	})
	sens := sdk.SensitivePaths{attr("transform").GetAttr("command").IndexInt(2)}
	resp := r.Create(context.Background(), &sdk.CreateRequest{TypeName: "dataset", Config: st, Planned: st, Meta: m, Sensitive: sens})
	if !resp.Diagnostics.HasErrors() || !strings.Contains(resp.Diagnostics.Err().Error(), "Sensitive command element") || strings.Contains(resp.Diagnostics.Err().Error(), "s3cret") {
		t.Fatalf("a sensitive transform argument: %v", resp.Diagnostics.Err())
	}
	// The runner of a transform that writes nothing says what is missing.
	t.Setenv(jobs.EnvArtifactsURL, m.remote.URL)
	t.Setenv(EnvCollect, collectData)
	t.Setenv(EnvCollectFormat, "csv")
	t.Setenv(EnvRunnerDir, t.TempDir())
	res := runJob(context.Background(), []string{"true"})
	if res.Status == jobs.StatusSucceeded || !strings.Contains(res.Reason, "wrote no $LLMOPS_OUTPUT_DIR/data.csv") {
		t.Fatalf("a transform without output: %+v", res)
	}
}

func TestEmbeddingIndexJob(t *testing.T) {
	m, cl := testMeta(t)
	ctx := context.Background()
	os.WriteFile(filepath.Join(m.workDir, "docs.jsonl"), []byte("{\"text\": \"abcdefg\"}\n{\"text\": \"hij\"}\n"), 0o644)
	dr := datasetResource()
	ds := object(t, dr, map[string]cty.Value{"source": cty.StringVal("file://docs.jsonl")})
	dresp := dr.Create(ctx, &sdk.CreateRequest{TypeName: "dataset", Config: ds, Planned: ds, Meta: m})
	if dresp.Diagnostics.HasErrors() || dresp.Pending != nil {
		t.Fatalf("a dataset without a transform is built at once: %v %v", dresp.Pending, dresp.Diagnostics.Err())
	}
	dsID := dresp.State.GetString("id")
	r := embeddingIndexResource()
	// One vector per chunk read on stdin: its length and the chunk's id.
	embed := strs("/bin/sh", "-c", `while read -r line; do id=${line#*\"id\":}; id=${id%%,*}; echo "[${#line}, $id]"; done`)
	st := object(t, r, map[string]cty.Value{
		"dataset": cty.StringVal(dsID), "command": embed,
		"chunk_size": cty.NumberIntVal(4), "chunk_overlap": cty.NumberIntVal(1),
	})
	resp := r.Create(ctx, &sdk.CreateRequest{TypeName: "embedding_index", Config: st, Planned: st, Meta: m, Address: "embedding_index.docs"})
	if resp.Diagnostics.HasErrors() || resp.Pending == nil {
		t.Fatalf("create: pending %v, %v", resp.Pending, resp.Diagnostics.Err())
	}
	job := theJob(t, cl)
	env := containerEnv(job)
	var inputs map[string]string
	json.Unmarshal([]byte(env[jobs.EnvInputs]), &inputs)
	if env[EnvCollect] != collectEmbeddings || !strings.HasPrefix(inputs[jobs.EnvInputPath], "sha256:") || !strings.HasPrefix(inputs[jobs.EnvDatasetPath], dsID+"/") ||
		job.Labels[LabelKind] != "embedding-index" || job.Labels[LabelID] != jobs.RunID("index", resp.State.GetString("identity")) {
		t.Fatalf("the Job: env %v, labels %v", env, job.Labels)
	}
	res := runPod(t, job)
	out := embeddingKind.complete(ctx, m, resp.State, job, 1, res)
	if out.Diagnostics.HasErrors() {
		t.Fatal(out.Diagnostics.Err())
	}
	got := out.State
	// "abcdefg" in chunks of 4 overlapping by 1: abcd, defg; "hij": hij.
	if got.GetInt("chunks") != 3 || got.GetInt("dimensions") != 2 || got.GetString("id") != got.GetString("digest") || !strings.HasPrefix(got.GetString("id"), "sha256:") {
		t.Fatalf("the index: %s", got.Value.GoString())
	}
	ix, err := retrieval.Open(got.GetString("path"))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 3 || strings.Join(ix.EmbedCommand(), " ") != strings.Join(st.GetStrings("command"), " ") {
		t.Fatalf("the index file: %d chunks, embed command %v", ix.Len(), ix.EmbedCommand())
	}
}
