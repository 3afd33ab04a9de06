package tinylm

import (
	"math"
	"strings"
)

// Metrics summarises how well a model predicts a set of texts.
type Metrics struct {
	Chars        int     `json:"chars"`         // predicted positions (incl. end of text)
	CrossEntropy float64 `json:"cross_entropy"` // mean -ln p(next), nats per char
	Perplexity   float64 `json:"perplexity"`    // exp(CrossEntropy)
	BitsPerChar  float64 `json:"bits_per_char"` // CrossEntropy / ln 2
	Accuracy     float64 `json:"accuracy"`      // top-1 next-character accuracy
}

// Evaluate computes per-character cross-entropy, perplexity and top-1
// accuracy of m on texts (each text starts with an empty context and ends
// with the end-of-text boundary).
func (m *Model) Evaluate(texts []string) Metrics {
	return m.EvaluateDataset(m.BuildDataset(texts))
}

// EvaluateDataset is Evaluate on prepared examples.
func (m *Model) EvaluateDataset(d *Dataset) Metrics {
	ws := m.NewWorkspace()
	ctx := make([]int, d.K)
	var nll float64
	correct := 0
	for n := 0; n < d.Len(); n++ {
		for i := range ctx {
			ctx[i] = int(d.Ctx[n*d.K+i])
		}
		p := m.Forward(ws, ctx)
		t := int(d.Targets[n])
		nll -= math.Log(math.Max(float64(p[t]), 1e-30))
		if argmax(p) == t {
			correct++
		}
	}
	return newMetrics(nll, correct, d.Len())
}

func newMetrics(nll float64, correct, n int) Metrics {
	if n == 0 {
		return Metrics{}
	}
	ce := nll / float64(n)
	return Metrics{
		Chars:        n,
		CrossEntropy: ce,
		Perplexity:   math.Exp(ce),
		BitsPerChar:  ce / math.Ln2,
		Accuracy:     float64(correct) / float64(n),
	}
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// GenerateOptions controls sampling.
type GenerateOptions struct {
	MaxTokens   int     // characters to generate at most
	Temperature float64 // <= 0 means greedy (argmax)
	Seed        uint64  // sampling seed (ignored when greedy)
	// Stop ends generation before any of these strings would be emitted.
	Stop []string
	// OnText, if set, receives the generated text as it is produced, in
	// pieces that are final: text that could still turn into a stop string
	// is held back until it cannot. The pieces add up to Generation.Text.
	OnText func(piece string)
}

// Generation is the result of Generate.
type Generation struct {
	Text         string
	Tokens       int    // characters generated
	FinishReason string // "length", "stop" (end of text or stop string)
}

// Generate continues prompt. The prompt is treated as the beginning of a
// text: if it is shorter than the context, the context is padded with the
// boundary token. Generation stops at MaxTokens characters, when the model
// predicts the end of the text, or at a stop string.
func (m *Model) Generate(prompt string, opt GenerateOptions) Generation {
	ids := m.Encode(prompt)
	ws := m.NewWorkspace()
	ctx := make([]int, 0, m.Cfg.Context)
	rng := NewRNG(opt.Seed)
	var out strings.Builder
	g := Generation{FinishReason: "length"}
	sent := 0 // bytes of out given to OnText
	emit := func(upto int) {
		if opt.OnText != nil && upto > sent {
			opt.OnText(out.String()[sent:upto])
			sent = upto
		}
	}
	defer func() { emit(len(g.Text)) }()
	for g.Tokens < opt.MaxTokens {
		ctx = m.Context(ctx, ids, len(ids))
		p := m.Forward(ws, ctx)
		next := sample(p, opt.Temperature, rng)
		if next == BoundaryID {
			g.FinishReason = "stop"
			break
		}
		ids = append(ids, next)
		out.WriteString(m.Char(next))
		g.Tokens++
		if s := out.String(); hasStop(s, opt.Stop) {
			g.Text = trimStop(s, opt.Stop)
			g.FinishReason = "stop"
			return g
		}
		emit(out.Len() - stopPrefix(out.String(), opt.Stop))
	}
	g.Text = out.String()
	return g
}

// stopPrefix is the length of the longest end of s that begins a stop
// string (text that must be held back while streaming).
func stopPrefix(s string, stops []string) int {
	best := 0
	for _, st := range stops {
		for n := min(len(st)-1, len(s)); n > best; n-- {
			if strings.HasSuffix(s, st[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

func hasStop(s string, stops []string) bool {
	for _, st := range stops {
		if st != "" && strings.Contains(s, st) {
			return true
		}
	}
	return false
}

func trimStop(s string, stops []string) string {
	cut := len(s)
	for _, st := range stops {
		if i := strings.Index(s, st); st != "" && i >= 0 && i < cut {
			cut = i
		}
	}
	return s[:cut]
}

// sample draws a token from p at the given temperature (greedy if <= 0).
func sample(p []float32, temperature float64, rng *RNG) int {
	if temperature <= 0 {
		return argmax(p)
	}
	lmax := math.Log(float64(p[argmax(p)]))
	w := make([]float64, len(p))
	var sum float64
	for i, v := range p {
		if v > 0 {
			w[i] = math.Exp((math.Log(float64(v)) - lmax) / temperature)
		}
		sum += w[i]
	}
	if sum == 0 || math.IsInf(sum, 0) || math.IsNaN(sum) {
		return argmax(p)
	}
	u := rng.Float64() * sum
	for i, v := range w {
		u -= v
		if u < 0 {
			return i
		}
	}
	return argmax(p)
}

// PredictNext returns the most likely next characters after prefix, greedily,
// stopping early at the end of the text. It is what the eval program's
// "exact match" protocol asks of a model.
func (m *Model) PredictNext(prefix string, n int) string {
	return m.Generate(prefix, GenerateOptions{MaxTokens: n}).Text
}
