package ui

import (
	"math"
	"net/http"
	"sort"
	"strings"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/schema"
)

// compareRun is one run of a comparison.
type compareRun struct {
	Address         string             `json:"address"`
	Status          string             `json:"status"`
	Final           map[string]float64 `json:"final"`
	Hyperparameters any                `json:"hyperparameters,omitempty"`
	Evaluations     []compareEval      `json:"evaluations"`
	// Passed is false when an evaluation of the run's model failed a gate,
	// nil without evaluations.
	Passed *bool `json:"passed"`
}

// compareEval is an evaluation of a run's model, with its gates.
type compareEval struct {
	Address string             `json:"address"`
	Passed  *bool              `json:"passed"`
	Results map[string]float64 `json:"results"`
	Gates   any                `json:"gates"`
}

// apiCompare: GET /api/compare?resource=training_run.sweep[&metric=M],
// the runs a resource (or a glob) names, with their final metrics and the
// gates of the evaluations of their models, and the best run by metric M
// (default: the first of eval.accuracy, accuracy, eval_loss, loss the
// runs have). Evaluation results are named eval.<metric>.
func (s *Server) apiCompare(w http.ResponseWriter, r *http.Request) {
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	p, err := addrs.ParsePattern(r.URL.Query().Get("resource"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "resource must name runs: /api/compare?resource=training_run.sweep ("+err.Error()+")")
		return
	}
	runs := []compareRun{}
	metrics := map[string]bool{}
	for _, o := range v.instancesOf(p) {
		if t := o.Addr.Resource.Type; t != schema.TrainingRun && t != schema.Evaluation && t != schema.EmbeddingIndex {
			continue
		}
		st, _ := classify(o)
		cr := compareRun{Address: o.Addr.String(), Status: st, Final: numberMap(jsonAttr(o, "metrics", "results")),
			Hyperparameters: jsonAttr(o, "hyperparameters"), Evaluations: []compareEval{}}
		if out := history.AttrString(o.Value, "output_model"); out != "" {
			cr.Evaluations = evaluationsOf(v, out)
		}
		for _, e := range cr.Evaluations {
			if e.Passed != nil {
				ok := *e.Passed && (cr.Passed == nil || *cr.Passed)
				cr.Passed = &ok
			}
			for k, x := range e.Results {
				if _, dup := cr.Final["eval."+k]; !dup {
					cr.Final["eval."+k] = x
				}
			}
		}
		for k := range cr.Final {
			metrics[k] = true
		}
		runs = append(runs, cr)
	}
	metric := r.URL.Query().Get("metric")
	if metric == "" {
		metric = defaultMetric(metrics)
	}
	dir := direction(metric)
	writeJSON(w, map[string]any{"format_version": formatVersion, "serial": v.serial, "resource": p.String(),
		"runs": runs, "metrics": sortedKeys(metrics), "metric": metric, "direction": dir, "best": best(runs, metric, dir)})
}

// evaluationsOf returns the evaluations of a model id.
func evaluationsOf(v *view, model string) []compareEval {
	out := []compareEval{}
	for _, sm := range v.summaries {
		if sm.Type != schema.Evaluation {
			continue
		}
		o := v.object(sm.Address)
		if history.AttrString(o.Value, "model") != model {
			continue
		}
		e := compareEval{Address: sm.Address, Results: numberMap(jsonAttr(o, "results")), Gates: jsonAttr(o, "gate")}
		if b, ok := jsonAttr(o, "passed").(bool); ok {
			e.Passed = &b
		}
		out = append(out, e)
	}
	return out
}

// numberMap keeps the numbers of a JSON object.
func numberMap(v any) map[string]float64 {
	out := map[string]float64{}
	m, _ := v.(map[string]any)
	for k, x := range m {
		if f, ok := toFloat(x); ok {
			out[k] = f
		}
	}
	return out
}

func defaultMetric(have map[string]bool) string {
	for _, m := range []string{"eval.accuracy", "accuracy", "eval_loss", "loss"} {
		if have[m] {
			return m
		}
	}
	if ks := sortedKeys(have); len(ks) > 0 {
		return ks[0]
	}
	return ""
}

// direction is "min" for metrics where lower is better (losses,
// perplexities, errors, latencies), else "max".
func direction(metric string) string {
	m := strings.ToLower(metric)
	for _, w := range []string{"loss", "perplexity", "ppl", "error", "latency", "wer", "cer"} {
		if strings.Contains(m, w) {
			return "min"
		}
	}
	return "max"
}

// best is the run with the best value of metric, among those whose gates
// passed when any did.
func best(runs []compareRun, metric, dir string) string {
	anyPassed := false
	for _, r := range runs {
		anyPassed = anyPassed || (r.Passed != nil && *r.Passed)
	}
	bestAddr, bestVal := "", math.NaN()
	for _, r := range runs {
		x, ok := r.Final[metric]
		if !ok || (anyPassed && (r.Passed == nil || !*r.Passed)) {
			continue
		}
		if bestAddr == "" || (dir == "min" && x < bestVal) || (dir == "max" && x > bestVal) {
			bestAddr, bestVal = r.Address, x
		}
	}
	return bestAddr
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func toFloat(x any) (float64, bool) {
	switch n := x.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case interface{ Float64() (float64, error) }:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
