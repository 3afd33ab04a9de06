// Package tinylm is a tiny character-level neural language model used by the
// llmops quickstart example. It is deliberately small (about 20k parameters)
// so that pre-training, fine-tuning, evaluation and serving all run on a
// laptop CPU in seconds, using nothing but the Go standard library.
//
// Architecture (a Bengio-style MLP language model):
//
//	ids of the previous Context characters
//	  -> embedding lookup (EmbedDim each), concatenated  (D = Context*EmbedDim)
//	  -> hidden layer: h = tanh(x·W1 + b1)               (Hidden units)
//	  -> output layer: logits = h·W2 + b2                (vocabulary size)
//	  -> softmax over the vocabulary
//
// Token id 0 is the document boundary: it pads the context before the first
// character of a text and is the target after its last character, so the
// model learns where texts end. Token id 1 stands for any character that is
// not in the vocabulary. Ids from 2 on are the characters of Config.Vocab.
//
// All arithmetic is single-threaded, in a fixed order, and uses no
// platform-specific math routines on the training path, so a training run with
// a given seed produces byte-identical weights on a given platform.
package tinylm

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Format identifies the model file format in config.json and model.bin.
const (
	Format        = "tinylm"
	FormatVersion = 1
)

// Special token ids.
const (
	BoundaryID = 0 // start padding and end-of-text target
	UnknownID  = 1 // out-of-vocabulary character
	firstChar  = 2
)

// Config describes the architecture and vocabulary of a model. It is stored
// as config.json next to the weights.
type Config struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Context  int    `json:"context"`   // number of previous characters seen
	EmbedDim int    `json:"embed_dim"` // embedding size per character
	Hidden   int    `json:"hidden"`    // hidden layer width
	// Vocab lists the characters with ids 2, 3, ... in order.
	Vocab string `json:"vocab"`
	// Seed is the seed the weights were initialised from.
	Seed uint64 `json:"seed"`
	// Training records how the weights were produced (free-form, sorted keys).
	Training map[string]any `json:"training,omitempty"`
	// ChatTemplate turns a conversation into the model's prompt (a Go
	// text/template, see ChatPrompt); empty means DefaultChatTemplate.
	ChatTemplate string `json:"chat_template,omitempty"`
}

// DefaultVocab is printable ASCII: space through tilde.
func DefaultVocab() string {
	b := make([]byte, 0, 95)
	for c := byte(' '); c <= '~'; c++ {
		b = append(b, c)
	}
	return string(b)
}

// DefaultConfig returns the architecture used by the quickstart base model.
func DefaultConfig() Config {
	return Config{
		Format: Format, Version: FormatVersion,
		Context: 8, EmbedDim: 12, Hidden: 96,
		Vocab: DefaultVocab(), Seed: 1,
	}
}

// Validate checks that the configuration describes a usable model.
func (c Config) Validate() error {
	if c.Format != Format {
		return fmt.Errorf("tinylm: config format is %q, want %q", c.Format, Format)
	}
	if c.Version != FormatVersion {
		return fmt.Errorf("tinylm: config version %d is not supported (want %d)", c.Version, FormatVersion)
	}
	if c.Context < 1 || c.Context > 64 || c.EmbedDim < 1 || c.EmbedDim > 256 || c.Hidden < 1 || c.Hidden > 4096 {
		return fmt.Errorf("tinylm: bad architecture context=%d embed_dim=%d hidden=%d", c.Context, c.EmbedDim, c.Hidden)
	}
	if !utf8.ValidString(c.Vocab) || utf8.RuneCountInString(c.Vocab) == 0 {
		return fmt.Errorf("tinylm: vocabulary is empty or not valid UTF-8")
	}
	seen := map[rune]bool{}
	for _, r := range c.Vocab {
		if seen[r] {
			return fmt.Errorf("tinylm: vocabulary repeats %q", r)
		}
		seen[r] = true
	}
	return nil
}

// Model holds the weights of a tinylm network. Weight matrices are row-major:
// W1 is [D][Hidden], W2 is [Hidden][V], Emb is [V][EmbedDim].
type Model struct {
	Cfg Config
	Emb []float32
	W1  []float32
	B1  []float32
	W2  []float32
	B2  []float32

	chars []rune
	index map[rune]int
}

// New returns a model with freshly initialised weights. The initialisation
// depends only on cfg (including cfg.Seed), never on the platform.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Cfg: cfg}
	m.initVocab()
	V, E, D, H := m.VocabSize(), cfg.EmbedDim, m.InputDim(), cfg.Hidden
	m.Emb = make([]float32, V*E)
	m.W1 = make([]float32, D*H)
	m.B1 = make([]float32, H)
	m.W2 = make([]float32, H*V)
	m.B2 = make([]float32, V)
	r := NewRNG(cfg.Seed)
	fill := func(w []float32, std float64) {
		for i := range w {
			w[i] = float32(r.Norm() * std)
		}
	}
	fill(m.Emb, 0.5)
	fill(m.W1, (5.0/3.0)/math.Sqrt(float64(D)))
	fill(m.W2, 0.1/math.Sqrt(float64(H)))
	return m, nil
}

func (m *Model) initVocab() {
	m.chars = []rune(m.Cfg.Vocab)
	m.index = make(map[rune]int, len(m.chars))
	for i, r := range m.chars {
		m.index[r] = i + firstChar
	}
}

// VocabSize is the number of output classes (characters plus 2 specials).
func (m *Model) VocabSize() int { return len(m.chars) + firstChar }

