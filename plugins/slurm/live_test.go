package slurm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

const trainScript = `set -eu
echo "training on $(hostname) from $LLMOPS_BASE_MODEL_PATH"
test -f "$LLMOPS_BASE_MODEL_PATH/weights.bin"
test -f "$LLMOPS_TRAIN_PATH"
mkdir -p "$LLMOPS_OUTPUT_DIR/model"
cp "$LLMOPS_BASE_MODEL_PATH/weights.bin" "$LLMOPS_OUTPUT_DIR/model/weights.bin"
printf '%s\n' "$@" > "$LLMOPS_OUTPUT_DIR/model/args.txt"
printf '%s' "$LLMOPS_HPARAMS" > "$LLMOPS_OUTPUT_DIR/model/hparams.json"
echo "${CUDA_VISIBLE_DEVICES:-unset}" > "$LLMOPS_OUTPUT_DIR/model/gpus.txt"
echo "$WORLD_SIZE $NODE_RANK $MASTER_PORT" > "$LLMOPS_OUTPUT_DIR/model/dist.txt"
wc -l < "$LLMOPS_TRAIN_PATH" > "$LLMOPS_OUTPUT_DIR/model/rows.txt"
for i in 1 2 3; do echo "{\"step\": $i, \"loss\": 1.$i}" >> "$LLMOPS_OUTPUT_DIR/metrics.jsonl"; done
echo '{"loss": 0.25, "accuracy": 0.91}' > "$LLMOPS_OUTPUT_DIR/metrics.json"
`

func trainConfig(h *harness, extra map[string]any) cty.Value {
	h.write("train.sh", trainScript)
	cfg := map[string]any{
		"base_model": h.model(map[string]string{"weights.bin": "base weights", "config.json": "{}"}),
		"dataset":    h.dataset([]string{`{"text":"a"}`, `{"text":"b"}`, `{"text":"c"}`, `{"text":"d"}`, `{"text":"e"}`, `{"text":"f"}`}, map[string]float64{"train": 0.5, "eval": 0.5}),
		"command":    []string{"bash", "train.sh", "it's", "$(touch /tmp/llmops-pwned)", "a;b", "`id`"},
		"hyperparameters": cty.ObjectVal(map[string]cty.Value{
			"learning_rate": cty.NumberFloatVal(0.01), "note": cty.StringVal(`it's "$(x)"`),
		}),
		"resources": map[string]any{"gpus": 1, "gpu_type": "any", "cpus": 1, "memory_gb": 1, "max_duration": "10m"},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return toCty(h.ty("training_run"), cfg)
}

func readStored(t *testing.T, h *harness, id, file string) string {
	t.Helper()
	p, err := h.store.Resolve(id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(p, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Submit, wait, success: the job runs under the contract with staged
// inputs, sees one GPU, gets hostile arguments intact, and its model is
// imported by the digest the job computed.
func TestLiveTrainingRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cfg := trainConfig(h, nil)
	pr := h.plan("training_run", cty.NilVal, cfg)
	if !pr.PlannedState.GetAttr("identity").IsKnown() || !strings.HasPrefix(str(pr.PlannedState, "id"), "train-") {
		t.Fatalf("identity and id should be known at plan time: %#v", pr.PlannedState)
	}
	start := time.Now()
	r := h.run("training_run", cfg)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	t.Logf("training run took %s", time.Since(start))
	st := r.NewState
	if str(st, "status") != "succeeded" || str(st, "attempts") != "1" || str(st, "started_at") == "" || str(st, "finished_at") == "" {
		t.Fatalf("state: %#v", st)
	}
	id := str(st, "output_model")
	if err := h.store.Verify(artifacts.ID(id)); err != nil {
		t.Fatalf("the digest the job computed is wrong: %v", err)
	}
	if got := readStored(t, h, id, "args.txt"); got != "it's\n$(touch /tmp/llmops-pwned)\na;b\n`id`" {
		t.Errorf("arguments reached the command as %q", got)
	}
	if got := readStored(t, h, id, "hparams.json"); got != `{"learning_rate":0.01,"note":"it's \"$(x)\""}` {
		t.Errorf("LLMOPS_HPARAMS = %q", got)
	}
	if got := readStored(t, h, id, "gpus.txt"); got != "0" && got != "1" {
		t.Errorf("with gpus = 1 the job saw CUDA_VISIBLE_DEVICES=%q", got)
	}
	if got := readStored(t, h, id, "dist.txt"); !strings.HasPrefix(got, "1 0 ") {
		t.Errorf("WORLD_SIZE NODE_RANK MASTER_PORT = %q", got)
	}
	if m := st.GetAttr("metrics"); m.Index(cty.StringVal("loss")).AsBigFloat().String() != "0.25" {
		t.Errorf("metrics %#v", m)
	}
	if lp := str(st, "log_path"); !strings.HasPrefix(lp, h.store.Root()) {
		t.Errorf("log_path %q is not in the store", lp)
	} else if b, _ := os.ReadFile(lp); !strings.Contains(string(b), "training on") {
		t.Errorf("log: %s", b)
	}
	if _, err := os.Stat("/tmp/llmops-pwned"); err == nil {
		t.Fatal("an argument was executed")
	}
	// Unchanged: no plan change, no rerun.
	if rr := h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "training_run", CurrentState: st}); rr.Diagnostics.HasErrors() || !rr.NewState.RawEquals(st) {
		t.Fatalf("refresh changed a finished run: %v", rr.Diagnostics.Err())
	}
	if p2 := h.plan("training_run", st, cfg); len(p2.RequiresReplace) > 0 {
		t.Fatalf("plan of an unchanged run requires replacement: %v", p2.RequiresReplace)
	}
	// A second create with the same inputs adopts the result.
	st2, pend := h.create("training_run", cfg)
	if pend != nil || str(st2, "output_model") != id {
		t.Fatalf("same inputs ran again: pending %v, model %s", pend, str(st2, "output_model"))
	}
	// The model removed from the store: the run is gone.
	if err := h.store.Remove(artifacts.ID(id)); err != nil {
		t.Fatal(err)
	}
	if rr := h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "training_run", CurrentState: st}); !rr.NewState.IsNull() {
		t.Fatalf("a run whose model is gone still exists")
	}
	if d := h.destroy("training_run", st); d.HasErrors() {
		t.Fatal(d.Err())
	}
}

