package local_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// world is a configuration directory with a base model and a split
// dataset already applied.
type world struct {
	h         *harness
	dir       string
	model, ds cty.Value
	counter   string
}

func newWorld(t *testing.T) *world {
	dir := fixtures(t)
	h := newHarness(t, dir)
	m := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("file://base")}))
	d := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl"), "split": splitVal(map[string]float64{"train": 0.8, "eval": 0.2})}))
	if m.diags.HasErrors() || d.diags.HasErrors() {
		t.Fatal(diagText(append(m.diags, d.diags...)))
	}
	return &world{h: h, dir: dir, model: m.state, ds: d.state, counter: filepath.Join(t.TempDir(), "starts")}
}

func (w *world) train(t *testing.T, job string, env map[string]string, extra map[string]cty.Value) cty.Value {
	e := map[string]string{"LLMOPS_TEST_JOB": job, "LLMOPS_TEST_COUNTER": w.counter}
	for k, v := range env {
		e[k] = v
	}
	m := map[string]cty.Value{
		"base_model": str(attrStr(w.model, "id")), "dataset": str(attrStr(w.ds, "id")),
		"command":         strs(testJobCommand(t), "--flag", "a b"),
		"hyperparameters": obj(map[string]cty.Value{"learning_rate": cty.NumberFloatVal(0.01), "epochs": cty.NumberIntVal(2)}),
		"env":             smap(e),
	}
	for k, v := range extra {
		m[k] = v
	}
	return w.h.fill("training_run", m)
}

func resources(m map[string]cty.Value) cty.Value {
	full := map[string]cty.Value{"gpus": cty.NullVal(cty.Number), "gpu_type": cty.NullVal(cty.String), "memory_gb": cty.NullVal(cty.Number), "cpus": cty.NullVal(cty.Number), "nodes": cty.NullVal(cty.Number), "max_duration": cty.NullVal(cty.String)}
	for k, v := range m {
		full[k] = v
	}
	return obj(full)
}

