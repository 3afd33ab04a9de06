package slurm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// An evaluation gate on a model trained on the cluster: a gate met passes,
// a gate missed fails with the measured value, and a changed gate is
// checked again without a rerun.
func TestLiveEvaluationGate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tr := h.run("training_run", trainConfig(h, map[string]any{"command": []string{"bash", "train.sh", "eval-gate"}, "resources": nil}))
	if tr.Diagnostics.HasErrors() {
		t.Fatal(tr.Diagnostics.Err())
	}
	model := str(tr.NewState, "output_model")
	h.write("eval.sh", `set -eu
test -f "$LLMOPS_MODEL_PATH/weights.bin"
test -f "$LLMOPS_DATASET_PATH"
echo "evaluating $LLMOPS_MODEL_PATH on $LLMOPS_DATASET_PATH"
echo '{"accuracy": 0.9, "loss": 0.3}' > "$LLMOPS_OUTPUT_DIR/metrics.json"
`)
	evalCfg := func(min float64) cty.Value {
		return toCty(h.ty("evaluation"), map[string]any{
			"model": model, "dataset": h.dataset([]string{`{"text":"x"}`, `{"text":"y"}`}, nil),
			"command": []string{"bash", "eval.sh"}, "api_key": "s3cret-'$(x)",
			"gate": []any{map[string]any{"metric": "accuracy", "min": min}},
		})
	}
	ok := h.run("evaluation", evalCfg(0.8))
	if ok.Diagnostics.HasErrors() {
		t.Fatal(ok.Diagnostics.Err())
	}
	if !ok.NewState.GetAttr("passed").True() || ok.NewState.GetAttr("results").Index(cty.StringVal("accuracy")).AsBigFloat().String() != "0.9" {
		t.Fatalf("evaluation: %#v", ok.NewState)
	}
	// The API key reached the job through the submission's environment
	// only, never the script or the spec.
	run := h.meta.runFor("evaluation", str(ok.NewState, "identity"))
	script, _ := os.ReadFile(filepath.Join(run.attemptDir(1), scriptFile))
	spec, _ := os.ReadFile(filepath.Join(run.dir, specFile))
	if strings.Contains(string(script), "s3cret") || strings.Contains(string(spec), "s3cret") {
		t.Errorf("the API key is in the batch script or the spec")
	}
	// A stricter gate: checked again in place, and it fails.
	stricter := evalCfg(0.95)
	p := h.plan("evaluation", ok.NewState, stricter)
	if len(p.RequiresReplace) > 0 {
		t.Fatalf("a changed gate reruns the evaluation: %v", p.RequiresReplace)
	}
	ar := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "evaluation", PriorState: ok.NewState, PlannedState: p.PlannedState, Config: stricter})
	if !ar.Diagnostics.HasErrors() || !strings.Contains(ar.Diagnostics.Err().Error(), "accuracy = 0.9") {
		t.Fatalf("a missed gate: %v", ar.Diagnostics.Err())
	}
	// A fresh evaluation with the missed gate fails too.
	h.write("eval2.sh", `echo '{"accuracy": 0.5}' > "$LLMOPS_OUTPUT_DIR/metrics.json"`)
	bad := evalCfg(0.8)
	bad = cty.ObjectVal(mapWith(bad, "command", cty.ListVal([]cty.Value{cty.StringVal("bash"), cty.StringVal("eval2.sh")})))
	r := h.run("evaluation", bad)
	if !r.Diagnostics.HasErrors() || r.NewState.GetAttr("passed").True() {
		t.Fatalf("a failed gate passed: %#v", r.NewState)
	}
}

func mapWith(v cty.Value, k string, x cty.Value) map[string]cty.Value {
	m := v.AsValueMap()
	m[k] = x
	return m
}

