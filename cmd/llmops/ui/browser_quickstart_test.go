package ui_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// TestBrowserQuickstart applies examples/quickstart (train, evaluate,
// deploy, monitor) for real, sends traffic to its deployment, and checks
// every page of the dashboard in Chromium.
func TestBrowserQuickstart(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	copyQuickstart(t, dir)
	apiKey := fmt.Sprintf("sk-ui-test-%d", time.Now().UnixNano())
	p := newProject(t, dir, "LLMOPS_VAR_api_key="+apiKey)
	p.llmops("init")
	p.llmops("apply", "-auto-approve")

	// Traffic for the deployment page.
	endpoint := strings.TrimSpace(p.llmops("output", "-raw", "endpoint"))
	const requests = 5
	for i := 0; i < requests; i++ {
		if err := complete(endpoint, apiKey); err != nil {
			t.Fatalf("completion %d: %v", i, err)
		}
	}

	s := p.startUI("-listen", "127.0.0.1:0", "-poll", "300ms")
	want := []string{"dataset.tickets", "deployment.tickets", "evaluation.quality", "model.base", "monitor.tickets", "training_run.ft"}

	// Overview: every object, with its status.
	b.visit(s.url, "#objects tr[data-address]")
	got := eval[[]string](b, `[...document.querySelectorAll('#objects tr[data-address]')].map(r => r.dataset.address)`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("overview lists %v, want %v", got, want)
	}
	if st := eval[[]string](b, `[...document.querySelectorAll('#objects tr[data-address]')].map(r => r.dataset.status)`); strings.Join(st, ",") != "ready,ready,ready,ready,ready,ready" {
		t.Errorf("statuses %v", st)
	}
	b.waitFor("the last apply", `document.querySelectorAll('#applies tbody tr').length === 1`, 10*time.Second)
	b.noConsoleErrors("overview")
	b.screenshot("overview")
	checkRunPages(t, b, s, dir)
	checkLineagePages(t, b, s, p, len(want))
	checkDeploymentPage(t, b, s, endpoint, apiKey, requests)

	// The monitor's page: its API key is sensitive, never sent.
	b.visit(s.url+"objects/monitor.tickets", "#values dl")
	if txt := b.text("#values"); !strings.Contains(txt, "(sensitive)") {
		t.Errorf("monitor attributes: %q", txt)
	}
	if html := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, apiKey) {
		t.Errorf("the page holds the API key")
	}
	b.noConsoleErrors("monitor")
	b.screenshot("object")

	// History and events.
	b.visit(s.url+"history", "#versions tr[data-serial]")
	b.waitFor("the diff", `document.querySelector('#diff') !== null`, 10*time.Second)
	b.noConsoleErrors("history")
	b.visit(s.url+"events", "#events-box")
	b.noConsoleErrors("events")

	// The API answers as the CLI does.
	sameAsCLI(t, s, p, "/api/versions", "history", "-json")
	sameAsCLI(t, s, p, "/api/lineage/deployment.tickets", "lineage", "-json", "deployment.tickets")
	sameAsCLI(t, s, p, "/api/events", "events", "-json")
}

// checkRunPages: the training run's loss curve has a point per line of
// metrics.jsonl; the evaluation shows its gates.
func checkRunPages(t *testing.T, b *browser, s *uiServer, dir string) {
	lines, lossLines := metricsLines(t, dir, "training_run")
	b.visit(s.url+"runs/training_run.ft", "#chart-loss canvas")
	b.waitFor("every metrics.jsonl line on the chart", fmt.Sprintf(`window.llmopsCharts.loss && window.llmopsCharts.loss.data[0].length === %d`, lines), 20*time.Second)
	labels := eval[[]string](b, `window.llmopsCharts.loss.labels`)
	li := -1
	for i, l := range labels {
		if l == "loss" {
			li = i + 1
		}
	}
	if li < 0 {
		t.Fatalf("the loss chart has no loss series: %v", labels)
	}
	if n := eval[int](b, fmt.Sprintf(`window.llmopsCharts.loss.data[%d].filter(v => v !== null).length`, li)); n != lossLines {
		t.Errorf("the loss curve has %d points, metrics.jsonl %d lines with a loss", n, lossLines)
	}
	if log := b.text("#log"); !strings.Contains(log, "train:") {
		t.Errorf("log tail: %q", log)
	}
	if !strings.Contains(b.text("#final"), "train_loss") {
		t.Errorf("final metrics: %q", b.text("#final"))
	}
	b.noConsoleErrors("training run")
	b.screenshot("run")

	// The evaluation: its gates.
	b.visit(s.url+"runs/evaluation.quality", "#final tr[data-metric=accuracy]")
	if txt := b.text("#final tr[data-metric=accuracy]"); !strings.Contains(txt, "pass") {
		t.Errorf("accuracy gate: %q", txt)
	}
	b.noConsoleErrors("evaluation")
}