func TestTrainingRun(t *testing.T) {
	w := newWorld(t)
	cfg := w.train(t, "train", nil, nil)
	pr := w.h.plan("training_run", cty.NilVal, cfg)
	if attrStr(pr.PlannedState, "method") != "full" || !strings.HasPrefix(attrStr(pr.PlannedState, "id"), "train-") {
		t.Fatalf("plan: method %q id %q %s", attrStr(pr.PlannedState, "method"), attrStr(pr.PlannedState, "id"), diagText(pr.Diagnostics))
	}
	a := w.h.applyNoWait("training_run", cty.NilVal, cfg)
	if a.diags.HasErrors() || a.pending == nil || a.pending.Status != "running" {
		t.Fatalf("create must return pending at once: %+v %s", a.pending, diagText(a.diags))
	}
	a = w.h.wait("training_run", a)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	st := a.state
	if attrStr(st, "status") != "succeeded" || attrStr(st, "id") != attrStr(pr.PlannedState, "id") || attrStr(st, "finished_at") == "" {
		t.Fatalf("state %#v", st)
	}
	model := attrStr(st, "output_model")
	mp := filepath.Join(w.h.store, "objects", "sha256", strings.TrimPrefix(model, "sha256:"))
	if b, err := os.ReadFile(filepath.Join(mp, "weights.bin")); err != nil || !strings.HasPrefix(string(b), "base weights{") {
		t.Fatalf("output model %s: %q %v", model, b, err)
	}
	if m := st.GetAttr("metrics"); !m.Index(cty.StringVal("train_loss")).RawEquals(cty.NumberFloatVal(0.6)) || m.Type().IsMapType() && m.LengthInt() != 2 {
		t.Fatalf("metrics %#v", m)
	}
	if lp := attrStr(st, "log_path"); !strings.HasPrefix(lp, filepath.Join(w.h.store, "objects")) {
		t.Fatalf("log_path %s: the log must be kept in the store", lp)
	} else if b, _ := os.ReadFile(lp); !strings.Contains(string(b), "train: step 5") {
		t.Fatalf("log: %s", b)
	}
	// The job contract.
	env := readEnv(t, w.h.store, st)
	for k, want := range map[string]string{
		"LLMOPS_BASE_MODEL_PATH": attrStr(w.model, "path"),
		"LLMOPS_DATASET_PATH":    attrStr(w.ds, "path"),
		"LLMOPS_TRAIN_PATH":      attrStr(w.ds.GetAttr("splits").Index(cty.StringVal("train")), "path"),
		"LLMOPS_EVAL_PATH":       attrStr(w.ds.GetAttr("splits").Index(cty.StringVal("eval")), "path"),
		"LLMOPS_HPARAMS":         `{"epochs":2,"learning_rate":0.01}`,
		"LLMOPS_METHOD":          "full",
		"LLMOPS_RUN_ID":          attrStr(st, "id"),
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if env["CUDA_VISIBLE_DEVICES_SET"] != "false" && os.Getenv("CUDA_VISIBLE_DEVICES") == "" {
		t.Errorf("without resources.gpus, CUDA_VISIBLE_DEVICES must be left alone")
	}
	if !strings.HasSuffix(env["LLMOPS_OUTPUT_DIR"], "/output") {
		t.Errorf("LLMOPS_OUTPUT_DIR = %s", env["LLMOPS_OUTPUT_DIR"])
	}
	// Refresh and an unchanged plan change nothing.
	if r := w.h.read("training_run", st); r.Diagnostics.HasErrors() || !r.NewState.RawEquals(st) {
		t.Fatalf("read: %s", diagText(r.Diagnostics))
	}
	if pr := w.h.plan("training_run", st, cfg); !pr.PlannedState.RawEquals(st) || len(pr.RequiresReplace) > 0 {
		t.Fatalf("unchanged inputs plan a change: %v", pr.RequiresReplace)
	}
	// Changed inputs replace.
	for name, changed := range map[string]cty.Value{
		"hyperparameters": w.train(t, "train", nil, map[string]cty.Value{"hyperparameters": obj(map[string]cty.Value{"learning_rate": cty.NumberFloatVal(0.02), "epochs": cty.NumberIntVal(2)})}),
		"method":          w.train(t, "train", nil, map[string]cty.Value{"method": str("lora")}),
		"command":         w.train(t, "train", nil, map[string]cty.Value{"command": strs(testJobCommand(t))}),
		"dataset":         w.train(t, "train", nil, map[string]cty.Value{"dataset": cty.UnknownVal(cty.String)}),
	} {
		if pr := w.h.plan("training_run", st, changed); len(pr.RequiresReplace) == 0 {
			t.Errorf("changing %s must replace the run", name)
		}
	}
	// Resources change in place.
	if pr := w.h.plan("training_run", st, w.train(t, "train", nil, map[string]cty.Value{"resources": resources(map[string]cty.Value{"max_duration": str("1h")})})); len(pr.RequiresReplace) > 0 {
		t.Errorf("a resources change must not replace a finished run: %v", pr.RequiresReplace)
	}
	// Create again with the same inputs (llmops lost the record): adopted,
	// not rerun.
	again := w.h.apply("training_run", cty.NilVal, cfg)
	if again.diags.HasErrors() || attrStr(again.state, "output_model") != model {
		t.Fatalf("re-create: %s", diagText(again.diags))
	}
	if n := countLines(t, w.counter); n != 1 {
		t.Fatalf("the job started %d times, want 1", n)
	}
	// Delete removes the run; reading it afterwards finds nothing.
	if d := w.h.delete("training_run", st); d.HasErrors() {
		t.Fatal(diagText(d))
	}
	if r := w.h.read("training_run", st); !r.NewState.IsNull() {
		t.Fatalf("a deleted run must read as gone")
	}
	if _, err := os.Stat(mp); err != nil {
		t.Fatalf("deleting the run removed its output model from the store")
	}
}

func readEnv(t *testing.T, store string, st cty.Value) map[string]string {
	t.Helper()
	hexid := strings.TrimPrefix(attrStr(st, "identity"), "sha256:")
	b, err := os.ReadFile(filepath.Join(store, "runs", "local", "training_run", hexid, "output", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	must(t, json.Unmarshal(b, &env))
	return env
}

func TestTrainingRunAdoptionAcrossProviders(t *testing.T) {
	// llmops submitted the job and was killed before recording it: a new
	// provider process creating the same run adopts the running job.
	w := newWorld(t)
	cfg := w.train(t, "train", map[string]string{"LLMOPS_TEST_SLEEP": "1500ms"}, nil)
	a := w.h.applyNoWait("training_run", cty.NilVal, cfg)
	if a.pending == nil {
		t.Fatalf("not pending: %s", diagText(a.diags))
	}
	h2 := newHarness(t, w.dir) // a new provider instance, same directories
	b := h2.applyNoWait("training_run", cty.NilVal, cfg)
	if b.pending == nil || b.pending.Handle != a.pending.Handle || !strings.Contains(b.pending.Message, "adopted") {
		t.Fatalf("second create did not adopt: %+v %s", b.pending, diagText(b.diags))
	}
	b = h2.wait("training_run", b)
	if b.diags.HasErrors() || countLines(t, w.counter) != 1 {
		t.Fatalf("adoption: %d starts, %s", countLines(t, w.counter), diagText(b.diags))
	}
	// The first provider's poll finishes with the same result.
	a = w.h.wait("training_run", a)
	if attrStr(a.state, "output_model") != attrStr(b.state, "output_model") {
		t.Fatalf("different results")
	}
}

func TestTrainingRunFailureReportsLogTail(t *testing.T) {
	w := newWorld(t)
	a := w.h.apply("training_run", cty.NilVal, w.train(t, "fail", nil, nil))
	text := diagText(a.diags)
	if !a.diags.HasErrors() || !strings.Contains(text, "exit status 3") || !strings.Contains(text, "boom at step 31: CUDA out of memory") || !strings.Contains(text, "working 13") {
		t.Fatalf("failure: %s", text)
	}
	if strings.Contains(text, "working 12\n") {
		t.Fatalf("the tail must be the last 20 lines, not the whole log: %s", text)
	}
	if a.state.IsNull() || attrStr(a.state, "status") != "failed" {
		t.Fatalf("the failed object must be returned with status failed (the engine taints it): %#v", a.state)
	}
	// A new create after a failure starts a new job (the failed attempt
	// is kept aside), not the dead one.
	b := w.h.apply("training_run", cty.NilVal, w.train(t, "fail", nil, nil))
	if !b.diags.HasErrors() || countLines(t, w.counter) != 2 {
		t.Fatalf("retry after failure: %d starts", countLines(t, w.counter))
	}
}

func TestTrainingRunMaxDuration(t *testing.T) {
	w := newWorld(t)
	start := time.Now()
	a := w.h.apply("training_run", cty.NilVal, w.train(t, "sleep", map[string]string{"LLMOPS_TEST_SLEEP": "30s"}, map[string]cty.Value{"resources": resources(map[string]cty.Value{"max_duration": str("1s")})}))
	if !strings.Contains(diagText(a.diags), "timed out") || !strings.Contains(diagText(a.diags), "max_duration 1s") {
		t.Fatalf("max_duration: %s", diagText(a.diags))
	}
	if time.Since(start) > 15*time.Second {
		t.Fatalf("the job was not stopped at max_duration (took %s)", time.Since(start))
	}
}

func TestTrainingRunDeleteKillsRunningJob(t *testing.T) {
	t.Setenv("LLMOPS_LOCAL_KILL_GRACE", "2s")
	w := newWorld(t)
	a := w.h.applyNoWait("training_run", cty.NilVal, w.train(t, "sleep", map[string]string{"LLMOPS_TEST_SLEEP": "60s"}, nil))
	if a.pending == nil {
		t.Fatal(diagText(a.diags))
	}
	sup := waitSupervisor(t, w.h.store, a.state)
	if d := w.h.delete("training_run", a.state); d.HasErrors() {
		t.Fatal(diagText(d))
	}
	deadline := time.Now().Add(5 * time.Second)
	for (alive(sup.ChildPID) || alive(sup.PID)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(sup.ChildPID) || alive(sup.PID) {
		t.Fatalf("delete left the job (pid %d) or its supervisor (pid %d) running", sup.ChildPID, sup.PID)
	}
	r := w.h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "training_run", CurrentState: a.state, Pending: a.pending})
	if !r.Diagnostics.HasErrors() {
		t.Fatalf("polling a deleted job must fail")
	}
}

type supInfo struct {
	PID      int `json:"pid"`
	ChildPID int `json:"child_pid"`
}

// supervisorPath is the supervisor.json of a training run's job.
func supervisorPath(store string, st cty.Value) string {
	return filepath.Join(store, "runs", "local", "training_run", strings.TrimPrefix(attrStr(st, "identity"), "sha256:"), "supervisor.json")
}

func waitSupervisor(t *testing.T, store string, st cty.Value) supInfo {
	t.Helper()
	p := supervisorPath(store, st)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p); err == nil {
			var s supInfo
			if json.Unmarshal(b, &s) == nil && s.ChildPID > 0 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no supervisor.json at %s", p)
	return supInfo{}
}

// fakeNvidiaSMI puts an nvidia-smi on PATH that reports the given lines.
func fakeNvidiaSMI(t *testing.T, lines string) {
	bin := t.TempDir()
	script := "#!/bin/sh\ncat <<'EOF'\n" + lines + "EOF\n"
	must(t, os.WriteFile(filepath.Join(bin, "nvidia-smi"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestTrainingRunGPUs(t *testing.T) {
	fakeNvidiaSMI(t, "0, NVIDIA A100-SXM4-40GB, 40960 MiB\n")
	w := newWorld(t)
	two := w.train(t, "train", nil, map[string]cty.Value{"resources": resources(map[string]cty.Value{"gpus": cty.NumberIntVal(2)})})
	pr := w.h.plan("training_run", cty.NilVal, two)
	text := diagText(pr.Diagnostics)
	if !pr.Diagnostics.HasErrors() || !strings.Contains(text, "resources.gpus = 2, but this host has 1 GPU") || !strings.Contains(text, "0: NVIDIA A100-SXM4-40GB (40960 MiB)") || !strings.Contains(text, "[resources.gpus]") {
		t.Fatalf("2 GPUs on a 1-GPU host: %s", text)
	}
	one := w.h.apply("training_run", cty.NilVal, w.train(t, "train", nil, map[string]cty.Value{"resources": resources(map[string]cty.Value{"gpus": cty.NumberIntVal(1)})}))
	if one.diags.HasErrors() {
		t.Fatal(diagText(one.diags))
	}
	if env := readEnv(t, w.h.store, one.state); env["CUDA_VISIBLE_DEVICES"] != "0" {
		t.Fatalf("CUDA_VISIBLE_DEVICES = %q, want 0", env["CUDA_VISIBLE_DEVICES"])
	}
	cpu := w.h.apply("training_run", cty.NilVal, w.train(t, "train", map[string]string{"X": "cpu"}, map[string]cty.Value{"resources": resources(map[string]cty.Value{"gpus": cty.NumberIntVal(0)})}))
	if env := readEnv(t, w.h.store, cpu.state); env["CUDA_VISIBLE_DEVICES"] != "" || env["CUDA_VISIBLE_DEVICES_SET"] != "true" {
		t.Fatalf("gpus = 0 must run on CPU with CUDA_VISIBLE_DEVICES empty: %q set=%s", env["CUDA_VISIBLE_DEVICES"], env["CUDA_VISIBLE_DEVICES_SET"])
	}
	typed := w.train(t, "train", nil, map[string]cty.Value{"resources": resources(map[string]cty.Value{"gpus": cty.NumberIntVal(1), "gpu_type": str("h100")})})
	if pr := w.h.plan("training_run", cty.NilVal, typed); !strings.Contains(diagText(pr.Diagnostics), `0 GPUs of type "h100"`) {
		t.Fatalf("gpu_type: %s", diagText(pr.Diagnostics))
	}
	if pr := w.h.plan("training_run", cty.NilVal, w.train(t, "train", nil, map[string]cty.Value{"resources": resources(map[string]cty.Value{"nodes": cty.NumberIntVal(2)})})); !strings.Contains(diagText(pr.Diagnostics), "one host") {
		t.Fatalf("nodes: %s", diagText(pr.Diagnostics))
	}
}

func TestTrainingRunNoGPUHost(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	w := newWorld(t)
	pr := w.h.plan("training_run", cty.NilVal, w.train(t, "train", nil, map[string]cty.Value{"resources": resources(map[string]cty.Value{"gpus": cty.NumberIntVal(1)})}))
	if !strings.Contains(diagText(pr.Diagnostics), "nvidia-smi is not on PATH") {
		t.Fatalf("no nvidia-smi: %s", diagText(pr.Diagnostics))
	}
}

// A supervisor killed with SIGKILL leaves no manifest: polling reports the
// job dead with its log, and stops the command it left running.
func TestTrainingRunSupervisorKilled(t *testing.T) {
	w := newWorld(t)
	a := w.h.applyNoWait("training_run", cty.NilVal, w.train(t, "sleep", map[string]string{"LLMOPS_TEST_SLEEP": "60s"}, nil))
	if a.pending == nil {
		t.Fatal(diagText(a.diags))
	}
	sup := waitSupervisor(t, w.h.store, a.state)
	// Kill it once the command has written to its log, which the error
	// must then show (on a loaded machine the supervisor can be up before
	// its command has printed anything).
	logPath := filepath.Join(filepath.Dir(supervisorPath(w.h.store, a.state)), "job.log")
	if !waitFor(10*time.Second, func() bool { b, _ := os.ReadFile(logPath); return strings.Contains(string(b), "sleeping") }) {
		t.Fatalf("the job never wrote \"sleeping\" to %s", logPath)
	}
	must(t, syscall.Kill(sup.PID, syscall.SIGKILL))
	a = w.h.wait("training_run", a)
	text := diagText(a.diags)
	if !strings.Contains(text, "died") || !strings.Contains(text, "sleeping") {
		t.Fatalf("dead supervisor: %s", text)
	}
	if !waitFor(5*time.Second, func() bool { return !alive(sup.ChildPID) }) {
		t.Fatalf("the unsupervised command (pid %d) was left running", sup.ChildPID)
	}
	// The next create starts a new job rather than adopting the dead one.
	b := w.h.applyNoWait("training_run", cty.NilVal, w.train(t, "sleep", map[string]string{"LLMOPS_TEST_SLEEP": "60s"}, nil))
	if b.pending == nil || strings.Contains(b.pending.Message, "adopted") || !waitFor(10*time.Second, func() bool { return countLines(t, w.counter) == 2 }) {
		t.Fatalf("after a dead job: %+v, %d starts", b.pending, countLines(t, w.counter))
	}
}