// Failure: the error names the exit status and carries the log's tail.
func TestLiveFailureShowsLogTail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cfg := trainConfig(h, map[string]any{"command": []string{"bash", "-c", "echo starting; echo boom-marker >&2; exit 3"}, "resources": nil})
	r := h.run("training_run", cfg)
	if !r.Diagnostics.HasErrors() {
		t.Fatalf("a failing job succeeded: %#v", r.NewState)
	}
	msg := r.Diagnostics.Err().Error()
	for _, want := range []string{"failed", "exit status 3", "boom-marker", "starting"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if str(r.NewState, "status") != "failed" || !r.NewState.GetAttr("output_model").IsNull() {
		t.Errorf("state after failure: %#v", r.NewState)
	}
	// The next plan replaces it.
	if p := h.plan("training_run", r.NewState, cfg); len(p.RequiresReplace) == 0 {
		t.Errorf("a failed run is not replaced")
	}
}

// Destroy cancels the running job.
func TestLiveDestroyCancels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cfg := trainConfig(h, map[string]any{"command": []string{"sleep", "300"}, "resources": nil})
	st, pend := h.create("training_run", cfg)
	r := h.wait("training_run", st, pend, 2*time.Minute, func(p *protocol.Pending) bool { return p.Status == phaseRunning })
	jid := str(r.NewState, "job_id")
	run := h.meta.runFor("training_run", str(r.NewState, "identity"))
	if d := h.destroy("training_run", r.NewState); d.HasErrors() {
		t.Fatal(d.Err())
	}
	if s := h.slurmState(jid); s != "CANCELLED" {
		t.Errorf("after destroy Slurm job %s is %s, want CANCELLED", jid, s)
	}
	if _, err := os.Stat(run.dir); !os.IsNotExist(err) {
		t.Errorf("the run directory %s is still there", run.dir)
	}
}

// An admin's scancel shows as drift: Read records the run as cancelled,
// without an error, and the plan replaces it.
func TestLiveAdminCancelIsDrift(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cfg := trainConfig(h, map[string]any{"command": []string{"sleep", "301"}, "resources": nil})
	st, pend := h.create("training_run", cfg)
	r := h.wait("training_run", st, pend, 2*time.Minute, func(p *protocol.Pending) bool { return p.Status == phaseRunning })
	jid := str(r.NewState, "job_id")
	adminCancel(t, h, jid)
	r = h.wait("training_run", r.NewState, r.Pending, time.Minute, nil)
	if r.Diagnostics.HasErrors() {
		t.Fatalf("a cancelled job is drift, not an error: %v", r.Diagnostics.Err())
	}
	if str(r.NewState, "status") != "cancelled" {
		t.Fatalf("status %q, want cancelled", str(r.NewState, "status"))
	}
	p := h.plan("training_run", r.NewState, cfg)
	if len(p.RequiresReplace) != 1 || protocol.PathString(p.RequiresReplace[0]) != "status" || p.PlannedState.GetAttr("status").IsKnown() {
		t.Fatalf("plan after an admin cancel: replace %v, planned status %#v", p.RequiresReplace, p.PlannedState.GetAttr("status"))
	}
	h.destroy("training_run", r.NewState)
}

