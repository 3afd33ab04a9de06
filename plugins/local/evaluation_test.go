package local_test

import (
	"database/sql"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	_ "github.com/mattn/go-sqlite3"
)

func gate(metric string, min, max cty.Value) cty.Value {
	return obj(map[string]cty.Value{"metric": str(metric), "min": min, "max": max, "max_gap": null})
}

var null = cty.NullVal(cty.Number)

func num(f float64) cty.Value { return cty.NumberFloatVal(f) }

func (w *world) eval(t *testing.T, acc string, gates ...cty.Value) cty.Value {
	m := map[string]cty.Value{
		"model": str(attrStr(w.model, "id")), "dataset": str(attrStr(w.ds, "id")),
		"command": strs(testJobCommand(t)),
		"env":     smap(map[string]string{"LLMOPS_TEST_JOB": "eval", "LLMOPS_TEST_ACCURACY": acc, "LLMOPS_TEST_COUNTER": w.counter}),
	}
	if len(gates) > 0 {
		m["gate"] = cty.ListVal(gates)
	}
	return w.h.fill("evaluation", m)
}

func TestEvaluationGates(t *testing.T) {
	w := newWorld(t)
	a := w.h.apply("evaluation", cty.NilVal, w.eval(t, "0.9", gate("accuracy", num(0.8), null)))
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	res := a.state.GetAttr("results")
	if !res.Index(cty.StringVal("accuracy")).RawEquals(num(0.9)) || !a.state.GetAttr("passed").True() {
		t.Fatalf("results %#v passed %#v", res, a.state.GetAttr("passed"))
	}
	// The eval split is what the command got (0.2 of 50 rows, roughly).
	if rows, _ := res.Index(cty.StringVal("eval_rows")).AsBigFloat().Int64(); rows < 3 || rows > 20 {
		t.Fatalf("the evaluation did not get the eval split: %d rows", rows)
	}
	// A failed gate fails with the measured value and the bound, on the gate,
	// and returns the results.
	f := w.h.apply("evaluation", cty.NilVal, w.eval(t, "0.62", gate("loss", null, num(5)), gate("accuracy", num(0.8), null)))
	text := diagText(f.diags)
	if !f.diags.HasErrors() || !strings.Contains(text, `gate "accuracy" failed: 0.62 < min 0.8`) || !strings.Contains(text, "[gate[1]]") {
		t.Fatalf("failed gate: %s", text)
	}
	if f.state.IsNull() || f.state.GetAttr("passed").True() || !f.state.GetAttr("results").Index(cty.StringVal("accuracy")).RawEquals(num(0.62)) {
		t.Fatalf("a failed gate must return the results with passed = false: %#v", f.state)
	}
	// max bound, and a gate on a metric the evaluation lacks.
	g := w.h.apply("evaluation", cty.NilVal, w.eval(t, "0.95", gate("accuracy", null, num(0.9)), gate("bleu", num(0.1), null)))
	text = diagText(g.diags)
	if !strings.Contains(text, `gate "accuracy" failed: 0.95 > max 0.9`) || !strings.Contains(text, `no metric "bleu"; it reported: accuracy, eval_rows, examples`) {
		t.Fatalf("max / missing metric: %s", text)
	}
	// Changing a gate is an in-place update: checked again, not rerun.
	starts := countLines(t, w.counter)
	stricter := w.eval(t, "0.9", gate("accuracy", num(0.95), null))
	pr := w.h.plan("evaluation", a.state, stricter)
	if len(pr.RequiresReplace) > 0 || pr.PlannedState.GetAttr("passed").IsKnown() {
		t.Fatalf("gate change: replace %v, passed %#v", pr.RequiresReplace, pr.PlannedState.GetAttr("passed"))
	}
	u := w.h.apply("evaluation", a.state, stricter)
	if !strings.Contains(diagText(u.diags), `gate "accuracy" failed: 0.9 < min 0.95`) {
		t.Fatalf("stricter gate: %s", diagText(u.diags))
	}
	looser := w.h.apply("evaluation", a.state, w.eval(t, "0.9", gate("accuracy", num(0.5), null)))
	if looser.diags.HasErrors() || !looser.state.GetAttr("passed").True() {
		t.Fatalf("looser gate: %s", diagText(looser.diags))
	}
	if countLines(t, w.counter) != starts {
		t.Fatalf("a gate change reran the evaluation")
	}
	// The local provider has no built-in evaluation: command is required.
	if pr := w.h.plan("evaluation", cty.NilVal, w.h.fill("evaluation", map[string]cty.Value{"model": str("x")})); !strings.Contains(diagText(pr.Diagnostics), "[command]") {
		t.Fatalf("no command: %s", diagText(pr.Diagnostics))
	}
	// An evaluation that writes no metrics.json fails.
	nm := w.h.fill("evaluation", map[string]cty.Value{"model": str(attrStr(w.model, "id")), "command": strs(testJobCommand(t)), "env": smap(map[string]string{"LLMOPS_TEST_JOB": "sleep"})})
	if a := w.h.apply("evaluation", cty.NilVal, nm); !strings.Contains(diagText(a.diags), "wrote no $LLMOPS_OUTPUT_DIR/metrics.json") {
		t.Fatalf("no metrics.json: %s", diagText(a.diags))
	}
}

