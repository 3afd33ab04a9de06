package ui_test

// Fake job commands for the sweep configuration: the test binary run with
// UI_TEST_JOB set (by the configuration's env) follows the job contract
// with made-up, deterministic numbers, so that the best run is known.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// finalLoss and accuracy by learning rate: 0.01 is the best of the sweep
// (loss 0.4, accuracy 0.91), 0.001 and 0.1 do worse.
func finalLoss(lr float64) float64 {
	d := math.Log10(lr) + 2
	if d < 0 {
		return 0.4 - 0.8*d
	}
	return 0.4 + 0.4*d
}

func accuracy(lr float64) float64 {
	d := math.Log10(lr) + 2
	if d < 0 {
		return 0.91 + 0.29*d
	}
	return 0.91 - 0.36*d
}

func fakeJob(job string) int {
	if err := runFakeJob(job); err != nil {
		fmt.Fprintln(os.Stderr, job+":", err)
		return 1
	}
	return 0
}

func runFakeJob(job string) error {
	out := os.Getenv("LLMOPS_OUTPUT_DIR")
	var hp struct {
		LearningRate float64 `json:"learning_rate"`
		Steps        int     `json:"steps"`
	}
	_ = json.Unmarshal([]byte(os.Getenv("LLMOPS_HPARAMS")), &hp)
	switch job {
	case "train", "slow":
		mf, err := os.OpenFile(filepath.Join(out, "metrics.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer mf.Close()
		final := finalLoss(hp.LearningRate)
		loss := 0.0
		stop := os.Getenv("UI_TEST_STOP")
		deadline := time.Now().Add(2 * time.Minute)
		for i := 1; job == "slow" || i <= hp.Steps; i++ {
			if job == "slow" {
				if _, err := os.Stat(stop); err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(150 * time.Millisecond)
			}
			loss = final + (3-final)*math.Exp(-0.25*float64(i))
			fmt.Fprintf(mf, `{"step": %d, "loss": %.6f, "learning_rate": %g}`+"\n", i*10, loss, hp.LearningRate)
			fmt.Fprintf(os.Stderr, "step %d loss %.4f\n", i*10, loss)
		}
		if err := os.MkdirAll(filepath.Join(out, "model"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "model", "weights.json"), []byte(`{"learning_rate": `+strconv.FormatFloat(hp.LearningRate, 'g', -1, 64)+"}\n"), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, "metrics.json"), []byte(fmt.Sprintf(`{"loss": %.6f}`+"\n", loss)), 0o644)
	case "eval":
		var w struct {
			LearningRate float64 `json:"learning_rate"`
		}
		b, err := os.ReadFile(filepath.Join(os.Getenv("LLMOPS_MODEL_PATH"), "weights.json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, "metrics.json"), []byte(fmt.Sprintf(`{"accuracy": %.4f}`+"\n", accuracy(w.LearningRate))), 0o644)
	}
	return fmt.Errorf("unknown fake job %q", job)
}
