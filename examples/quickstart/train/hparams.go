package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

// parseHParams applies the JSON object in raw (LLMOPS_HPARAMS) to the
// default options. Numbers may be JSON numbers or numeric strings. Unknown
// keys are returned as warnings and otherwise ignored.
func parseHParams(raw string, opt tinylm.TrainOptions) (tinylm.TrainOptions, []string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return opt, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return opt, nil, fmt.Errorf("LLMOPS_HPARAMS is not a JSON object: %v", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var warnings []string
	for _, k := range keys {
		v := m[k]
		var err error
		switch k {
		case "learning_rate", "lr":
			opt.LearningRate, err = num(v)
		case "epochs":
			opt.Epochs, err = integer(v)
		case "batch_size":
			opt.BatchSize, err = integer(v)
		case "seed":
			var s int
			s, err = integer(v)
			if err == nil && s < 0 {
				err = fmt.Errorf("must be >= 0")
			}
			opt.Seed = uint64(s)
		case "grad_clip":
			opt.GradClip, err = num(v)
		case "weight_decay":
			opt.WeightDecay, err = num(v)
		case "lora_rank":
			opt.LoRARank, err = integer(v)
		case "lora_alpha":
			opt.LoRAAlpha, err = num(v)
		case "log_every":
			opt.LogEvery, err = integer(v)
		case "optimizer":
			opt.Optimizer, err = str(v)
		case "lr_schedule":
			opt.LRSchedule, err = str(v)
		default:
			warnings = append(warnings, fmt.Sprintf("ignoring unknown hyperparameter %q", k))
		}
		if err != nil {
			return opt, nil, fmt.Errorf("hyperparameter %q: %v", k, err)
		}
	}
	return opt, warnings, nil
}

func num(v any) (float64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("want a number, got %v", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return f, nil
}

func integer(v any) (int, error) {
	f, err := num(v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("want an integer, got %v", f)
	}
	return int(f), nil
}

func str(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %v", v)
	}
	return s, nil
}