// InputDim is the size of the concatenated context embedding.
func (m *Model) InputDim() int { return m.Cfg.Context * m.Cfg.EmbedDim }

// NumParams is the number of weights in the model.
func (m *Model) NumParams() int {
	return len(m.Emb) + len(m.W1) + len(m.B1) + len(m.W2) + len(m.B2)
}

// Tensor is a named weight array, used by the file format and optimisers.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Tensors returns the model weights in their canonical order. The slices
// alias the model's storage.
func (m *Model) Tensors() []Tensor {
	V, E, D, H := m.VocabSize(), m.Cfg.EmbedDim, m.InputDim(), m.Cfg.Hidden
	return []Tensor{
		{"emb", []int{V, E}, m.Emb},
		{"w1", []int{D, H}, m.W1},
		{"b1", []int{H}, m.B1},
		{"w2", []int{H, V}, m.W2},
		{"b2", []int{V}, m.B2},
	}
}

// Clone returns a deep copy of the model.
func (m *Model) Clone() *Model {
	c := &Model{Cfg: m.Cfg}
	c.Cfg.Training = cloneMap(m.Cfg.Training)
	c.initVocab()
	c.Emb = append([]float32(nil), m.Emb...)
	c.W1 = append([]float32(nil), m.W1...)
	c.B1 = append([]float32(nil), m.B1...)
	c.W2 = append([]float32(nil), m.W2...)
	c.B2 = append([]float32(nil), m.B2...)
	return c
}

func cloneMap(in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// ID returns the token id of a character (UnknownID if it is not in the
// vocabulary).
func (m *Model) ID(r rune) int {
	if id, ok := m.index[r]; ok {
		return id
	}
	return UnknownID
}

// Char returns the text of a token id: "" for the boundary, U+FFFD for
// unknown characters.
func (m *Model) Char(id int) string {
	switch {
	case id == BoundaryID:
		return ""
	case id < firstChar || id-firstChar >= len(m.chars):
		return "\uFFFD"
	}
	return string(m.chars[id-firstChar])
}

// Encode maps a text to token ids (without boundaries).
func (m *Model) Encode(text string) []int {
	ids := make([]int, 0, len(text))
	for _, r := range text {
		ids = append(ids, m.ID(r))
	}
	return ids
}

// Workspace holds the activations of one forward/backward pass. A Workspace
// must not be shared between goroutines; the model itself is read-only during
// inference and can be shared.
type Workspace struct {
	x, h, p, dh, dx []float32
}

// NewWorkspace allocates activation buffers for m.
func (m *Model) NewWorkspace() *Workspace {
	return &Workspace{
		x:  make([]float32, m.InputDim()),
		h:  make([]float32, m.Cfg.Hidden),
		p:  make([]float32, m.VocabSize()),
		dh: make([]float32, m.Cfg.Hidden),
		dx: make([]float32, m.InputDim()),
	}
}

// Forward computes the next-token distribution for a context of exactly
// Cfg.Context token ids (oldest first). The returned slice is owned by ws and
// is overwritten by the next call.
func (m *Model) Forward(ws *Workspace, ctx []int) []float32 {
	E, H, V := m.Cfg.EmbedDim, m.Cfg.Hidden, m.VocabSize()
	x := ws.x
	for k, id := range ctx[:m.Cfg.Context] {
		copy(x[k*E:(k+1)*E], m.Emb[id*E:(id+1)*E])
	}
	h := ws.h[:H]
	copy(h, m.B1)
	for i, xi := range x {
		axpy(xi, m.W1[i*H:(i+1)*H], h)
	}
	for j, a := range h {
		h[j] = tanh32(a)
	}
	p := ws.p[:V]
	copy(p, m.B2)
	for j, hj := range h {
		axpy(hj, m.W2[j*V:(j+1)*V], p)
	}
	softmax(p)
	return p
}

// softmax turns logits into probabilities in place.
func softmax(p []float32) {
	mx := p[0]
	for _, v := range p {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range p {
		e := expDet(float64(v - mx))
		p[i] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for i := range p {
		p[i] *= inv
	}
}

func tanh32(a float32) float32 {
	x := float64(a)
	if x > 20 {
		return 1
	}
	if x < -20 {
		return -1
	}
	return float32(1 - 2/(expDet(2*x)+1))
}

// expDet is exp(x) computed with plain arithmetic only, so that results do not
// depend on CPU features (math.Exp uses FMA instructions where available).
func expDet(x float64) float64 {
	if x > 700 {
		x = 700
	}
	if x < -700 {
		return 0
	}
	const ln2hi, ln2lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
	n := math.Floor(x/math.Ln2 + 0.5)
	r := (x - n*ln2hi) - n*ln2lo
	// Taylor series to degree 9 (Horner form); |r| <= 0.35, so the
	// truncation error is below 1e-11, far under float32 precision.
	s := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320+r*(1.0/362880)))))))))
	return s * math.Float64frombits(uint64(int64(n)+1023)<<52)
}

// Context fills dst with the Cfg.Context ids preceding position t of ids,
// padding with BoundaryID before the start.
func (m *Model) Context(dst []int, ids []int, t int) []int {
	k := m.Cfg.Context
	dst = dst[:0]
	for i := t - k; i < t; i++ {
		if i < 0 {
			dst = append(dst, BoundaryID)
		} else {
			dst = append(dst, ids[i])
		}
	}
	return dst
}
