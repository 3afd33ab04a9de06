package ui_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sweepConfig is a for_each sweep over learning rates, each run evaluated
// with a gate; the job commands are this test binary (fakejobs_test.go).
// With live, a training run that writes a metric line every 150 ms until
// the file stop exists.
func sweepConfig(exe, stop string, live bool) string {
	s := fmt.Sprintf(`
locals {
  rates = { small = 0.001, mid = 0.01, big = 0.1 }
}

dataset "d" {
  source = "file://data.jsonl"
}

model "base" {
  source = "file://base"
}

training_run "sweep" {
  for_each        = local.rates
  base_model      = model.base.id
  dataset         = dataset.d.id
  command         = [%[1]q]
  env             = { UI_TEST_JOB = "train" }
  hyperparameters = { learning_rate = each.value, steps = 12 }
}

evaluation "e" {
  for_each = local.rates
  model    = training_run.sweep[each.key].output_model
  dataset  = dataset.d.id
  command  = [%[1]q]
  env      = { UI_TEST_JOB = "eval" }
  gate {
    metric = "accuracy"
    min    = 0.5
  }
}
`, exe)
	if live {
		s += fmt.Sprintf(`
training_run "live" {
  base_model      = model.base.id
  dataset         = dataset.d.id
  command         = [%[1]q]
  env             = { UI_TEST_JOB = "slow", UI_TEST_STOP = %[2]q }
  hyperparameters = { learning_rate = 0.01 }
}
`, exe, stop)
	}
	return s
}

// TestBrowserSweep applies a sweep of three training runs with gated
// evaluations, then a training run left running: the comparison marks the
// best run, the running run's curve grows on the page without a reload,
// and the history shows the diff `llmops diff` shows.
func TestBrowserSweep(t *testing.T) {
	b := newBrowser(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stop := filepath.Join(t.TempDir(), "stop")
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data.jsonl", `{"text": "one"}`+"\n"+`{"text": "two"}`+"\n")
	write("base/weights.json", `{"learning_rate": 0}`+"\n")
	write("main.llmops.hcl", sweepConfig(exe, stop, false))
	p := newProject(t, dir)
	t.Cleanup(func() { os.WriteFile(stop, nil, 0o644) })
	p.llmops("init")
	p.llmops("apply", "-auto-approve")

	s := p.startUI("-listen", "127.0.0.1:0", "-poll", "300ms")

	// The comparison: three runs, the best marked (lr 0.01: highest
	// accuracy, all gates passed).
	b.visit(s.url+"compare/training_run.sweep", `#compare tr[data-address]`)
	b.waitFor("the overlaid curves", `window.llmopsCharts.compare && window.llmopsCharts.compare.labels.length === 3`, 20*time.Second)
	best := eval[[]string](b, `[...document.querySelectorAll('#compare tr[data-best=true]')].map(r => r.dataset.address)`)
	if len(best) != 1 || best[0] != `training_run.sweep["mid"]` {
		t.Errorf("best run marked: %v, want training_run.sweep[\"mid\"]", best)
	}
	if star := b.text(`#compare tr[data-best=true]`); !strings.Contains(star, "best") {
		t.Errorf("the best row says %q", star)
	}
	// Each run's curve has its 12 points.
	for i := 1; i <= 3; i++ {
		if n := eval[int](b, fmt.Sprintf(`window.llmopsCharts.compare.data[%d].filter(v => v !== null).length`, i)); n != 12 {
			t.Errorf("curve %d has %d points, want 12", i, n)
		}
	}
	b.noConsoleErrors("comparison")
	b.screenshot("compare")
	// By the lowest final loss, the same run.
	b.visit(s.url+"compare/training_run.sweep?metric=loss", `#compare tr[data-best=true]`)
	if a := eval[string](b, `document.querySelector('#compare tr[data-best=true]').dataset.address`); a != `training_run.sweep["mid"]` {
		t.Errorf("best by loss: %s", a)
	}
	b.noConsoleErrors("comparison by loss")

	// A run left running: its curve grows while the page stays open.
	write("main.llmops.hcl", sweepConfig(exe, stop, true))
	p.llmops("apply", "-auto-approve", "-wait=false")
	b.visit(s.url+"runs/training_run.live", "#chart-loss")
	b.waitFor("a first points of the live run", `window.llmopsCharts.loss && window.llmopsCharts.loss.data[0].length >= 3`, 30*time.Second)
	n1 := eval[int](b, `window.llmopsCharts.loss.data[0].length`)
	b.waitFor("the live curve to grow", fmt.Sprintf(`window.llmopsCharts.loss.data[0].length >= %d`, n1+5), 30*time.Second)
	if txt := b.text("h1"); !strings.Contains(txt, "running") {
		t.Errorf("the live run's heading says %q", txt)
	}
	b.noConsoleErrors("live run")
	b.screenshot("run-live")
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.llmops("apply", "-auto-approve") // records the run finished

	// The history: the diff of the last two versions, as llmops diff.
	vs := s.apiJSON(t, "/api/versions")["versions"].([]any)
	if len(vs) < 3 {
		t.Fatalf("%d versions, want 3", len(vs))
	}
	last := int(vs[len(vs)-1].(map[string]any)["serial"].(float64))
	b.visit(s.url+fmt.Sprintf("history?from=%d&to=%d", last-1, last), "#diff")
	if txt := b.text("#diff"); !strings.Contains(txt, "training_run.live") {
		t.Errorf("diff %d..%d: %q", last-1, last, txt)
	}
	b.noConsoleErrors("history")
	b.screenshot("history")
	for from := 1; from < last; from++ {
		sameAsCLI(t, s, p, fmt.Sprintf("/api/diff?from=%d&to=%d", from, last), "diff", "-json", fmt.Sprint(from), fmt.Sprint(last))
	}
}
