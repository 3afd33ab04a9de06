// Command eval scores a tinylm model on a held-out JSON-lines split and
// writes $LLMOPS_OUTPUT_DIR/metrics.json (a flat object of numbers).
//
// Local model (LLMOPS_MODEL_PATH = model directory):
//
//	accuracy        top-1 next-character accuracy (teacher forcing)
//	perplexity      exp(mean per-character cross-entropy)
//	cross_entropy, bits_per_char, eval_chars, eval_examples
//	exact_match     share of examples whose next -completion-chars characters
//	                after the first -prompt-chars are generated exactly (greedy)
//	continuation_accuracy  per-character match rate of those continuations
//
// Live deployment (LLMOPS_ENDPOINT, optional LLMOPS_API_KEY and
// LLMOPS_MODEL_NAME): each example's first -prompt-chars characters are sent
// to POST {endpoint}/completions with temperature 0, and
// accuracy = continuation_accuracy and exact_match are reported (a deployment
// exposes no probabilities, so there is no perplexity).
//
// With -baseline DIR (or LLMOPS_BASELINE_MODEL_PATH) the baseline model is
// scored the same way and baseline_accuracy, baseline_perplexity,
// baseline_exact_match and accuracy_gain (= accuracy - baseline_accuracy)
// are added.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

type options struct {
	baseline        string
	promptChars     int
	completionChars int
	maxExamples     int
	timeout         time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.baseline, "baseline", os.Getenv("LLMOPS_BASELINE_MODEL_PATH"), "baseline model directory to compare against")
	flag.IntVar(&o.promptChars, "prompt-chars", 40, "characters of each example used as the prompt")
	flag.IntVar(&o.completionChars, "completion-chars", 12, "characters to complete and compare")
	flag.IntVar(&o.maxExamples, "max-examples", 0, "score at most this many examples (0 = all)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "HTTP timeout per request (endpoint mode)")
	flag.Parse()
	code := 0
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "eval: error: %v\n", err)
		code = 1
		if errors.As(err, new(usageError)) {
			code = 2
		}
	}
	os.Exit(code)
}

type usageError struct{ error }

func run(o options) error {
	modelPath, endpoint := os.Getenv("LLMOPS_MODEL_PATH"), os.Getenv("LLMOPS_ENDPOINT")
	dataPath, out := os.Getenv("LLMOPS_DATASET_PATH"), os.Getenv("LLMOPS_OUTPUT_DIR")
	switch {
	case dataPath == "":
		return usageError{errors.New("LLMOPS_DATASET_PATH is not set")}
	case modelPath == "" && endpoint == "":
		return usageError{errors.New("set LLMOPS_MODEL_PATH (a model directory) or LLMOPS_ENDPOINT (a deployment)")}
	case o.promptChars < 1 || o.completionChars < 1:
		return usageError{errors.New("-prompt-chars and -completion-chars must be >= 1")}
	}
	texts, err := tinylm.ReadJSONL(dataPath)
	if err != nil {
		return fmt.Errorf("reading eval data: %w", err)
	}
	if o.maxExamples > 0 && len(texts) > o.maxExamples {
		texts = texts[:o.maxExamples]
	}
	start := time.Now()
	metrics := map[string]float64{"eval_examples": float64(len(texts))}

	var baseline *tinylm.Model
	if o.baseline != "" {
		if baseline, err = tinylm.Load(o.baseline); err != nil {
			return fmt.Errorf("loading baseline: %w", err)
		}
	}
	if modelPath != "" {
		m, err := tinylm.Load(modelPath)
		if err != nil {
			return fmt.Errorf("loading model: %w", err)
		}
		scoreLocal(metrics, "", m, texts, o)
		if baseline != nil {
			scoreLocal(metrics, "baseline_", baseline, texts, o)
		}
	} else {
		c := client{endpoint: endpoint, key: os.Getenv("LLMOPS_API_KEY"), model: os.Getenv("LLMOPS_MODEL_NAME"),
			http: &http.Client{Timeout: o.timeout}}
		var calls int
		var latency time.Duration
		acc, em, n, err := continuation(texts, o, func(prompt string) (string, error) {
			t0 := time.Now()
			s, err := c.complete(prompt, o.completionChars)
			latency += time.Since(t0)
			calls++
			return s, err
		})
		if err != nil {
			return err
		}
		metrics["accuracy"], metrics["continuation_accuracy"], metrics["exact_match"] = acc, acc, em
		metrics["scored_examples"] = float64(n)
		if calls > 0 {
			metrics["latency_ms_avg"] = round(float64(latency.Microseconds()) / 1000 / float64(calls))
		}
		if baseline != nil {
			scoreLocal(metrics, "baseline_", baseline, texts, o)
			metrics["baseline_accuracy"] = metrics["baseline_continuation_accuracy"]
		}
	}
	if baseline != nil {
		metrics["accuracy_gain"] = round(metrics["accuracy"] - metrics["baseline_accuracy"])
		if p, ok := metrics["perplexity"]; ok {
			metrics["perplexity_reduction"] = round(metrics["baseline_perplexity"] - p)
		}
	}
	metrics["eval_seconds"] = round(time.Since(start).Seconds())

	b, _ := json.MarshalIndent(metrics, "", "  ")
	b = append(b, '\n')
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "metrics.json"), b, 0o644); err != nil {
			return err
		}
	}
	os.Stdout.Write(b)
	summary := fmt.Sprintf("eval: %d examples: accuracy %.4f", len(texts), metrics["accuracy"])
	if p, ok := metrics["perplexity"]; ok {
		summary += fmt.Sprintf(" perplexity %.3f", p)
	}
	if baseline != nil {
		summary += fmt.Sprintf(" | baseline accuracy %.4f perplexity %.3f | gain %+.4f",
			metrics["baseline_accuracy"], metrics["baseline_perplexity"], metrics["accuracy_gain"])
	}
	fmt.Fprintln(os.Stderr, summary)
	return nil
}