func TestEmbeddingIndex(t *testing.T) {
	w := newWorld(t)
	cfg := w.h.fill("embedding_index", map[string]cty.Value{
		"dataset": str(attrStr(w.ds, "id")), "command": strs(testJobCommand(t)),
		"env":        smap(map[string]string{"LLMOPS_TEST_JOB": "embed"}),
		"chunk_size": cty.NumberIntVal(10), "chunk_overlap": cty.NumberIntVal(3),
	})
	a := w.h.apply("embedding_index", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	st := a.state
	if attrStr(st, "id") != attrStr(st, "digest") || !strings.HasPrefix(attrStr(st, "id"), "sha256:") {
		t.Fatalf("id %s digest %s", attrStr(st, "id"), attrStr(st, "digest"))
	}
	chunks, _ := st.GetAttr("chunks").AsBigFloat().Int64()
	dims, _ := st.GetAttr("dimensions").AsBigFloat().Int64()
	if chunks < 100 || dims != 3 {
		t.Fatalf("chunks %d dims %d", chunks, dims)
	}
	db, err := sql.Open("sqlite3", "file:"+attrStr(st, "path")+"?mode=ro")
	must(t, err)
	defer db.Close()
	var text string
	var blob []byte
	must(t, db.QueryRow(`SELECT text, embedding FROM chunks WHERE id = 0`).Scan(&text, &blob))
	if len([]rune(text)) != 10 || len(blob) != 12 || math.Float32frombits(binary.LittleEndian.Uint32(blob)) != float32(len(text)) {
		t.Fatalf("chunk 0: %q %v", text, blob)
	}
	var format string
	must(t, db.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&format))
	if format != "llmops-embedding-index/v1" {
		t.Fatalf("format %q", format)
	}
	// Chunking is part of the identity.
	changed := w.h.fill("embedding_index", map[string]cty.Value{
		"dataset": str(attrStr(w.ds, "id")), "command": strs(testJobCommand(t)),
		"env":        smap(map[string]string{"LLMOPS_TEST_JOB": "embed"}),
		"chunk_size": cty.NumberIntVal(12), "chunk_overlap": cty.NumberIntVal(3),
	})
	if pr := w.h.plan("embedding_index", st, changed); len(pr.RequiresReplace) == 0 {
		t.Fatalf("a chunking change must replace the index")
	}
	// A command whose output does not match the chunks fails clearly.
	bad := w.h.fill("embedding_index", map[string]cty.Value{"dataset": str(attrStr(w.ds, "id")), "command": strs(testJobCommand(t)), "env": smap(map[string]string{"LLMOPS_TEST_JOB": "sleep"})})
	if b := w.h.apply("embedding_index", cty.NilVal, bad); !strings.Contains(diagText(b.diags), "vector line 1") {
		t.Fatalf("no vectors: %s", diagText(b.diags))
	}
}