// A dataset transform runs as a job; the bundle is built from its output,
// in the layout every provider reads.
func TestLiveDatasetTransform(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var rows []string
	for i := 0; i < 40; i++ {
		rows = append(rows, `{"text": "row `+string(rune('a'+i%26))+strings.Repeat("x", i)+`"}`)
	}
	h.write("data/raw.jsonl", strings.Join(rows, "\n")+"\n")
	cfg := toCty(h.ty("dataset"), map[string]any{
		"source": "file://data/raw.jsonl",
		"split":  map[string]float64{"train": 0.75, "eval": 0.25},
		"transform": map[string]any{
			"command": []string{"bash", "-c", `tr a-z A-Z < "$LLMOPS_INPUT_PATH" | sed 's/"TEXT"/"text"/' > "$LLMOPS_OUTPUT_DIR/data.jsonl"`},
		},
	})
	r := h.run("dataset", cfg)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	st := r.NewState
	if str(st, "rows") != "40" || str(st, "status") != "succeeded" || !strings.HasPrefix(str(st, "id"), "sha256:") {
		t.Fatalf("dataset: %#v", st)
	}
	dir, err := h.store.Resolve(str(st, "id"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := jobs.ReadDatasetInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Splits["train"].Rows+info.Splits["eval"].Rows != 40 || info.SourceDigest != str(st, "source_digest") {
		t.Fatalf("bundle: %+v", info)
	}
	data, _ := os.ReadFile(filepath.Join(dir, info.Data))
	if !strings.Contains(string(data), `"ROW A`) {
		t.Fatalf("the transform did not run: %.80s", data)
	}
	// Without a transform the bundle is built at once, in the same layout.
	plain := toCty(h.ty("dataset"), map[string]any{"source": "file://data/raw.jsonl", "split": map[string]float64{"train": 0.75, "eval": 0.25}})
	st2, pend := h.create("dataset", plain)
	if pend != nil || str(st2, "rows") != "40" || str(st2, "digest") != str(st2, "source_digest") {
		t.Fatalf("plain dataset: pending %v, %#v", pend, st2)
	}
	// Unchanged source: no change planned.
	if p := h.plan("dataset", st2, plain); !p.PlannedState.RawEquals(st2) {
		t.Fatalf("an unchanged dataset plans a change")
	}
}

// mode = "cli": sbatch, scontrol and scancel on this host (jobs run as
// the user of llmops, root here); two GPUs requested, two seen.
func TestLiveCLIMode(t *testing.T) {
	env := needSlurm(t)
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("no sbatch on PATH")
	}
	t.Setenv("SLURM_CONF", env.Conf)
	h := newHarness(t, map[string]any{"mode": "cli", "url": nil, "user": nil, "token_file": nil})
	cfg := trainConfig(h, map[string]any{
		"command":   []string{"bash", "train.sh", "cli mode"},
		"resources": map[string]any{"gpus": 2, "max_duration": "5m"},
	})
	r := h.run("training_run", cfg)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	if got := readStored(t, h, str(r.NewState, "output_model"), "gpus.txt"); got != "0,1" {
		t.Errorf("with gpus = 2 the job saw CUDA_VISIBLE_DEVICES=%q", got)
	}
	// Cancel through the CLI on destroy.
	cfg2 := trainConfig(h, map[string]any{"command": []string{"sleep", "302"}, "resources": nil})
	st, pend := h.create("training_run", cfg2)
	w := h.wait("training_run", st, pend, time.Minute, func(p *protocol.Pending) bool { return p.Status == phaseRunning })
	if d := h.destroy("training_run", w.NewState); d.HasErrors() {
		t.Fatal(d.Err())
	}
	if s := h.slurmState(str(w.NewState, "job_id")); s != "CANCELLED" {
		t.Errorf("after destroy: %s", s)
	}
}

// A job preempted by a higher-priority partition is resubmitted (retry on
// preempted) and resumes. Not parallel: it takes both GPUs.
func TestLivePreemptionRetry(t *testing.T) {
	h := newHarness(t, nil)
	if h.env.Urgent == "" {
		t.Skip("the test cluster has no urgent partition")
	}
	h.write("long.sh", `set -eu
if [ -n "${LLMOPS_RESUME_FROM:-}" ]; then
  mkdir -p "$LLMOPS_OUTPUT_DIR/model"; cp "$LLMOPS_RESUME_FROM/step.txt" "$LLMOPS_OUTPUT_DIR/model/"; exit 0
fi
mkdir -p "$LLMOPS_OUTPUT_DIR/checkpoints/step-1"; echo 1 > "$LLMOPS_OUTPUT_DIR/checkpoints/step-1/step.txt"
sleep 300
`)
	cfg := trainConfig(h, map[string]any{"command": []string{"bash", "long.sh"},
		"resources": map[string]any{"gpus": 2}, "retry": map[string]any{"attempts": 2}})
	st, pend := h.create("training_run", cfg)
	w := h.wait("training_run", st, pend, 2*time.Minute, func(p *protocol.Pending) bool { return p.Status == phaseRunning })
	// An urgent job needs both GPUs: Slurm preempts ours.
	out, err := h.env.command("sbatch", "--parsable", "--partition="+h.env.Urgent, "--gres=gpu:2", "--output=/dev/null", "--wrap", "sleep 2").CombinedOutput()
	if err != nil {
		t.Fatalf("sbatch: %v: %s", err, out)
	}
	r := h.wait("training_run", w.NewState, w.Pending, 3*time.Minute, nil)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	if str(r.NewState, "attempts") != "2" || readStored(t, h, str(r.NewState, "output_model"), "step.txt") != "1" {
		t.Fatalf("after preemption: %#v", r.NewState)
	}
}

// The capacity function reads the nodes' GRES: two GPUs in the test
// partition, one fewer while a job holds one.
func TestLiveCapacity(t *testing.T) {
	h := newHarness(t, nil)
	caps, err := h.meta.Capacities(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range caps {
		if c.Partition == h.env.Partition {
			found = true
			if g := c.GPUs[""]; g.Total != 2 || c.Usable != 1 {
				t.Fatalf("capacity of %s: %+v", c.Partition, c)
			}
		}
	}
	if !found {
		t.Fatalf("no capacity for %s in %+v", h.env.Partition, caps)
	}
	st, pend := h.create("training_run", trainConfig(h, map[string]any{"command": []string{"sleep", "303"}, "resources": map[string]any{"gpus": 1}}))
	w := h.wait("training_run", st, pend, time.Minute, func(p *protocol.Pending) bool { return p.Status == phaseRunning })
	caps, err = h.meta.Capacities(context.Background(), h.env.Partition)
	if err != nil {
		t.Fatal(err)
	}
	if free, _ := caps[0].Free("any"); free != 1 {
		t.Fatalf("with one GPU in use, %d free: %+v", free, caps[0])
	}
	// Offers for placement: one GPU fits, two do not, a100 is missing.
	offer := func(r resources) Offer {
		t.Helper()
		o, err := h.meta.Offers(context.Background(), r)
		if err != nil || len(o) != 1 {
			t.Fatalf("offers: %v %+v", err, o)
		}
		return o[0]
	}
	if o := offer(resources{GPUs: 1}); !o.Available {
		t.Errorf("one GPU free, one asked: %+v", o)
	}
	if o := offer(resources{GPUs: 2}); o.Available || !strings.Contains(o.Reason, "1 of 2 any GPUs free") {
		t.Errorf("two GPUs asked, one free: %+v", o)
	}
	if o := offer(resources{GPUs: 1, GPUType: "a100"}); o.Available || !strings.Contains(o.Reason, "GPU type a100 missing") {
		t.Errorf("a100 asked: %+v", o)
	}
	h.destroy("training_run", w.NewState)
	// A drained node offers nothing.
	h.env.drain(t, h.env.firstNode(t), "llmops capacity test")
	if o := offer(resources{GPUs: 1}); o.Available || !strings.Contains(o.Reason, "no usable node") {
		t.Errorf("drained: %+v", o)
	}
}

// resources.max_duration becomes the job's time limit: past it Slurm
// stops the job, and the run fails as timed out. (About a minute.)
func TestLiveTimeout(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes a minute")
	}
	h := newHarness(t, nil)
	cfg := trainConfig(h, map[string]any{"command": []string{"bash", "-c", "echo waiting; sleep 600"}, "resources": map[string]any{"max_duration": "1m"}})
	st, pend := h.create("training_run", cfg)
	r := h.wait("training_run", st, pend, 4*time.Minute, nil)
	if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), "ran out of time") || str(r.NewState, "status") != "timeout" {
		t.Fatalf("after max_duration: %v %#v", r.Diagnostics.Err(), r.NewState)
	}
}
