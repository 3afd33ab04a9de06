package ui

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

const secret = "sk-never-on-the-page-41d7"

// sweepState records a small lifecycle: a sweep of three runs, their
// evaluations (one fails its gate), a deployment with a sensitive
// attribute and a monitor in breach; version 2 replaces run "c" and
// removes the dataset.
func sweepState(t *testing.T) *testState {
	ts := newTestState(t)
	var objs []obj
	objs = append(objs,
		obj{addr: "model.base", value: objVal(map[string]cty.Value{"id": str("sha256:" + strings.Repeat("1", 64)), "digest": str("sha256:" + strings.Repeat("1", 64))})},
		obj{addr: "dataset.d", value: objVal(map[string]cty.Value{"id": str("sha256:" + strings.Repeat("2", 64)), "digest": str("sha256:" + strings.Repeat("2", 64))})})
	type run struct {
		key       string
		loss, acc float64
		passed    bool
	}
	for i, r := range []run{{"a", 0.9, 0.71, true}, {"b", 0.7, 0.69, false}, {"c", 0.8, 0.75, true}} {
		out := "sha256:" + strings.Repeat(string(rune('a'+i)), 64)
		objs = append(objs,
			obj{addr: `training_run.sweep["` + r.key + `"]`, deps: []string{"model.base", "dataset.d"}, value: objVal(map[string]cty.Value{
				"id": str("train-" + r.key + "0000000000"), "output_model": str(out), "status": str("succeeded"),
				"base_model": str("sha256:" + strings.Repeat("1", 64)), "dataset": str("sha256:" + strings.Repeat("2", 64)),
				"metrics":         metricsMap("loss", r.loss),
				"hyperparameters": cty.ObjectVal(map[string]cty.Value{"learning_rate": num(0.01 * float64(i+1))}),
			})},
			obj{addr: `evaluation.e["` + r.key + `"]`, deps: []string{"training_run.sweep"}, value: objVal(map[string]cty.Value{
				"id": str("eval-" + r.key + "0000000000"), "model": str(out), "passed": cty.BoolVal(r.passed), "status": str("succeeded"),
				"results": metricsMap("accuracy", r.acc),
				"gate":    cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"metric": str("accuracy"), "min": num(0.7), "max": cty.NullVal(cty.Number)})}),
			})})
	}
	objs = append(objs,
		obj{addr: "deployment.prod", deps: []string{"training_run.sweep"}, value: objVal(map[string]cty.Value{
			"id": str("dep-0123456789abcdef"), "model": str("sha256:" + strings.Repeat("c", 64)), "status": str("serving"),
			"endpoint": str("http://127.0.0.1:1/v1"), "revision": num(1), "secret": str(secret).Mark(values.Sensitive),
		})},
		obj{addr: "monitor.m", deps: []string{"deployment.prod"}, value: objVal(map[string]cty.Value{
			"id": str("mon-0123456789abcdef"), "deployment": str("dep-0123456789abcdef"), "status": str("breach"),
			"breaches": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"check": str("error_rate"), "value": num(0.5), "bound": num(0.01), "kind": str("max")})}),
		})})
	ts.version(objs)
	ts.version([]obj{{addr: `training_run.sweep["c"]`, ver: 2, status: state.StatusTainted, deps: []string{"model.base"}, value: objVal(map[string]cty.Value{
		"id": str("train-c1111111111"), "output_model": cty.NullVal(cty.String), "status": str("failed")})}}, "dataset.d")
	return ts
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return m
}

func TestAPINeverSendsSensitiveValues(t *testing.T) {
	ts := sweepState(t)
	h := New(Options{Store: ts.st}).Handler()
	for _, p := range []string{"/api/overview", "/api/objects", "/api/objects/deployment.prod", "/api/objects/deployment.prod?version=1",
		"/api/versions", "/api/diff?from=1&to=2", "/api/lineage", "/api/lineage/monitor.m", "/api/events",
		"/api/deployments/deployment.prod/metrics", "/api/runs/deployment.prod/metrics", "/api/compare?resource=deployment.*"} {
		code, body, _ := get(t, h, p)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s sent the sensitive value:\n%s", p, body)
		}
	}
	_, body, _ := get(t, h, "/api/objects/deployment.prod")
	o := decode(t, body)["object"].(map[string]any)
	if v := o["values"].(map[string]any)["secret"]; v != nil {
		t.Errorf("values.secret = %v, want null", v)
	}
	if s, _ := o["sensitive_values"].(map[string]any); s["secret"] != true {
		t.Errorf("sensitive_values = %v, want secret: true", o["sensitive_values"])
	}
}

