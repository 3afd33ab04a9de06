package tinylm

import (
	"fmt"
	"math"
)

// TrainOptions are the hyperparameters of a training run.
type TrainOptions struct {
	// Method is "full" (every weight is trained) or "lora" (the matrices W1
	// and W2 are frozen and rank-LoRARank adapters on them are trained, then
	// merged into the weights after every step; the embeddings and biases,
	// 7% of the weights, are trained directly).
	Method       string  `json:"method"`
	Optimizer    string  `json:"optimizer"` // "adam" or "sgd"
	LearningRate float64 `json:"learning_rate"`
	// LRSchedule is "constant" or "linear" (decays linearly to 10% of
	// LearningRate over the run).
	LRSchedule string  `json:"lr_schedule"`
	Epochs     int     `json:"epochs"`
	BatchSize  int     `json:"batch_size"`
	Seed       uint64  `json:"seed"`
	GradClip   float64 `json:"grad_clip"` // global-norm clip; 0 disables
	// WeightDecay is decoupled (AdamW-style) decay: w -= lr*wd*w each step.
	WeightDecay float64 `json:"weight_decay"`
	LoRARank    int     `json:"lora_rank"`
	LoRAAlpha   float64 `json:"lora_alpha"`
	// LogEvery is the number of optimiser steps between progress reports.
	LogEvery int `json:"log_every"`
}

// DefaultTrainOptions are the fine-tuning defaults used by the quickstart.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Method: "full", Optimizer: "adam", LearningRate: 0.01, LRSchedule: "linear",
		Epochs: 2, BatchSize: 64, Seed: 1, GradClip: 1,
		LoRARank: 8, LoRAAlpha: 16, LogEvery: 100,
	}
}

// Validate checks the options.
func (o TrainOptions) Validate() error {
	switch {
	case o.Method != "full" && o.Method != "lora":
		return fmt.Errorf("unsupported method %q (want \"full\" or \"lora\")", o.Method)
	case o.Optimizer != "adam" && o.Optimizer != "sgd":
		return fmt.Errorf("unsupported optimizer %q (want \"adam\" or \"sgd\")", o.Optimizer)
	case o.LRSchedule != "constant" && o.LRSchedule != "linear":
		return fmt.Errorf("unsupported lr_schedule %q (want \"constant\" or \"linear\")", o.LRSchedule)
	case !(o.LearningRate > 0) || o.LearningRate > 10:
		return fmt.Errorf("learning_rate must be in (0, 10], got %v", o.LearningRate)
	case o.Epochs < 1 || o.Epochs > 1000:
		return fmt.Errorf("epochs must be in [1, 1000], got %d", o.Epochs)
	case o.BatchSize < 1 || o.BatchSize > 65536:
		return fmt.Errorf("batch_size must be in [1, 65536], got %d", o.BatchSize)
	case o.GradClip < 0:
		return fmt.Errorf("grad_clip must be >= 0, got %v", o.GradClip)
	case o.WeightDecay < 0 || o.WeightDecay >= 1:
		return fmt.Errorf("weight_decay must be in [0, 1), got %v", o.WeightDecay)
	case o.Method == "lora" && (o.LoRARank < 1 || o.LoRARank > 256):
		return fmt.Errorf("lora_rank must be in [1, 256], got %d", o.LoRARank)
	case o.Method == "lora" && !(o.LoRAAlpha > 0):
		return fmt.Errorf("lora_alpha must be > 0, got %v", o.LoRAAlpha)
	case o.LogEvery < 1:
		return fmt.Errorf("log_every must be >= 1, got %d", o.LogEvery)
	}
	return nil
}

// Progress is reported every LogEvery steps and at the end of each epoch.
type Progress struct {
	Epoch    int     // 1-based epoch in progress
	Step     int     // optimiser steps done so far in the run
	Loss     float64 // mean training loss since the previous report
	LR       float64 // learning rate of the last step
	Examples int     // examples seen in this epoch
}

// EpochResult summarises one epoch.
type EpochResult struct {
	Epoch    int
	Loss     float64 // mean loss over the epoch (weights changing as it goes)
	Accuracy float64 // mean top-1 accuracy over the epoch
	Examples int
	Steps    int
}

