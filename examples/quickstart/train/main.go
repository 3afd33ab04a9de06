// Command train fine-tunes a tinylm base model on a JSON-lines dataset,
// following the llmops training job contract:
//
//	LLMOPS_BASE_MODEL_PATH  directory of the base model (config.json, model.bin)
//	LLMOPS_TRAIN_PATH       training split, JSON lines {"text": ...}
//	                        (falls back to LLMOPS_DATASET_PATH)
//	LLMOPS_HPARAMS          JSON object, e.g. {"learning_rate":0.01,"epochs":2,"seed":1}
//	LLMOPS_METHOD           "full" (default) or "lora"
//	LLMOPS_OUTPUT_DIR       where model/, metrics.jsonl, metrics.json and
//	                        checkpoints/ are written
//	LLMOPS_RESUME_FROM      optional: a checkpoint to continue from
//
// Exit status: 0 on success, 2 for a bad configuration (missing variable,
// unsupported method, bad hyperparameter), 1 for any other failure.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

type usageError struct{ error }

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "train: error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func env(name string) string { return os.Getenv(name) }

func run() error {
	base, data, out, resume, method, err := readContract()
	if err != nil {
		return err
	}
	opt, warnings, err := parseHParams(env("LLMOPS_HPARAMS"), tinylm.DefaultTrainOptions())
	if err != nil {
		return usageError{err}
	}
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "train: warning: %s\n", w)
	}
	opt.Method = method
	if err := opt.Validate(); err != nil {
		return usageError{err}
	}

	texts, err := tinylm.ReadJSONL(data)
	if err != nil {
		return fmt.Errorf("reading training data: %w", err)
	}
	dataSum, err := fileSHA256(data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	var tr *tinylm.Trainer
	var baseSum string
	if base != "" {
		dir, err := tinylm.ResolveDir(base)
		if err != nil {
			return fmt.Errorf("LLMOPS_BASE_MODEL_PATH: %w", err)
		}
		if baseSum, err = fileSHA256(filepath.Join(dir, tinylm.WeightsFile)); err != nil {
			return err
		}
	}
	if resume != "" {
		tr, err = tinylm.ResumeTrainer(resume, opt)
		if err != nil {
			return fmt.Errorf("LLMOPS_RESUME_FROM: %w", err)
		}
		fmt.Fprintf(os.Stderr, "train: resuming from %s after epoch %d (step %d)\n", resume, tr.Epoch, tr.Step)
	} else {
		m, err := tinylm.Load(base)
		if err != nil {
			return fmt.Errorf("loading base model: %w", err)
		}
		if tr, err = tinylm.NewTrainer(m, opt); err != nil {
			return usageError{err}
		}
	}
	m := tr.Model
	ds := m.BuildDataset(texts)
	fmt.Fprintf(os.Stderr, "train: method=%s optimizer=%s lr=%g epochs=%d batch=%d seed=%d: %d texts, %d chars, %d/%d trainable params\n",
		opt.Method, opt.Optimizer, opt.LearningRate, opt.Epochs, opt.BatchSize, opt.Seed, len(texts), ds.Len(), tr.TrainableParams(), m.NumParams())

	start := time.Now()
	last, firstLoss, epochsRun, err := trainEpochs(tr, ds, opt, out, start)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()

	// Provenance recorded in config.json. It holds no timestamps or paths, so
	// the same inputs and seed give byte-identical model files.
	m.Cfg.Training = map[string]any{
		"kind": "finetune", "method": opt.Method, "optimizer": opt.Optimizer,
		"learning_rate": opt.LearningRate, "lr_schedule": opt.LRSchedule, "epochs": opt.Epochs,
		"batch_size": opt.BatchSize, "seed": opt.Seed, "grad_clip": opt.GradClip,
		"weight_decay": opt.WeightDecay, "train_data_sha256": dataSum, "train_chars": ds.Len(),
	}
	if baseSum != "" {
		m.Cfg.Training["base_model_sha256"] = baseSum
	}
	if opt.Method == "lora" {
		m.Cfg.Training["lora_rank"], m.Cfg.Training["lora_alpha"] = opt.LoRARank, opt.LoRAAlpha
	}
	if err := m.Save(filepath.Join(out, "model")); err != nil {
		return fmt.Errorf("writing model: %w", err)
	}

	final := map[string]float64{
		"epochs":           float64(opt.Epochs),
		"steps":            float64(tr.Step),
		"train_chars":      float64(ds.Len()),
		"train_examples":   float64(len(texts)),
		"trainable_params": float64(tr.TrainableParams()),
		"params":           float64(m.NumParams()),
		"train_seconds":    round(secs),
		"learning_rate":    opt.LearningRate,
	}
	if last.Examples > 0 { // at least one epoch ran in this process
		final["train_loss"] = round(last.Loss)
		final["train_perplexity"] = round(math.Exp(last.Loss))
		final["train_accuracy"] = round(last.Accuracy)
		final["first_epoch_loss"] = round(firstLoss)
		if secs > 0 {
			final["chars_per_second"] = math.Round(float64(ds.Len()*epochsRun) / secs)
		}
	}
	b, _ := json.MarshalIndent(final, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "metrics.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "train: done in %.1fs: final epoch loss %.4f accuracy %.4f; model in %s\n",
		secs, last.Loss, last.Accuracy, filepath.Join(out, "model"))
	return nil
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// trainEpochs trains until opt.Epochs, appending progress to
// metrics.jsonl (unbuffered, so llmops shows it live) and saving a
// checkpoint after each epoch: the last epoch's result, the first loss
// and how many epochs ran in this process.
func trainEpochs(tr *tinylm.Trainer, ds *tinylm.Dataset, opt tinylm.TrainOptions, out string, start time.Time) (last tinylm.EpochResult, firstLoss float64, epochsRun int, err error) {
	mf, err := os.OpenFile(filepath.Join(out, "metrics.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return last, 0, 0, err
	}
	defer mf.Close()
	emit := func(rec map[string]any) error {
		b, _ := json.Marshal(rec)
		_, err := mf.Write(append(b, '\n')) // unbuffered: each line is visible at once
		return err
	}

	stepsPerEpoch := (ds.Len() + opt.BatchSize - 1) / opt.BatchSize
	var writeErr error
	for tr.Epoch < opt.Epochs {
		last = tr.TrainEpoch(ds, func(p tinylm.Progress) {
			if writeErr == nil {
				writeErr = emit(map[string]any{"step": p.Step, "epoch": p.Epoch, "loss": round(p.Loss), "learning_rate": p.LR,
					"progress": round(float64(p.Step) / float64(stepsPerEpoch*opt.Epochs))})
			}
			fmt.Fprintf(os.Stderr, "train: epoch %d/%d step %d/%d loss %.4f lr %.5f (%.1fs)\n",
				p.Epoch, opt.Epochs, p.Step, stepsPerEpoch*opt.Epochs, p.Loss, p.LR, time.Since(start).Seconds())
		})
		if epochsRun++; epochsRun == 1 {
			firstLoss = last.Loss
		}
		if writeErr != nil {
			return last, firstLoss, epochsRun, fmt.Errorf("writing metrics.jsonl: %w", writeErr)
		}
		if err := emit(map[string]any{"step": tr.Step, "epoch": last.Epoch, "epoch_loss": round(last.Loss),
			"epoch_accuracy": round(last.Accuracy)}); err != nil {
			return last, firstLoss, epochsRun, fmt.Errorf("writing metrics.jsonl: %w", err)
		}
		ck := filepath.Join(out, "checkpoints", tinylm.CheckpointName(tr.Epoch))
		if err := tr.SaveCheckpoint(ck); err != nil {
			return last, firstLoss, epochsRun, fmt.Errorf("writing checkpoint: %w", err)
		}
		fmt.Fprintf(os.Stderr, "train: epoch %d done: loss %.4f accuracy %.4f; checkpoint %s\n", last.Epoch, last.Loss, last.Accuracy, ck)
	}
	return last, firstLoss, epochsRun, nil
}

// readContract reads the job contract's variables this program uses: the
// base model, the training data, the output directory, a checkpoint to
// resume from and the method.
func readContract() (base, data, out, resume, method string, err error) {
	base = env("LLMOPS_BASE_MODEL_PATH")
	data = env("LLMOPS_TRAIN_PATH")
	if data == "" {
		data = env("LLMOPS_DATASET_PATH")
	}
	out = env("LLMOPS_OUTPUT_DIR")
	resume = env("LLMOPS_RESUME_FROM")
	method = env("LLMOPS_METHOD")
	if method == "" {
		method = "full"
	}
	switch {
	case out == "":
		return "", "", "", "", "", usageError{errors.New("LLMOPS_OUTPUT_DIR is not set")}
	case data == "":
		return "", "", "", "", "", usageError{errors.New("neither LLMOPS_TRAIN_PATH nor LLMOPS_DATASET_PATH is set")}
	case base == "" && resume == "":
		return "", "", "", "", "", usageError{errors.New("LLMOPS_BASE_MODEL_PATH is not set")}
	case method != "full" && method != "lora":
		return "", "", "", "", "", usageError{fmt.Errorf("LLMOPS_METHOD=%q is not supported by this program (supported: \"full\", \"lora\")", method)}
	}
	return base, data, out, resume, method, nil
}
