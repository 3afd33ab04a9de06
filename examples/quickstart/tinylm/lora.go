package tinylm

import "math"

// loraState holds low-rank adapters for the two weight matrices:
//
//	W1 = W1base + s·A1·B1   (A1: D×r, B1: r×H)
//	W2 = W2base + s·A2·B2   (A2: H×r, B2: r×V)
//
// with s = alpha/r. The base matrices stay frozen; A and B are trained (the
// trainer also trains embeddings and biases directly). B starts at zero, so
// training starts exactly at the base model. After every step the adapters are merged into the model's W1
// and W2, so the saved model is an ordinary tinylm model.
type loraState struct {
	r              int
	s              float32
	w1base, w2base []float32
	a1, b1, a2, b2 []float32
	ga1, gb1       []float32
	ga2, gb2       []float32
	d, h, v        int
}

func newLoRA(m *Model, rank int, alpha float64, seed uint64) *loraState {
	D, H, V := m.InputDim(), m.Cfg.Hidden, m.VocabSize()
	l := &loraState{
		r: rank, s: float32(alpha / float64(rank)), d: D, h: H, v: V,
		w1base: append([]float32(nil), m.W1...),
		w2base: append([]float32(nil), m.W2...),
		a1:     make([]float32, D*rank), b1: make([]float32, rank*H),
		a2: make([]float32, H*rank), b2: make([]float32, rank*V),
		ga1: make([]float32, D*rank), gb1: make([]float32, rank*H),
		ga2: make([]float32, H*rank), gb2: make([]float32, rank*V),
	}
	rng := NewRNG(seed)
	for i := range l.a1 {
		l.a1[i] = float32(rng.Norm() / math.Sqrt(float64(D)))
	}
	for i := range l.a2 {
		l.a2[i] = float32(rng.Norm() / math.Sqrt(float64(H)))
	}
	return l
}

// tensors returns the trainable adapters and their gradient buffers.
func (l *loraState) tensors() (params, grads []Tensor) {
	params = []Tensor{
		{"lora.a1", []int{l.d, l.r}, l.a1}, {"lora.b1", []int{l.r, l.h}, l.b1},
		{"lora.a2", []int{l.h, l.r}, l.a2}, {"lora.b2", []int{l.r, l.v}, l.b2},
	}
	grads = []Tensor{
		{"lora.a1", []int{l.d, l.r}, l.ga1}, {"lora.b1", []int{l.r, l.h}, l.gb1},
		{"lora.a2", []int{l.h, l.r}, l.ga2}, {"lora.b2", []int{l.r, l.v}, l.gb2},
	}
	return params, grads
}

// stateTensors are the adapters plus the frozen base matrices, as stored in
// a checkpoint.
func (l *loraState) stateTensors() []Tensor {
	p, _ := l.tensors()
	return append(p,
		Tensor{"lora.w1base", []int{l.d, l.h}, l.w1base},
		Tensor{"lora.w2base", []int{l.h, l.v}, l.w2base})
}

// projectGrads turns full-matrix gradients dW into adapter gradients:
// dA = s·dW·Bᵀ and dB = s·Aᵀ·dW.
func (l *loraState) projectGrads(g *Model) {
	project(g.W1, l.a1, l.b1, l.ga1, l.gb1, l.d, l.h, l.r, l.s)
	project(g.W2, l.a2, l.b2, l.ga2, l.gb2, l.h, l.v, l.r, l.s)
}

func project(dw, a, b, ga, gb []float32, rows, cols, r int, s float32) {
	clear(ga)
	clear(gb)
	for i := 0; i < rows; i++ {
		drow := dw[i*cols : (i+1)*cols]
		arow := a[i*r : (i+1)*r]
		garow := ga[i*r : (i+1)*r]
		for k := 0; k < r; k++ {
			brow := b[k*cols : (k+1)*cols]
			gbrow := gb[k*cols : (k+1)*cols]
			ak := s * arow[k]
			var dot float32
			for j, d := range drow {
				dot += d * brow[j]
				gbrow[j] += ak * d
			}
			garow[k] = s * dot
		}
	}
}

// merge writes W = Wbase + s·A·B into the model.
func (l *loraState) merge(m *Model) {
	mergeInto(m.W1, l.w1base, l.a1, l.b1, l.d, l.h, l.r, l.s)
	mergeInto(m.W2, l.w2base, l.a2, l.b2, l.h, l.v, l.r, l.s)
}

func mergeInto(w, base, a, b []float32, rows, cols, r int, s float32) {
	copy(w, base)
	for i := 0; i < rows; i++ {
		wrow := w[i*cols : (i+1)*cols]
		for k := 0; k < r; k++ {
			ak := s * a[i*r+k]
			for j, bv := range b[k*cols : (k+1)*cols] {
				wrow[j] += ak * bv
			}
		}
	}
}
