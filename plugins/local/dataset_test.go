package local_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

func splitVal(m map[string]float64) cty.Value {
	vals := map[string]cty.Value{}
	for k, v := range m {
		vals[k] = cty.NumberFloatVal(v)
	}
	return cty.MapVal(vals)
}

func TestDatasetSplit(t *testing.T) {
	dir := fixtures(t)
	h := newHarness(t, dir)
	cfg := h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl"), "split": splitVal(map[string]float64{"train": 0.8, "eval": 0.2})})
	a := h.apply("dataset", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	st := a.state
	src, _ := artifacts.HashPath(filepath.Join(dir, "data.jsonl"), artifacts.HashOptions{})
	if attrStr(st, "digest") != string(src.ID) || attrStr(st, "source_digest") != string(src.ID) || attrStr(st, "format") != "jsonl" {
		t.Fatalf("digest %s source_digest %s format %s, want %s", attrStr(st, "digest"), attrStr(st, "source_digest"), attrStr(st, "format"), src.ID)
	}
	if rows, _ := st.GetAttr("rows").AsBigFloat().Int64(); rows != 50 {
		t.Fatalf("rows = %d", rows)
	}
	splits := st.GetAttr("splits")
	var total int64
	var lines []string
	for _, name := range []string{"train", "eval"} {
		sp := splits.Index(cty.StringVal(name))
		n, _ := sp.GetAttr("rows").AsBigFloat().Int64()
		if n == 0 {
			t.Fatalf("split %s is empty", name)
		}
		total += n
		b, err := os.ReadFile(attrStr(sp, "path"))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := artifacts.HashPath(attrStr(sp, "path"), artifacts.HashOptions{})
		if string(d.ID) != attrStr(sp, "digest") {
			t.Fatalf("split %s digest mismatch", name)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	if total != 50 || len(lines) != 50 {
		t.Fatalf("splits hold %d rows (%d lines), want 50", total, len(lines))
	}
	// The dataset id is content: another store gets the same id.
	h2 := newHarness(t, filepath.Join(t.TempDir()), dir)
	b := h2.apply("dataset", cty.NilVal, h2.fill("dataset", map[string]cty.Value{"source": str("file://" + filepath.Join(dir, "data.jsonl")), "split": splitVal(map[string]float64{"train": 0.8, "eval": 0.2})}))
	if b.diags.HasErrors() || attrStr(b.state, "id") != attrStr(st, "id") {
		t.Fatalf("not deterministic: %s vs %s %s", attrStr(b.state, "id"), attrStr(st, "id"), diagText(b.diags))
	}
	// A different seed moves rows.
	c := h.apply("dataset", st, h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl"), "split": splitVal(map[string]float64{"train": 0.8, "eval": 0.2}), "seed": cty.NumberIntVal(7)}))
	if c.diags.HasErrors() || attrStr(c.state, "id") == attrStr(st, "id") || attrStr(c.state, "digest") != attrStr(st, "digest") {
		t.Fatalf("seed change: id %s digest %s %s", attrStr(c.state, "id"), attrStr(c.state, "digest"), diagText(c.diags))
	}
	// The bundle describes itself for jobs.
	info, err := os.ReadFile(filepath.Join(filepath.Dir(attrStr(st, "path")), "dataset.json"))
	if err != nil || !json.Valid(info) || !strings.Contains(string(info), `"splits/eval.jsonl"`) {
		t.Fatalf("dataset.json: %s %v", info, err)
	}
}

func TestDatasetEditShowsInPlan(t *testing.T) {
	dir := fixtures(t)
	h := newHarness(t, dir)
	cfg := h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl"), "split": splitVal(map[string]float64{"train": 0.9, "eval": 0.1})})
	a := h.apply("dataset", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	if pr := h.plan("dataset", a.state, cfg); !pr.PlannedState.RawEquals(a.state) {
		t.Fatalf("unchanged dataset plans a change")
	}
	// Change one byte of one row.
	p := filepath.Join(dir, "data.jsonl")
	data, _ := os.ReadFile(p)
	data[20] = 'X'
	must(t, os.WriteFile(p, data, 0o644))
	pr := h.plan("dataset", a.state, cfg)
	if pr.Diagnostics.HasErrors() || len(pr.RequiresReplace) > 0 {
		t.Fatalf("plan: %s replace=%v", diagText(pr.Diagnostics), pr.RequiresReplace)
	}
	ps := pr.PlannedState
	newDigest, _ := artifacts.HashPath(p, artifacts.HashOptions{})
	if attrStr(ps, "digest") != string(newDigest.ID) || attrStr(ps, "source_digest") != string(newDigest.ID) {
		t.Fatalf("planned digest %s, want the new %s", attrStr(ps, "digest"), newDigest.ID)
	}
	for _, n := range []string{"id", "splits", "rows", "path"} {
		if ps.GetAttr(n).IsKnown() {
			t.Errorf("planned %s should be known after apply", n)
		}
	}
	b := h.apply("dataset", a.state, cfg)
	if b.diags.HasErrors() || attrStr(b.state, "id") == attrStr(a.state, "id") || attrStr(b.state, "digest") != string(newDigest.ID) {
		t.Fatalf("apply: %s", diagText(b.diags))
	}
}

// A malformed row fails the plan, naming the data file and line, so that
// nothing is replaced or destroyed for a dataset that cannot be built.
// Before, the plan passed and the apply failed after the dataset's
// dependents had been destroyed.
func TestDatasetBadRowFailsPlan(t *testing.T) {
	dir := fixtures(t)
	must(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	src := filepath.Join(dir, "data", "t.jsonl")
	must(t, os.WriteFile(src, []byte("{\"q\": 1}\n{\"q\": 2}\n"), 0o644))
	h := newHarness(t, dir)
	cfg := h.fill("dataset", map[string]cty.Value{"source": str("file://data/t.jsonl")})
	a := h.apply("dataset", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	for _, c := range []struct {
		name, data, want string
		prior            cty.Value
	}{
		{"edit of a recorded dataset", "{\"q\": 1}\n\n{\"q\": 2\n", "data/t.jsonl:3: not valid JSON", a.state},
		{"new dataset", "{\"q\": 1}\nnope\n", "data/t.jsonl:2: not valid JSON", cty.NilVal},
	} {
		must(t, os.WriteFile(src, []byte(c.data), 0o644))
		pr := h.plan("dataset", c.prior, cfg)
		got := diagText(pr.Diagnostics)
		if !pr.Diagnostics.HasErrors() || !strings.Contains(got, c.want) || !strings.Contains(got, "[source]") || !strings.Contains(got, "fix or remove the row") {
			t.Errorf("%s: the plan must fail on source naming %q, got %s", c.name, c.want, got)
		}
	}
	// CSV: a record with the wrong number of fields.
	must(t, os.WriteFile(filepath.Join(dir, "t.csv"), []byte("q,a\n1,2\n3\n"), 0o644))
	pr := h.plan("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://t.csv")}))
	if got := diagText(pr.Diagnostics); !strings.Contains(got, "t.csv:3: not a valid CSV record: wrong number of fields") {
		t.Errorf("csv: %s", got)
	}
	// With a transform the source is the command's input, not the data:
	// it is not checked at plan.
	tr := obj(map[string]cty.Value{"command": strs("true"), "env": cty.NullVal(cty.Map(cty.String))})
	pr = h.plan("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://data/t.jsonl"), "transform": tr}))
	if pr.Diagnostics.HasErrors() {
		t.Errorf("a transform's input is not checked as data: %s", diagText(pr.Diagnostics))
	}
}

func TestDatasetFormatsAndErrors(t *testing.T) {
	dir := fixtures(t)
	must(t, os.WriteFile(filepath.Join(dir, "t.csv"), []byte("text,label\n\"hello, world\",1\n\"multi\nline\",0\nplain,1\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "t.txt"), []byte("one\n\ntwo\nthree\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte("{\"text\": 1}\n{oops\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "t.parquet"), []byte("PAR1"), 0o644))
	h := newHarness(t, dir)
	for _, c := range []struct {
		src, format string
		rows        int64
		err, path   string
	}{
		{"file://t.csv", "", 3, "", ""},
		{"file://t.txt", "", 3, "", ""},
		{"file://t.txt", "jsonl", 0, "t.txt:1: not valid JSON", "source"},
		{"file://bad.jsonl", "", 0, "bad.jsonl:2: not valid JSON", "source"},
		{"file://t.parquet", "", 0, "cannot be told from its extension", "format"},
		{"file://t.parquet", "parquet", 0, "not a valid format", "format"},
		{"file://missing.jsonl", "", 0, "does not exist", "source"},
		{"https://example.com/d.jsonl", "", 0, "Unsupported dataset source", "source"},
	} {
		m := map[string]cty.Value{"source": str(c.src)}
		if c.format != "" {
			m["format"] = str(c.format)
		}
		a := h.apply("dataset", cty.NilVal, h.fill("dataset", m))
		if c.err != "" {
			if !strings.Contains(diagText(a.diags), c.err) || !strings.Contains(diagText(a.diags), "["+c.path+"]") {
				t.Errorf("%s: want %q at %s, got %s", c.src, c.err, c.path, diagText(a.diags))
			}
			continue
		}
		if a.diags.HasErrors() {
			t.Errorf("%s: %s", c.src, diagText(a.diags))
			continue
		}
		if rows, _ := a.state.GetAttr("rows").AsBigFloat().Int64(); rows != c.rows {
			t.Errorf("%s: rows = %d, want %d", c.src, rows, c.rows)
		}
	}
	// A CSV split keeps the header in every split.
	a := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://t.csv"), "split": splitVal(map[string]float64{"a": 0.5, "b": 0.5})}))
	for _, n := range []string{"a", "b"} {
		b, _ := os.ReadFile(attrStr(a.state.GetAttr("splits").Index(cty.StringVal(n)), "path"))
		if !strings.HasPrefix(string(b), "text,label\n") {
			t.Errorf("split %s lacks the header: %q", n, b)
		}
	}
}

func TestDatasetTransform(t *testing.T) {
	dir := fixtures(t)
	h := newHarness(t, dir)
	counter := filepath.Join(t.TempDir(), "count")
	tr := obj(map[string]cty.Value{"command": strs(testJobCommand(t)), "env": smap(map[string]string{"LLMOPS_TEST_JOB": "transform", "LLMOPS_TEST_COUNTER": counter})})
	cfg := h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl"), "transform": tr})
	pr := h.plan("dataset", cty.NilVal, cfg)
	if pr.PlannedState.GetAttr("digest").IsKnown() {
		t.Fatalf("with a transform, the digest is known only after apply")
	}
	a := h.apply("dataset", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	b, _ := os.ReadFile(attrStr(a.state, "path"))
	if !strings.Contains(string(b), "TICKET NUMBER") {
		t.Fatalf("the transform's output is not the dataset: %q", b[:40])
	}
	if attrStr(a.state, "digest") == attrStr(a.state, "source_digest") {
		t.Fatalf("digest must be the transformed data's")
	}
	// Same inputs: the transform is not run again.
	a2 := h.apply("dataset", cty.NilVal, cfg)
	if a2.diags.HasErrors() || attrStr(a2.state, "id") != attrStr(a.state, "id") {
		t.Fatal(diagText(a2.diags))
	}
	if n := countLines(t, counter); n != 1 {
		t.Fatalf("the transform ran %d times, want 1", n)
	}
	// A failing transform reports its log.
	bad := obj(map[string]cty.Value{"command": strs(testJobCommand(t)), "env": smap(map[string]string{"LLMOPS_TEST_JOB": "fail"})})
	f := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl"), "transform": bad}))
	if !strings.Contains(diagText(f.diags), "boom at step 31") || !strings.Contains(diagText(f.diags), "[transform.command]") {
		t.Fatalf("failed transform: %s", diagText(f.diags))
	}
}

func countLines(t testing.TB, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return 0
		}
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func TestPrompt(t *testing.T) {
	dir := fixtures(t)
	must(t, os.WriteFile(filepath.Join(dir, "p.txt"), []byte("Summarise {{ticket}} for {{ customer }}."), 0o644))
	h := newHarness(t, dir)
	a := h.apply("prompt", cty.NilVal, h.fill("prompt", map[string]cty.Value{"template_file": str("p.txt")}))
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	if v := a.state.GetAttr("variables"); !v.RawEquals(strs("customer", "ticket")) {
		t.Fatalf("inferred variables %#v", v)
	}
	if attrStr(a.state, "text") != "Summarise {{ticket}} for {{ customer }}." || !strings.HasPrefix(attrStr(a.state, "id"), "sha256:") {
		t.Fatalf("state %#v", a.state)
	}
	if b, _ := os.ReadFile(attrStr(a.state, "path")); string(b) != attrStr(a.state, "text") {
		t.Fatalf("stored prompt %q", b)
	}
	bad := h.apply("prompt", cty.NilVal, h.fill("prompt", map[string]cty.Value{"template_file": str("p.txt"), "variables": strs("ticket")}))
	if !strings.Contains(diagText(bad.diags), "{{customer}}") || !strings.Contains(diagText(bad.diags), "[template_file]") {
		t.Fatalf("undeclared variable: %s", diagText(bad.diags))
	}
	// An edited template file shows in the plan.
	cfg := h.fill("prompt", map[string]cty.Value{"template_file": str("p.txt")})
	must(t, os.WriteFile(filepath.Join(dir, "p.txt"), []byte("Answer {{ticket}}."), 0o644))
	pr := h.plan("prompt", a.state, cfg)
	if pr.Diagnostics.HasErrors() || attrStr(pr.PlannedState, "text") != "Answer {{ticket}}." || !pr.PlannedState.GetAttr("variables").RawEquals(strs("ticket")) {
		t.Fatalf("plan after edit: %s %#v", diagText(pr.Diagnostics), pr.PlannedState)
	}
}