// adminCancel cancels a job as an administrator would, with scancel.
func adminCancel(t *testing.T, h *harness, jid string) {
	t.Helper()
	if out, err := h.env.command("scancel", jid).CombinedOutput(); err != nil {
		t.Fatalf("scancel: %v: %s", err, out)
	}
}

// Retry on failure resubmits, resuming from the latest checkpoint.
func TestLiveRetryResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.write("flaky.sh", `set -eu
if [ -n "${LLMOPS_RESUME_FROM:-}" ]; then
  echo "resuming from $LLMOPS_RESUME_FROM"
  mkdir -p "$LLMOPS_OUTPUT_DIR/model"
  cp "$LLMOPS_RESUME_FROM/state.txt" "$LLMOPS_OUTPUT_DIR/model/state.txt"
  echo '{"resumed": 1}' > "$LLMOPS_OUTPUT_DIR/metrics.json"
  exit 0
fi
for s in 2 10; do mkdir -p "$LLMOPS_OUTPUT_DIR/checkpoints/step-$s"; echo "state at $s" > "$LLMOPS_OUTPUT_DIR/checkpoints/step-$s/state.txt"; done
echo crash-marker
exit 1
`)
	cfg := trainConfig(h, map[string]any{
		"command": []string{"bash", "flaky.sh"}, "resources": nil,
		"retry": map[string]any{"attempts": 3, "on": []string{"failed"}},
	})
	r := h.run("training_run", cfg)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	st := r.NewState
	if str(st, "attempts") != "2" || str(st, "status") != "succeeded" {
		t.Fatalf("attempts %s status %s", str(st, "attempts"), str(st, "status"))
	}
	if got := readStored(t, h, str(st, "output_model"), "state.txt"); got != "state at 10" {
		t.Errorf("resumed from the checkpoint with %q, want the latest (step-10)", got)
	}
	if st.GetAttr("metrics").Index(cty.StringVal("resumed")).AsBigFloat().String() != "1" {
		t.Errorf("metrics %#v", st.GetAttr("metrics"))
	}
	// Without a matching retry condition, the same failure is final.
	cfg2 := trainConfig(h, map[string]any{"command": []string{"bash", "flaky.sh", "v2"}, "resources": nil,
		"retry": map[string]any{"attempts": 3}})
	r = h.run("training_run", cfg2)
	if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), "crash-marker") || str(r.NewState, "attempts") != "1" {
		t.Fatalf("a failure not listed in retry.on was retried: %v %#v", r.Diagnostics.Err(), r.NewState)
	}
}

// A retried evaluation gets its API key again (from the state llmops
// sends with the read that resubmits it: no file ever holds it).
func TestLiveRetryKeepsSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	marks := filepath.Join(h.workDir, "marks")
	os.MkdirAll(marks, 0o777)
	os.Chmod(marks, 0o777)
	h.write("eval-flaky.sh", `set -eu
if [ ! -e marks/failed-once ]; then touch marks/failed-once; echo "first attempt fails"; exit 1; fi
ok=0; [ "$LLMOPS_API_KEY" = "k'ey \$(x)" ] && ok=1
echo "{\"key_ok\": $ok}" > "$LLMOPS_OUTPUT_DIR/metrics.json"
`)
	cfg := toCty(h.ty("evaluation"), map[string]any{
		"model": h.model(map[string]string{"w": "x"}), "command": []string{"bash", "eval-flaky.sh"}, "api_key": "k'ey $(x)",
		"retry": map[string]any{"attempts": 2, "on": []string{"failed"}},
		"gate":  []any{map[string]any{"metric": "key_ok", "min": 1}},
	})
	r := h.run("evaluation", cfg)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	if str(r.NewState, "attempts") != "2" || !r.NewState.GetAttr("passed").True() {
		t.Fatalf("retried evaluation: %#v", r.NewState)
	}
}