// Trainer trains a model in place.
type Trainer struct {
	Model *Model
	Opt   TrainOptions
	Epoch int // epochs completed
	Step  int // optimiser steps completed

	grads  *Model    // full-size gradient buffers
	params []Tensor  // tensors the optimiser updates
	pgrads []Tensor  // their gradients
	m, v   []float32 // Adam moments, params concatenated
	// b1^step and b2^step, valid for adamStep == Step.
	b1t, b2t float64
	adamStep int
	lora     *loraState
	ws       *Workspace
}

// NewTrainer prepares to train m with opt.
func NewTrainer(m *Model, opt TrainOptions) (*Trainer, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, Opt: opt, ws: m.NewWorkspace(), b1t: 1, b2t: 1}
	t.grads = &Model{Cfg: m.Cfg}
	t.grads.Emb = make([]float32, len(m.Emb))
	t.grads.W1 = make([]float32, len(m.W1))
	t.grads.B1 = make([]float32, len(m.B1))
	t.grads.W2 = make([]float32, len(m.W2))
	t.grads.B2 = make([]float32, len(m.B2))
	t.grads.chars = m.chars
	if opt.Method == "lora" {
		t.lora = newLoRA(m, opt.LoRARank, opt.LoRAAlpha, DeriveSeed(opt.Seed, 1<<32))
		t.params, t.pgrads = t.lora.tensors()
		// The small non-matrix weights (embeddings, biases) are trained
		// directly, like PEFT's modules_to_save: characters the base model
		// never saw need their own embeddings.
		mt, gt := m.Tensors(), t.grads.Tensors()
		for _, i := range []int{0, 2, 4} { // emb, b1, b2
			t.params, t.pgrads = append(t.params, mt[i]), append(t.pgrads, gt[i])
		}
	} else {
		t.params, t.pgrads = m.Tensors(), t.grads.Tensors()
	}
	n := 0
	for _, p := range t.params {
		n += len(p.Data)
	}
	if opt.Optimizer == "adam" {
		t.m, t.v = make([]float32, n), make([]float32, n)
	}
	return t, nil
}

// TrainableParams is the number of weights the optimiser updates.
func (t *Trainer) TrainableParams() int {
	n := 0
	for _, p := range t.params {
		n += len(p.Data)
	}
	return n
}

// TrainEpoch runs one epoch over d in a seeded shuffled order. The order
// depends only on (Seed, epoch number), so a run resumed from a checkpoint
// continues exactly as an uninterrupted one would.
func (t *Trainer) TrainEpoch(d *Dataset, report func(Progress)) EpochResult {
	epoch := t.Epoch + 1
	N := d.Len()
	order := make([]int32, N)
	for i := range order {
		order[i] = int32(i)
	}
	rng := NewRNG(DeriveSeed(t.Opt.Seed, uint64(epoch)))
	rng.Shuffle(N, func(i, j int) { order[i], order[j] = order[j], order[i] })

	totalSteps := t.Opt.Epochs * ((N + t.Opt.BatchSize - 1) / t.Opt.BatchSize)
	ctx := make([]int, d.K)
	var epochLoss, windowLoss float64
	correct, windowN, steps := 0, 0, 0
	lr := t.Opt.LearningRate
	for start := 0; start < N; start += t.Opt.BatchSize {
		end := min(start+t.Opt.BatchSize, N)
		t.zeroGrads()
		scale := float32(1) / float32(end-start)
		for _, ex := range order[start:end] {
			for i := range ctx {
				ctx[i] = int(d.Ctx[int(ex)*d.K+i])
			}
			loss, ok := t.Model.backward(t.ws, ctx, int(d.Targets[ex]), t.grads, true, scale)
			epochLoss += loss
			windowLoss += loss
			windowN++
			if ok {
				correct++
			}
		}
		lr = t.lrAt(t.Step, totalSteps)
		t.update(lr)
		t.Step++
		steps++
		if report != nil && (t.Step%t.Opt.LogEvery == 0 || end == N) {
			report(Progress{Epoch: epoch, Step: t.Step, Loss: windowLoss / float64(windowN), LR: lr, Examples: end})
			windowLoss, windowN = 0, 0
		}
	}
	t.Epoch = epoch
	return EpochResult{Epoch: epoch, Loss: epochLoss / float64(N), Accuracy: float64(correct) / float64(N), Examples: N, Steps: steps}
}

