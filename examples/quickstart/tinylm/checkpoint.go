package tinylm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Checkpoint layout (one directory per checkpoint, e.g. checkpoints/epoch-002):
//
//	model/         the model after that epoch (loadable with Load)
//	trainer.json   {"epoch":N,"step":S,"options":{...}}
//	trainer.bin    optimiser moments and LoRA adapters (tensor format)
const (
	trainerJSON = "trainer.json"
	trainerBin  = "trainer.bin"
)

type trainerMeta struct {
	Epoch   int          `json:"epoch"`
	Step    int          `json:"step"`
	Options TrainOptions `json:"options"`
}

// CheckpointName is the directory name of the checkpoint after epoch n.
func CheckpointName(epoch int) string { return fmt.Sprintf("epoch-%03d", epoch) }

// SaveCheckpoint writes the trainer state to dir. It writes into a temporary
// sibling directory and renames it, so dir is either complete or absent.
func (t *Trainer) SaveCheckpoint(dir string) error {
	tmp := dir + ".partial"
	os.RemoveAll(tmp)
	if err := t.Model.Save(filepath.Join(tmp, "model")); err != nil {
		return err
	}
	meta, err := json.MarshalIndent(trainerMeta{Epoch: t.Epoch, Step: t.Step, Options: t.Opt}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, trainerJSON), append(meta, '\n'), 0o644); err != nil {
		return err
	}
	var state []Tensor
	if t.m != nil {
		state = append(state,
			Tensor{"adam.m", []int{len(t.m)}, t.m},
			Tensor{"adam.v", []int{len(t.v)}, t.v})
	}
	if t.lora != nil {
		state = append(state, t.lora.stateTensors()...)
	}
	var buf bytes.Buffer
	if err := WriteTensors(&buf, state); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, trainerBin), buf.Bytes(), 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

// FindCheckpoint resolves path to a checkpoint directory: path itself if it
// holds trainer.json, otherwise the latest epoch-NNN checkpoint in path or in
// path/checkpoints.
func FindCheckpoint(path string) (string, error) {
	if _, err := os.Stat(filepath.Join(path, trainerJSON)); err == nil {
		return path, nil
	}
	for _, dir := range []string{path, filepath.Join(path, "checkpoints")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		best, bestN := "", -1
		for _, e := range entries {
			n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "epoch-"))
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "epoch-") || err != nil {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, e.Name(), trainerJSON)); err == nil && n > bestN {
				best, bestN = filepath.Join(dir, e.Name()), n
			}
		}
		if best != "" {
			return best, nil
		}
	}
	return "", fmt.Errorf("no checkpoint (%s) in %s or %s", trainerJSON, path, filepath.Join(path, "checkpoints", "epoch-NNN"))
}

// ResumeTrainer loads the checkpoint in dir (see FindCheckpoint) and returns
// a trainer that continues it with opt. The method must match the
// checkpoint's; other options (e.g. a larger epoch count) may change.
func ResumeTrainer(path string, opt TrainOptions) (*Trainer, error) {
	dir, err := FindCheckpoint(path)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, trainerJSON))
	if err != nil {
		return nil, err
	}
	var meta trainerMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, trainerJSON), err)
	}
	if meta.Options.Method != opt.Method || meta.Options.Optimizer != opt.Optimizer ||
		(opt.Method == "lora" && meta.Options.LoRARank != opt.LoRARank) {
		return nil, fmt.Errorf("checkpoint %s was made with method=%s optimizer=%s lora_rank=%d; cannot resume with method=%s optimizer=%s lora_rank=%d",
			dir, meta.Options.Method, meta.Options.Optimizer, meta.Options.LoRARank, opt.Method, opt.Optimizer, opt.LoRARank)
	}
	m, err := Load(filepath.Join(dir, "model"))
	if err != nil {
		return nil, err
	}
	t, err := NewTrainer(m, opt)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, trainerBin))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	state, err := ReadTensors(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, trainerBin), err)
	}
	var want []Tensor
	if t.m != nil {
		want = append(want, Tensor{"adam.m", []int{len(t.m)}, t.m}, Tensor{"adam.v", []int{len(t.v)}, t.v})
	}
	if t.lora != nil {
		want = append(want, t.lora.stateTensors()...)
	}
	if err := assignTensors(want, state); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, trainerBin), err)
	}
	if t.lora != nil {
		t.lora.merge(t.Model)
	}
	t.Epoch, t.Step = meta.Epoch, meta.Step
	return t, nil
}
