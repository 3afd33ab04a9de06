// Command pretrain produces the quickstart's base model (examples/quickstart/
// base/): a tinylm model trained from scratch on a generated generic English
// corpus (see corpus.go). The result is a pure function of the flags, so
// running it again reproduces base/model.bin byte for byte on the same
// platform.
//
//	go run ./examples/quickstart/tools/pretrain -out examples/quickstart/base
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func main() {
	out := flag.String("out", "examples/quickstart/base", "output model directory")
	paragraphs := flag.Int("paragraphs", 1500, "corpus size in paragraphs")
	corpusSeed := flag.Uint64("corpus-seed", 7, "corpus generator seed")
	seed := flag.Uint64("seed", 42, "weight initialisation and shuffling seed")
	epochs := flag.Int("epochs", 3, "training epochs")
	lr := flag.Float64("lr", 0.01, "Adam learning rate")
	wd := flag.Float64("weight-decay", 0.1, "decoupled weight decay")
	dump := flag.String("dump-corpus", "", "also write the corpus to this file (one paragraph per line)")
	flag.Parse()
	log.SetFlags(0)

	texts := Corpus(*corpusSeed, *paragraphs)
	heldOut := Corpus(*corpusSeed+1000, 100)
	if *dump != "" {
		f, err := os.Create(*dump)
		if err != nil {
			log.Fatal(err)
		}
		for _, t := range texts {
			fmt.Fprintln(f, t)
		}
		f.Close()
	}
	cfg := tinylm.DefaultConfig()
	cfg.Seed = *seed
	m, err := tinylm.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	d := m.BuildDataset(texts)
	opt := tinylm.DefaultTrainOptions()
	opt.Epochs, opt.LearningRate, opt.Seed, opt.LogEvery, opt.WeightDecay = *epochs, *lr, *seed, 1000, *wd
	tr, err := tinylm.NewTrainer(m, opt)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("pretrain: %d paragraphs, %d chars, %d params", len(texts), d.Len(), m.NumParams())
	start := time.Now()
	for e := 0; e < opt.Epochs; e++ {
		r := tr.TrainEpoch(d, func(p tinylm.Progress) {
			log.Printf("epoch %d step %d loss %.4f", p.Epoch, p.Step, p.Loss)
		})
		ev := m.Evaluate(heldOut)
		log.Printf("epoch %d: train loss %.4f acc %.4f | held-out english acc %.4f ppl %.3f (%s)",
			r.Epoch, r.Loss, r.Accuracy, ev.Accuracy, ev.Perplexity, time.Since(start).Round(time.Millisecond))
	}
	ev := m.Evaluate(heldOut)
	m.Cfg.Training = map[string]any{
		"kind":                 "pretrain",
		"corpus":               "generic-english-v1 (tools/pretrain/corpus.go)",
		"corpus_seed":          *corpusSeed,
		"paragraphs":           *paragraphs,
		"train_chars":          d.Len(),
		"epochs":               opt.Epochs,
		"learning_rate":        opt.LearningRate,
		"batch_size":           opt.BatchSize,
		"optimizer":            opt.Optimizer,
		"weight_decay":         opt.WeightDecay,
		"heldout_accuracy":     round4(ev.Accuracy),
		"heldout_perplexity":   round4(ev.Perplexity),
		"heldout_english_docs": len(heldOut),
	}
	if err := m.Save(*out); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (held-out english: accuracy %.4f, perplexity %.3f)", *out, ev.Accuracy, ev.Perplexity)
}

func round4(x float64) float64 { return float64(int64(x*10000+0.5)) / 10000 }