// scoreLocal adds teacher-forced and continuation metrics for m under prefix.
func scoreLocal(metrics map[string]float64, prefix string, m *tinylm.Model, texts []string, o options) {
	r := m.Evaluate(texts)
	metrics[prefix+"accuracy"] = round(r.Accuracy)
	metrics[prefix+"perplexity"] = round(r.Perplexity)
	metrics[prefix+"cross_entropy"] = round(r.CrossEntropy)
	metrics[prefix+"bits_per_char"] = round(r.BitsPerChar)
	if prefix == "" {
		metrics["eval_chars"] = float64(r.Chars)
	}
	acc, em, _, _ := continuation(texts, o, func(p string) (string, error) {
		return m.PredictNext(p, o.completionChars), nil
	})
	metrics[prefix+"continuation_accuracy"], metrics[prefix+"exact_match"] = acc, em
}

// continuation runs the prompt/complete protocol over texts long enough for
// it and returns the per-character match rate, the exact-match rate and the
// number of examples scored.
func continuation(texts []string, o options, complete func(string) (string, error)) (acc, exact float64, n int, err error) {
	matched, total, exacts := 0, 0, 0
	for _, t := range texts {
		rs := []rune(t)
		if len(rs) < o.promptChars+o.completionChars {
			continue
		}
		want := rs[o.promptChars : o.promptChars+o.completionChars]
		got, err := complete(string(rs[:o.promptChars]))
		if err != nil {
			return 0, 0, n, err
		}
		g := []rune(got)
		ok := len(g) >= len(want)
		for i, w := range want {
			if i < len(g) && g[i] == w {
				matched++
			} else {
				ok = false
			}
		}
		total += len(want)
		if ok {
			exacts++
		}
		n++
	}
	if n == 0 {
		return 0, 0, 0, nil
	}
	return round(float64(matched) / float64(total)), round(float64(exacts) / float64(n)), n, nil
}

type client struct {
	endpoint, key, model string
	http                 *http.Client
}

// completionsURL is {endpoint}/completions; an endpoint without a path gets
// /v1 first, and one already ending in /completions is used as is.
func completionsURL(endpoint string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", usageError{fmt.Errorf("LLMOPS_ENDPOINT %q is not an absolute URL", endpoint)}
	}
	p := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/completions"):
	case p == "":
		p = "/v1/completions"
	default:
		p += "/completions"
	}
	u.Path = p
	return u.String(), nil
}

func (c client) complete(prompt string, n int) (string, error) {
	u, err := completionsURL(c.endpoint)
	if err != nil {
		return "", err
	}
	model := c.model
	if model == "" {
		model = "tinylm"
	}
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "max_tokens": n, "temperature": 0, "seed": 0})
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %s: %s", u, resp.Status, strings.TrimSpace(string(raw)))
	}
	var r struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Choices) == 0 {
		return "", fmt.Errorf("POST %s: unexpected response %.200q", u, raw)
	}
	return r.Choices[0].Text, nil
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }
