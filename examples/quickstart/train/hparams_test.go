package main

import (
	"testing"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func TestParseHParams(t *testing.T) {
	def := tinylm.DefaultTrainOptions()
	o, warn, err := parseHParams(`{"learning_rate":0.05,"epochs":"3","seed":7,"batch_size":32.0,"optimizer":"sgd","warmup":1}`, def)
	if err != nil {
		t.Fatal(err)
	}
	if o.LearningRate != 0.05 || o.Epochs != 3 || o.Seed != 7 || o.BatchSize != 32 || o.Optimizer != "sgd" || o.LoRARank != def.LoRARank {
		t.Fatalf("got %+v", o)
	}
	if len(warn) != 1 {
		t.Fatalf("warnings %v, want one for the unknown key", warn)
	}
	if o, _, err := parseHParams("", def); err != nil || o != def {
		t.Fatalf("empty hparams: %+v %v", o, err)
	}
	for _, bad := range []string{`[1]`, `{"epochs":1.5}`, `{"learning_rate":"fast"}`, `{"optimizer":3}`, `{"seed":-1}`} {
		if _, _, err := parseHParams(bad, def); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
