package tinylm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEndToEnd builds the train, eval and serve programs, fine-tunes the
// shipped base model on 90% of data/tickets.jsonl through the job contract
// and checks that it beats the base model on the held-out 10%.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example programs")
	}
	bin := t.TempDir()
	for _, p := range []string{"train", "eval", "serve"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, p), "../"+p)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, out)
		}
	}
	work := t.TempDir()
	trainPath, evalPath := splitData(t, "../data/tickets.jsonl", work)
	base, _ := filepath.Abs("../base")
	hp := `{"learning_rate":0.01,"epochs":2,"seed":1}`

	out1 := filepath.Join(work, "run1")
	d := runTrain(t, bin, map[string]string{"LLMOPS_BASE_MODEL_PATH": base, "LLMOPS_TRAIN_PATH": trainPath,
		"LLMOPS_HPARAMS": hp, "LLMOPS_METHOD": "full", "LLMOPS_OUTPUT_DIR": out1}, 0)
	t.Logf("train (full, 2 epochs): %.1fs", d.Seconds())
	for _, f := range []string{"model/model.bin", "model/config.json", "metrics.json", "checkpoints/epoch-001/trainer.json", "checkpoints/epoch-002/model/model.bin"} {
		if _, err := os.Stat(filepath.Join(out1, f)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	lines := 0
	f, _ := os.ReadFile(filepath.Join(out1, "metrics.jsonl"))
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		var rec map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("metrics.jsonl line %q: %v", sc.Text(), err)
		}
		if _, ok := rec["step"]; !ok {
			t.Fatalf("metrics.jsonl line without step: %q", sc.Text())
		}
		lines++
	}
	if lines < 10 {
		t.Fatalf("metrics.jsonl has %d lines", lines)
	}
	tm := readMetrics(t, out1)
	if !(tm["train_loss"] > 0 && tm["train_loss"] < tm["first_epoch_loss"]) {
		t.Errorf("train metrics %v", tm)
	}

	// Same seed, byte-identical model.
	out2 := filepath.Join(work, "run2")
	runTrain(t, bin, map[string]string{"LLMOPS_BASE_MODEL_PATH": base, "LLMOPS_DATASET_PATH": trainPath,
		"LLMOPS_HPARAMS": hp, "LLMOPS_OUTPUT_DIR": out2}, 0)
	sameFiles(t, filepath.Join(out1, "model"), filepath.Join(out2, "model"))

	// Resuming from the epoch-1 checkpoint gives the same model too.
	out3 := filepath.Join(work, "run3")
	runTrain(t, bin, map[string]string{"LLMOPS_BASE_MODEL_PATH": base, "LLMOPS_TRAIN_PATH": trainPath, "LLMOPS_HPARAMS": hp,
		"LLMOPS_OUTPUT_DIR": out3, "LLMOPS_RESUME_FROM": filepath.Join(out1, "checkpoints", "epoch-001")}, 0)
	sameFiles(t, filepath.Join(out1, "model"), filepath.Join(out3, "model"))

	// Bad configurations exit 2.
	runTrain(t, bin, map[string]string{"LLMOPS_BASE_MODEL_PATH": base, "LLMOPS_TRAIN_PATH": trainPath,
		"LLMOPS_METHOD": "dpo", "LLMOPS_OUTPUT_DIR": filepath.Join(work, "bad")}, 2)
	runTrain(t, bin, map[string]string{"LLMOPS_TRAIN_PATH": trainPath, "LLMOPS_OUTPUT_DIR": filepath.Join(work, "bad")}, 2)
	runTrain(t, bin, map[string]string{"LLMOPS_BASE_MODEL_PATH": base, "LLMOPS_TRAIN_PATH": trainPath,
		"LLMOPS_HPARAMS": `{"epochs":"many"}`, "LLMOPS_OUTPUT_DIR": filepath.Join(work, "bad")}, 2)

	// Evaluate on the held-out split against the base model.
	evalOut := filepath.Join(work, "eval")
	start := time.Now()
	run(t, filepath.Join(bin, "eval"), []string{"-baseline", base}, map[string]string{
		"LLMOPS_MODEL_PATH": filepath.Join(out1, "model"), "LLMOPS_DATASET_PATH": evalPath, "LLMOPS_OUTPUT_DIR": evalOut}, 0)
	em := readMetrics(t, evalOut)
	t.Logf("eval: %.1fs; held-out accuracy: base %.4f -> fine-tuned %.4f (gain %+.4f); perplexity: base %.3f -> fine-tuned %.3f",
		time.Since(start).Seconds(), em["baseline_accuracy"], em["accuracy"], em["accuracy_gain"], em["baseline_perplexity"], em["perplexity"])
	if em["accuracy_gain"] < 0.25 {
		t.Errorf("fine-tuning gain too small: %v", em)
	}
	if !(em["perplexity"] < em["baseline_perplexity"]/5) {
		t.Errorf("perplexity did not drop enough: %v", em)
	}

	// Serve the fine-tuned model and evaluate it through the HTTP API: greedy
	// completions over HTTP must match the local continuation metric.
	srv := exec.Command(filepath.Join(bin, "serve"), "-model", filepath.Join(out1, "model"), "-port", "0", "-api-key", "k")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, a, ok := strings.Cut(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	var url string
	select {
	case url = <-addr:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	liveOut := filepath.Join(work, "eval-live")
	run(t, filepath.Join(bin, "eval"), nil, map[string]string{"LLMOPS_ENDPOINT": url + "/v1", "LLMOPS_API_KEY": "k",
		"LLMOPS_DATASET_PATH": evalPath, "LLMOPS_OUTPUT_DIR": liveOut}, 0)
	lm := readMetrics(t, liveOut)
	t.Logf("eval via %s: continuation accuracy %.4f exact match %.4f", url, lm["accuracy"], lm["exact_match"])
	if lm["accuracy"] != em["continuation_accuracy"] || lm["exact_match"] != em["exact_match"] || lm["scored_examples"] == 0 {
		t.Errorf("endpoint metrics %v differ from local %v", lm, em)
	}
	run(t, filepath.Join(bin, "eval"), nil, map[string]string{"LLMOPS_ENDPOINT": url, "LLMOPS_API_KEY": "wrong",
		"LLMOPS_DATASET_PATH": evalPath}, 1)
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("serve did not shut down cleanly on SIGTERM: %v", err)
	}
}

// splitData writes a deterministic 90/10 split: every 10th line is held out.
func splitData(t *testing.T, path, dir string) (string, string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr, ev bytes.Buffer
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i%10 == 9 {
			ev.WriteString(line + "\n")
		} else {
			tr.WriteString(line + "\n")
		}
	}
	trp, evp := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "eval.jsonl")
	os.WriteFile(trp, tr.Bytes(), 0o644)
	os.WriteFile(evp, ev.Bytes(), 0o644)
	return trp, evp
}

func runTrain(t *testing.T, bin string, env map[string]string, wantCode int) time.Duration {
	t.Helper()
	return run(t, filepath.Join(bin, "train"), nil, env, wantCode)
}

func run(t *testing.T, prog string, args []string, env map[string]string, wantCode int) time.Duration {
	t.Helper()
	cmd := exec.Command(prog, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LLMOPS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != wantCode {
		t.Fatalf("%s %v: exit %d, want %d\n%s", filepath.Base(prog), env, code, wantCode, tail(stderr.String()))
	}
	return d
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func readMetrics(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	return m
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	for _, f := range []string{WeightsFile, ConfigFile} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s (%v %v)", f, a, b, err1, err2)
		}
	}
}