func (t *Trainer) lrAt(step, total int) float64 {
	if t.Opt.LRSchedule == "linear" && total > 1 {
		frac := float64(step) / float64(total-1)
		return t.Opt.LearningRate * (1 - 0.9*math.Min(frac, 1))
	}
	return t.Opt.LearningRate
}

func (t *Trainer) zeroGrads() {
	for _, g := range t.grads.Tensors() {
		clear(g.Data)
	}
}

// update applies one optimiser step with the accumulated gradients.
func (t *Trainer) update(lr float64) {
	if t.lora != nil {
		t.lora.projectGrads(t.grads)
	}
	gscale := 1.0
	if t.Opt.GradClip > 0 {
		var ss float64
		for _, g := range t.pgrads {
			for _, v := range g.Data {
				ss += float64(v) * float64(v)
			}
		}
		if norm := math.Sqrt(ss); norm > t.Opt.GradClip {
			gscale = t.Opt.GradClip / norm
		}
	}
	if wd := float32(1 - lr*t.Opt.WeightDecay); t.Opt.WeightDecay > 0 {
		for _, p := range t.params {
			for j := range p.Data {
				p.Data[j] *= wd
			}
		}
	}
	if t.Opt.Optimizer == "sgd" {
		for i, p := range t.params {
			g := t.pgrads[i].Data
			for j := range p.Data {
				p.Data[j] -= float32(lr * gscale * float64(g[j]))
			}
		}
	} else {
		const b1, b2, eps = 0.9, 0.999, 1e-8
		// Bias corrections by repeated multiplication (no math.Pow, which
		// is not bit-reproducible across CPUs).
		if t.adamStep != t.Step {
			t.b1t, t.b2t = 1, 1
			for i := 0; i < t.Step; i++ {
				t.b1t *= b1
				t.b2t *= b2
			}
		}
		t.b1t *= b1
		t.b2t *= b2
		t.adamStep = t.Step + 1
		c1, c2 := 1/(1-t.b1t), 1/(1-t.b2t)
		off := 0
		for i, p := range t.params {
			g := t.pgrads[i].Data
			m, v := t.m[off:off+len(p.Data)], t.v[off:off+len(p.Data)]
			for j := range p.Data {
				gj := gscale * float64(g[j])
				mj := b1*float64(m[j]) + (1-b1)*gj
				vj := b2*float64(v[j]) + (1-b2)*gj*gj
				m[j], v[j] = float32(mj), float32(vj)
				p.Data[j] -= float32(lr * (mj * c1) / (math.Sqrt(vj*c2) + eps))
			}
			off += len(p.Data)
		}
	}
	if t.lora != nil {
		t.lora.merge(t.Model)
	}
}

// backward runs the forward pass for one example and accumulates
// scale * d(loss)/d(weights) into g. It returns the example's loss and
// whether the top-1 prediction was right. Embedding gradients are skipped
// when trainEmb is false.
func (m *Model) backward(ws *Workspace, ctx []int, target int, g *Model, trainEmb bool, scale float32) (float64, bool) {
	p := m.Forward(ws, ctx)
	E, H, V := m.Cfg.EmbedDim, m.Cfg.Hidden, m.VocabSize()
	loss := -math.Log(math.Max(float64(p[target]), 1e-30))
	ok := argmax(p) == target
	// dlogits = (p - onehot) * scale, in place.
	p[target] -= 1
	for v := range p {
		p[v] *= scale
	}
	for v, d := range p {
		g.B2[v] += d
	}
	h, dh := ws.h[:H], ws.dh[:H]
	for j, hj := range h {
		dot := axpyDot(hj, p[:V], g.W2[j*V:(j+1)*V], m.W2[j*V:(j+1)*V])
		dh[j] = dot * (1 - hj*hj)
	}
	for j, d := range dh {
		g.B1[j] += d
	}
	x, dx := ws.x, ws.dx
	if !trainEmb {
		for i, xi := range x {
			axpy(xi, dh, g.W1[i*H:(i+1)*H])
		}
		return loss, ok
	}
	for i, xi := range x {
		dx[i] = axpyDot(xi, dh, g.W1[i*H:(i+1)*H], m.W1[i*H:(i+1)*H])
	}
	for k, id := range ctx {
		grow := g.Emb[id*E : (id+1)*E]
		for e, d := range dx[k*E : (k+1)*E] {
			grow[e] += d
		}
	}
	return loss, ok
}