func TestAPIObjectsPagesAndFilters(t *testing.T) {
	ts := sweepState(t)
	h := New(Options{Store: ts.st}).Handler()
	for _, tc := range []struct {
		query string
		total int
		first string
		n     int
	}{
		{"", 9, "deployment.prod", 9},
		{"?limit=2&offset=2", 9, `evaluation.e["b"]`, 2},
		{"?offset=100", 9, "", 0},
		{"?kind=training_run", 3, `training_run.sweep["a"]`, 3},
		{"?status=tainted", 1, `training_run.sweep["c"]`, 1},
		{"?status=breach", 1, "monitor.m", 1},
		{"?q=SWEEP", 3, `training_run.sweep["a"]`, 3},
		{"?version=1&kind=dataset", 1, "dataset.d", 1},
	} {
		code, body, _ := get(t, h, "/api/objects"+tc.query)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.query, code, body)
		}
		d := decode(t, body)
		objs := d["objects"].([]any)
		if int(d["total"].(float64)) != tc.total || len(objs) != tc.n {
			t.Errorf("%s: total %v, %d objects; want %d, %d", tc.query, d["total"], len(objs), tc.total, tc.n)
			continue
		}
		if tc.n > 0 && objs[0].(map[string]any)["address"] != tc.first {
			t.Errorf("%s: first %v, want %s", tc.query, objs[0].(map[string]any)["address"], tc.first)
		}
	}
	code, body, _ := get(t, h, "/api/objects?version=7")
	if code != http.StatusNotFound || !strings.Contains(body, "no state version 7") {
		t.Errorf("unknown version: %d %s", code, body)
	}
}

func TestAPICompareMarksTheBest(t *testing.T) {
	h := New(Options{Store: sweepState(t).st}).Handler()
	// At version 1: "b" failed its gate, so the best by accuracy is "c"
	// (0.75), by loss "c" too (b's lower loss does not count).
	for _, tc := range []struct{ query, best, metric, dir string }{
		{"resource=training_run.sweep&version=1", `training_run.sweep["c"]`, "eval.accuracy", "max"},
		{"resource=training_run.sweep&version=1&metric=loss", `training_run.sweep["c"]`, "loss", "min"},
		// At version 2 "c" failed: "a" is the best that passed.
		{"resource=training_run.sweep", `training_run.sweep["a"]`, "eval.accuracy", "max"},
	} {
		code, body, _ := get(t, h, "/api/compare?"+tc.query)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.query, code, body)
		}
		d := decode(t, body)
		if d["best"] != tc.best || d["metric"] != tc.metric || d["direction"] != tc.dir {
			t.Errorf("%s: best %v by %v (%v), want %s by %s (%s)", tc.query, d["best"], d["metric"], d["direction"], tc.best, tc.metric, tc.dir)
		}
		if n := len(d["runs"].([]any)); n != 3 {
			t.Errorf("%s: %d runs, want 3", tc.query, n)
		}
	}
}

func TestAPIOverviewAndDiff(t *testing.T) {
	ts := sweepState(t)
	h := New(Options{Store: ts.st}).Handler()
	_, body, _ := get(t, h, "/api/overview")
	d := decode(t, body)
	if d["serial"].(float64) != 2 || d["total"].(float64) != 9 {
		t.Errorf("overview: serial %v total %v", d["serial"], d["total"])
	}
	alerts := d["alerts"].([]any)
	if len(alerts) != 1 || alerts[0].(map[string]any)["monitor"] != "monitor.m" || alerts[0].(map[string]any)["deployment"] != "deployment.prod" {
		t.Errorf("alerts = %v", alerts)
	}
	if st := d["statuses"].(map[string]any); st["tainted"] != 1.0 || st["breach"] != 1.0 || st["failed"] != 1.0 || st["ready"] != 6.0 {
		t.Errorf("statuses = %v", st)
	}
	_, body, _ = get(t, h, "/api/diff?from=1&to=2")
	d = decode(t, body)
	var got []string
	for _, c := range d["resource_changes"].([]any) {
		c := c.(map[string]any)
		got = append(got, c["address"].(string)+" "+c["action"].(string))
	}
	want := []string{"dataset.d delete", `training_run.sweep["c"] delete-then-create`}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("diff changes = %v, want %v", got, want)
	}
	if text := d["text"].(string); !strings.Contains(text, "# dataset.d was destroyed") || !strings.Contains(text, `# training_run.sweep["c"] was replaced`) {
		t.Errorf("diff text:\n%s", text)
	}
	code, body, _ := get(t, h, "/api/diff?from=1")
	if code != http.StatusBadRequest {
		t.Errorf("diff without to: %d %s", code, body)
	}
}

func TestReadMetricsLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.jsonl")
	write := func(s string) {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		must(t, err)
		_, err = f.WriteString(s)
		must(t, err)
		f.Close()
	}
	write("{\"step\": 1, \"loss\": 2.5}\nnot json\n{\"step\": 2, \"loss\": NaN, \"acc\": 0.5}\n{\"step\": 3, \"lo")
	mp, err := readMetricsLines(p, 0, maxMetricsRead)
	must(t, err)
	if len(mp.Points) != 2 || mp.Points[1]["acc"] != 0.5 || mp.Points[0]["loss"] != 2.5 {
		t.Fatalf("points = %v", mp.Points)
	}
	// The line being written is left for the next read.
	write("ss\": 1.5}\n")
	mp2, err := readMetricsLines(p, mp.NextOffset, maxMetricsRead)
	must(t, err)
	if len(mp2.Points) != 1 || mp2.Points[0]["loss"] != 1.5 || mp2.Reset {
		t.Fatalf("next points = %+v", mp2)
	}
	// Nothing new: no points, same offset.
	mp3, err := readMetricsLines(p, mp2.NextOffset, maxMetricsRead)
	must(t, err)
	if len(mp3.Points) != 0 || mp3.NextOffset != mp2.NextOffset {
		t.Fatalf("nothing new: %+v", mp3)
	}
	// A file rewritten shorter: read again from the start.
	must(t, os.WriteFile(p, []byte("{\"step\": 1, \"loss\": 9}\n"), 0o644))
	mp4, err := readMetricsLines(p, mp2.NextOffset, maxMetricsRead)
	must(t, err)
	if !mp4.Reset || len(mp4.Points) != 1 || mp4.Points[0]["loss"] != 9 {
		t.Fatalf("rewritten: %+v", mp4)
	}
	// A line longer than a read is skipped, not read forever.
	must(t, os.WriteFile(p, []byte(strings.Repeat("x", 100)+"\n{\"loss\": 1}\n"), 0o644))
	mp5, err := readMetricsLines(p, 0, 50)
	must(t, err)
	if mp5.NextOffset != 50 || len(mp5.Points) != 0 {
		t.Fatalf("long line: %+v", mp5)
	}
}

func TestRunMetricsFindsTheRunDirectory(t *testing.T) {
	store := t.TempDir()
	hex := strings.Repeat("ab", 32)
	out := filepath.Join(store, "runs", "local", "training_run", hex, "output")
	must(t, os.MkdirAll(out, 0o755))
	must(t, os.WriteFile(filepath.Join(out, "metrics.jsonl"), []byte("{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n"), 0o644))
	logArtifact := filepath.Join(store, "objects", "sha256", strings.Repeat("cd", 32))
	must(t, os.MkdirAll(filepath.Dir(logArtifact), 0o755))
	must(t, os.WriteFile(logArtifact, []byte("line 1\nline 2\n"), 0o644))
	ts := newTestState(t)
	ts.version([]obj{{addr: "training_run.ft", value: objVal(map[string]cty.Value{
		"identity": str("sha256:" + hex), "log_path": str(logArtifact), "status": str("succeeded")})},
		{addr: "training_run.elsewhere", value: objVal(map[string]cty.Value{"log_path": str("/etc/passwd"), "status": str("succeeded")})}})
	h := New(Options{Store: ts.st, ArtifactDir: store}).Handler()
	_, body, _ := get(t, h, "/api/runs/training_run.ft/metrics")
	d := decode(t, body)
	if n := len(d["points"].([]any)); n != 2 || d["source"] != filepath.Join(out, "metrics.jsonl") {
		t.Errorf("points %d from %v", n, d["source"])
	}
	if tail, _ := d["log_tail"].([]any); len(tail) != 2 || tail[1] != "line 2" {
		t.Errorf("log_tail = %v", d["log_tail"])
	}
	// Only a run's job.log or a stored log is read, never another file.
	_, body, _ = get(t, h, "/api/runs/training_run.elsewhere/metrics")
	if d := decode(t, body); d["log_tail"] != nil {
		t.Errorf("read %v", d["log_tail"])
	}
	_, body, _ = get(t, h, "/api/runs/training_run.ft/metrics?offset=20")
	if d := decode(t, body); len(d["points"].([]any)) != 1 || d["next_offset"].(float64) != 40 {
		t.Errorf("from offset 20: %v", body)
	}
}

func TestGatewayBase(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/v1":         "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/v1/":        "http://127.0.0.1:8080",
		"https://gw.example:443/prefix/v1": "https://gw.example:443/prefix",
		"file:///etc/passwd":               "",
		"":                                 "",
		"http://user:pw@host:1/v1?x=1":     "http://host:1",
	} {
		if got := gatewayBase(in); got != want {
			t.Errorf("gatewayBase(%q) = %q, want %q", in, got, want)
		}
	}
}
