package tinylm

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tinyConfig() Config {
	return Config{Format: Format, Version: FormatVersion, Context: 3, EmbedDim: 4, Hidden: 5, Vocab: "abc d", Seed: 3}
}

var tinyTexts = []string{"abc abc dab", "cab dab abc", "dd cc bb aa", "abcd abcd abcd"}

// lossOf is the example's loss under the current weights.
func lossOf(m *Model, ctx []int, target int) float64 {
	p := m.Forward(m.NewWorkspace(), ctx)
	return -math.Log(float64(p[target]))
}

func checkGrad(t *testing.T, name string, w, g []float32, loss func() float64) {
	t.Helper()
	const eps = 1e-2
	for i := range w {
		orig := w[i]
		w[i] = orig + eps
		lp := loss()
		w[i] = orig - eps
		lm := loss()
		w[i] = orig
		num := (lp - lm) / (2 * eps)
		if diff := math.Abs(num - float64(g[i])); diff > 2e-3+0.03*math.Abs(num) {
			t.Errorf("%s[%d]: analytic %.6f numeric %.6f", name, i, g[i], num)
		}
	}
}

func TestGradientCheck(t *testing.T) {
	m, err := New(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Make the output layer non-trivial so its gradients matter.
	r := NewRNG(9)
	for i := range m.W2 {
		m.W2[i] = float32(r.Norm() * 0.5)
	}
	for i := range m.B1 {
		m.B1[i] = float32(r.Norm() * 0.1)
	}
	ctx, target := []int{m.ID('a'), m.ID('b'), m.ID('c')}, m.ID(' ')
	tr, err := NewTrainer(m, DefaultTrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	tr.zeroGrads()
	m.backward(m.NewWorkspace(), ctx, target, tr.grads, true, 1)
	loss := func() float64 { return lossOf(m, ctx, target) }
	gt := tr.grads.Tensors()
	for i, w := range m.Tensors() {
		checkGrad(t, w.Name, w.Data, gt[i].Data, loss)
	}
}

func TestLoRAGradientCheck(t *testing.T) {
	m, _ := New(tinyConfig())
	opt := DefaultTrainOptions()
	opt.Method, opt.LoRARank, opt.LoRAAlpha = "lora", 2, 4
	tr, err := NewTrainer(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRNG(5)
	for _, b := range [][]float32{tr.lora.b1, tr.lora.b2} { // B starts at 0; make it non-zero
		for i := range b {
			b[i] = float32(r.Norm() * 0.3)
		}
	}
	tr.lora.merge(m)
	ctx, target := []int{m.ID('d'), m.ID('a'), m.ID('b')}, m.ID('c')
	tr.zeroGrads()
	m.backward(m.NewWorkspace(), ctx, target, tr.grads, true, 1)
	tr.lora.projectGrads(tr.grads)
	loss := func() float64 { tr.lora.merge(m); return lossOf(m, ctx, target) }
	params, grads := tr.lora.tensors()
	for i, p := range params {
		checkGrad(t, p.Name, p.Data, grads[i].Data, loss)
	}
}

func train(t *testing.T, m *Model, opt TrainOptions, epochs int) *Trainer {
	t.Helper()
	tr, err := NewTrainer(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	d := m.BuildDataset(tinyTexts)
	for i := 0; i < epochs; i++ {
		tr.TrainEpoch(d, nil)
	}
	return tr
}

func modelBytes(t *testing.T, m *Model) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	return append(a, b...)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, _ := New(tinyConfig())
	m.Cfg.Training = map[string]any{"kind": "test", "epochs": 2}
	train(t, m, DefaultTrainOptions(), 1)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range m.Tensors() {
		g := got.Tensors()[i]
		if w.Name != g.Name || len(w.Data) != len(g.Data) {
			t.Fatalf("tensor %d: %s/%d vs %s/%d", i, w.Name, len(w.Data), g.Name, len(g.Data))
		}
		for j := range w.Data {
			if math.Float32bits(w.Data[j]) != math.Float32bits(g.Data[j]) {
				t.Fatalf("%s[%d] differs", w.Name, j)
			}
		}
	}
	if !bytes.Equal(modelBytes(t, m), modelBytes(t, got)) {
		t.Fatal("saving a loaded model changes its bytes")
	}
	// A training output directory (with model/ inside) loads too.
	out := t.TempDir()
	m.Save(filepath.Join(out, "model"))
	if _, err := Load(out); err != nil {
		t.Fatal(err)
	}
	// Corruption is detected.
	raw, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
	os.WriteFile(filepath.Join(dir, WeightsFile), raw[:len(raw)-3], 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated file: err = %v", err)
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	for _, method := range []string{"full", "lora"} {
		opt := DefaultTrainOptions()
		opt.Method, opt.BatchSize, opt.Seed = method, 4, 11
		a, _ := New(tinyConfig())
		b, _ := New(tinyConfig())
		c, _ := New(tinyConfig())
		train(t, a, opt, 2)
		train(t, b, opt, 2)
		opt.Seed = 12
		train(t, c, opt, 2)
		if !bytes.Equal(modelBytes(t, a), modelBytes(t, b)) {
			t.Errorf("%s: same seed, different weights", method)
		}
		if bytes.Equal(modelBytes(t, a), modelBytes(t, c)) {
			t.Errorf("%s: different seeds, same weights", method)
		}
	}
}

func TestResumeMatchesUninterrupted(t *testing.T) {
	for _, method := range []string{"full", "lora"} {
		opt := DefaultTrainOptions()
		opt.Method, opt.BatchSize, opt.Epochs = method, 4, 3
		full, _ := New(tinyConfig())
		train(t, full, opt, 3)

		part, _ := New(tinyConfig())
		tr := train(t, part, opt, 1)
		ck := filepath.Join(t.TempDir(), "checkpoints", CheckpointName(1))
		if err := tr.SaveCheckpoint(ck); err != nil {
			t.Fatal(err)
		}
		res, err := ResumeTrainer(filepath.Dir(filepath.Dir(ck)), opt) // an output dir works
		if err != nil {
			t.Fatal(err)
		}
		d := res.Model.BuildDataset(tinyTexts)
		for res.Epoch < opt.Epochs {
			res.TrainEpoch(d, nil)
		}
		if !bytes.Equal(modelBytes(t, full), modelBytes(t, res.Model)) {
			t.Errorf("%s: resumed run differs from uninterrupted run", method)
		}
		bad := opt
		bad.Method = map[string]string{"full": "lora", "lora": "full"}[method]
		if _, err := ResumeTrainer(ck, bad); err == nil {
			t.Errorf("%s: resuming with another method must fail", method)
		}
	}
}

func TestTrainingLearns(t *testing.T) {
	for _, method := range []string{"full", "lora"} {
		m, _ := New(tinyConfig())
		before := m.Evaluate(tinyTexts)
		opt := DefaultTrainOptions()
		opt.Method, opt.BatchSize, opt.LearningRate = method, 4, 0.03
		train(t, m, opt, 40)
		after := m.Evaluate(tinyTexts)
		if !(after.CrossEntropy < before.CrossEntropy*0.6) || !(after.Accuracy > before.Accuracy+0.2) {
			t.Errorf("%s: did not learn: before %+v after %+v", method, before, after)
		}
	}
}

func TestGenerate(t *testing.T) {
	m, _ := New(tinyConfig())
	train(t, m, DefaultTrainOptions(), 30)
	g1 := m.Generate("ab", GenerateOptions{MaxTokens: 30})
	g2 := m.Generate("ab", GenerateOptions{MaxTokens: 30})
	if g1 != g2 || g1.Tokens != len([]rune(g1.Text)) {
		t.Fatalf("greedy generation: %+v vs %+v", g1, g2)
	}
	if g1.FinishReason == "length" && g1.Tokens != 30 {
		t.Fatalf("finish_reason length after %d tokens", g1.Tokens)
	}
	s1 := m.Generate("ab", GenerateOptions{MaxTokens: 30, Temperature: 1.2, Seed: 5})
	s2 := m.Generate("ab", GenerateOptions{MaxTokens: 30, Temperature: 1.2, Seed: 5})
	if s1 != s2 {
		t.Fatalf("seeded sampling not reproducible: %q vs %q", s1.Text, s2.Text)
	}
	if g := m.Generate("a", GenerateOptions{MaxTokens: 0}); g.Text != "" || g.FinishReason != "length" {
		t.Fatalf("max 0 tokens: %+v", g)
	}
	st := m.Generate("ab", GenerateOptions{MaxTokens: 50, Temperature: 1.5, Seed: 1, Stop: []string{"a"}})
	if strings.Contains(st.Text, "a") {
		t.Fatalf("stop string not honoured: %+v", st)
	}
}

func TestMetrics(t *testing.T) {
	m, _ := New(tinyConfig())
	r := m.Evaluate([]string{"ab", "c"})
	if r.Chars != 5 { // 2+1 chars plus one end-of-text per text
		t.Fatalf("chars = %d, want 5", r.Chars)
	}
	if math.Abs(r.Perplexity-math.Exp(r.CrossEntropy)) > 1e-9 || math.Abs(r.BitsPerChar*math.Ln2-r.CrossEntropy) > 1e-9 {
		t.Fatalf("inconsistent metrics %+v", r)
	}
	// An untrained model is close to uniform over the 7 classes.
	if r.Perplexity < 4 || r.Perplexity > 10 {
		t.Fatalf("untrained perplexity %v", r.Perplexity)
	}
}

func TestParseJSONL(t *testing.T) {
	texts, err := ParseJSONL(strings.NewReader("{\"text\":\"a\"}\n\n{\"prompt\":\"b\",\"completion\":\"c\"}\n"))
	if err != nil || len(texts) != 2 || texts[1] != "bc" {
		t.Fatalf("got %q, %v", texts, err)
	}
	if _, err := ParseJSONL(strings.NewReader("{\"text\":\"a\"}\n{oops\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v", err)
	}
	if _, err := ParseJSONL(strings.NewReader("{\"label\":1}\n")); err == nil {
		t.Fatal("missing text accepted")
	}
}

func TestExpDet(t *testing.T) {
	for _, x := range []float64{-30, -5, -1, -0.3, 0, 0.2, 1, 3, 10, 40} {
		if got, want := expDet(x), math.Exp(x); math.Abs(got-want) > 1e-10*want {
			t.Errorf("expDet(%v) = %v, want %v", x, got, want)
		}
	}
}
