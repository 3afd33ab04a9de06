package local_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// Segments keep being sealed while traffic flows, also between a plan and
// its apply (which plans again before applying): the plan of a traffic
// dataset pins the snapshot it chose in its private data, and apply's
// plan, given that data, makes the same version however many segments
// were sealed since. Without the pin, `llmops apply` failed with
// "Provider produced inconsistent final plan" whenever a segment was
// sealed in between.
func TestTrafficDatasetPlanIsPinned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir())
	const id = "dep-00000000000000cc"
	dir, err := traffic.Dir(h.store, id)
	if err != nil {
		t.Fatal(err)
	}
	w, err := traffic.OpenWriter(dir, traffic.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	segment := func(rows int) {
		t.Helper()
		for i := 0; i < rows; i++ {
			n++
			rec := traffic.Record{Type: traffic.TypeExchange, Time: time.Now(), RequestID: fmt.Sprintf("req-%024x", n), Deployment: id, Revision: 1,
				Path: "/v1/completions", Prompt: fmt.Sprintf("question %d?", n), Completion: " answer", Status: 200}
			if err := w.Append(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Seal(); err != nil {
			t.Fatal(err)
		}
	}
	segment(5)
	cfg := h.fill("dataset", map[string]cty.Value{"source": str(traffic.Source(id)), "min_new_rows": cty.NumberIntVal(3)})
	v1 := h.apply("dataset", cty.NilVal, cfg)
	if v1.diags.HasErrors() {
		t.Fatal(diagText(v1.diags))
	}
	if got := num64(v1.state, "rows"); got != 5 {
		t.Fatalf("first version: %d rows, want 5", got)
	}

	finalPlan := func(pr protocol.PlanResourceChangeResponse) protocol.PlanResourceChangeResponse {
		t.Helper()
		// As the engine's apply does: the plan's prior object, the plan's
		// private data.
		return h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "dataset", PriorState: v1.state, Config: cfg, PriorPrivate: pr.PlannedPrivate, SensitivePaths: h.sensitive})
	}

	// 2 new rows (< min_new_rows): no new version; 2 more sealed before
	// apply (4 >= 3) do not make one either.
	segment(2)
	pr := h.plan("dataset", v1.state, cfg)
	if pr.Diagnostics.HasErrors() || !pr.PlannedState.RawEquals(v1.state) {
		t.Fatalf("below min_new_rows the plan changes the dataset: %v %#v", pr.Diagnostics, pr.PlannedState)
	}
	segment(2)
	if fp := finalPlan(pr); fp.Diagnostics.HasErrors() || !fp.PlannedState.RawEquals(pr.PlannedState) {
		t.Fatalf("apply's plan differs from the plan's \"no new version\": %#v", fp.PlannedState)
	}

	// 4 new rows: a new version; 3 more sealed before apply stay out of it.
	pr = h.plan("dataset", v1.state, cfg)
	planned := attrStr(pr.PlannedState, "source_digest")
	if pr.Diagnostics.HasErrors() || planned == attrStr(v1.state, "source_digest") {
		t.Fatalf("4 new rows plan no new version: %v", pr.Diagnostics)
	}
	segment(3)
	fp := finalPlan(pr)
	if fp.Diagnostics.HasErrors() || attrStr(fp.PlannedState, "source_digest") != planned || !fp.PlannedState.RawEquals(pr.PlannedState) {
		t.Fatalf("apply's plan made another snapshot: %s, the plan's %s", attrStr(fp.PlannedState, "source_digest"), planned)
	}
	r := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "dataset", PriorState: v1.state, PlannedState: fp.PlannedState, Config: cfg, PlannedPrivate: fp.PlannedPrivate, SensitivePaths: h.sensitive})
	if r.Diagnostics.HasErrors() {
		t.Fatal(diagText(r.Diagnostics))
	}
	if got := num64(r.NewState, "rows"); got != 9 {
		t.Fatalf("second version: %d rows, want the 9 the plan saw", got)
	}
	// The state keeps no pin: the next plan sees the 3 rows sealed since.
	pr = h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "dataset", PriorState: r.NewState, Config: cfg, PriorPrivate: r.Private, SensitivePaths: h.sensitive})
	if pr.Diagnostics.HasErrors() || attrStr(pr.PlannedState, "source_digest") == attrStr(r.NewState, "source_digest") {
		t.Fatalf("after apply, 3 new rows plan no new version: %v %s", pr.Diagnostics, r.Private)
	}
}