// checkLineagePages: the deployment's lineage has the nodes and edges
// `llmops lineage` finds; the whole graph has every object.
func checkLineagePages(t *testing.T, b *browser, s *uiServer, p *project, objects int) {
	cli := p.jsonOf("lineage", "-json", "deployment.tickets")
	wantNodes, wantEdges := flattenLineage(cli["lineage"].(map[string]any))
	b.visit(s.url+"lineage/deployment.tickets", "#lineage-svg .node")
	nodes := eval[[]string](b, `[...document.querySelectorAll('#lineage-svg .node')].map(n => n.dataset.address).sort()`)
	edges := eval[[]string](b, `[...document.querySelectorAll('#lineage-svg path.edge')].map(e => e.dataset.from + ' -> ' + e.dataset.to).sort()`)
	if !reflect.DeepEqual(nodes, wantNodes) || !reflect.DeepEqual(edges, wantEdges) {
		t.Errorf("lineage graph:\n nodes %v\n edges %v\nwant (llmops lineage):\n nodes %v\n edges %v", nodes, edges, wantNodes, wantEdges)
	}
	for _, e := range []string{"model.base -> training_run.ft", "dataset.tickets -> training_run.ft", "training_run.ft -> deployment.tickets", "evaluation.quality -> deployment.tickets"} {
		if !contains(edges, e) {
			t.Errorf("lineage graph lacks %s: %v", e, edges)
		}
	}
	if href := eval[string](b, `document.querySelector('#lineage-svg .node[data-address="training_run.ft"]').getAttribute('href')`); href != "/runs/training_run.ft" {
		t.Errorf("training_run.ft links to %q", href)
	}
	b.noConsoleErrors("lineage")
	b.screenshot("lineage")
	b.visit(s.url+"lineage", "#lineage-svg .node")
	if n := eval[int](b, `document.querySelectorAll('#lineage-svg .node').length`); n != objects {
		t.Errorf("the whole lineage graph has %d nodes, want %d", n, objects)
	}
	b.noConsoleErrors("whole lineage")
}

// checkDeploymentPage: traffic from the gateway (some sent while the page
// is open, so that it has rates to draw), the monitor's checks, the
// rollback command.
func checkDeploymentPage(t *testing.T, b *browser, s *uiServer, endpoint, apiKey string, requests int) {
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		for i := 0; i < 40; i++ {
			complete(endpoint, apiKey)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	b.visit(s.url+"deployments/deployment.tickets", "#totals .card")
	b.waitFor("the requests sent", fmt.Sprintf(`(document.querySelector('#totals').innerText.match(/requests \(this revision\)\s+(\d+)/) || [])[1] >= %d`, requests), 20*time.Second)
	b.waitFor("a rate over two scrapes", `window.llmopsCharts.rpm && window.llmopsCharts.rpm.data[1].some(v => v > 0)`, 20*time.Second)
	<-trafficDone
	b.waitFor("latency percentiles", `window.llmopsCharts.latency && window.llmopsCharts.latency.data[2].some(v => v > 0)`, 20*time.Second)
	checks := eval[[]string](b, `[...document.querySelectorAll('.monitor tr[data-check]')].map(r => r.dataset.check).sort()`)
	if strings.Join(checks, ",") != "error_rate,eval:quality.accuracy,p95_latency_ms" {
		t.Errorf("monitor checks %v", checks)
	}
	if !strings.Contains(b.text("#cli"), "llmops rollback deployment.tickets --previous") {
		t.Errorf("the deployment page does not show the rollback command: %q", b.text("#cli"))
	}
	b.noConsoleErrors("deployment")
	b.screenshot("deployment")
}

// complete asks the deployment for a completion.
func complete(endpoint, apiKey string) error {
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/completions", strings.NewReader(`{"prompt": "To reset your API key, run ", "max_tokens": 8}`))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

// metricsLines counts the valid lines of the one run of kind's
// metrics.jsonl, and those with a loss.
func metricsLines(t *testing.T, dir, kind string) (lines, loss int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ".llmops", "artifacts", "runs", "local", kind, "*", "output", jobs.MetricsLinesFile))
	if len(files) != 1 {
		t.Fatalf("%d metrics.jsonl files for %s: %v", len(files), kind, files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := jobs.ParseMetricsLine(sc.Bytes()); ok {
			lines++
			if _, ok := m["loss"]; ok {
				loss++
			}
		}
	}
	if lines == 0 {
		t.Fatalf("%s has no metrics", files[0])
	}
	return lines, loss
}

// flattenLineage lists a `llmops lineage -json` tree's nodes and edges.
func flattenLineage(tree map[string]any) (nodes, edges []string) {
	ns, es := map[string]bool{}, map[string]bool{}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		a := n["address"].(string)
		ns[a] = true
		ins, _ := n["inputs"].([]any)
		for _, in := range ins {
			in := in.(map[string]any)
			es[in["address"].(string)+" -> "+a] = true
			walk(in)
		}
	}
	walk(tree)
	for n := range ns {
		nodes = append(nodes, n)
	}
	for e := range es {
		edges = append(edges, e)
	}
	sort.Strings(nodes)
	sort.Strings(edges)
	return nodes, edges
}

// sameAsCLI checks that an API answers what `llmops ARGS` prints: the
// CLI's every field, with the same values (the API may add fields).
func sameAsCLI(t *testing.T, s *uiServer, p *project, path string, args ...string) {
	t.Helper()
	api := s.apiJSON(t, path)
	cli := p.jsonOf(args...)
	if diff := subsetDiff(cli, api, ""); diff != "" {
		t.Errorf("GET %s differs from llmops %s: %s", path, strings.Join(args, " "), diff)
	}
}

// subsetDiff says where want has something got does not (nested objects
// compared key by key; lists element by element).
func subsetDiff(want, got any, at string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v is not an object", at, got)
		}
		for k, v := range w {
			if d := subsetDiff(v, g[k], at+"."+k); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %d elements, want %d", at, len(g), len(w))
		}
		for i := range w {
			if d := subsetDiff(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s: %v, want %v", at, got, want)
		}
	}
	return ""
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
