package render

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func at(file string, line, col int) *hcl.Range {
	return &hcl.Range{Filename: file, Start: hcl.Pos{Line: line, Column: col}, End: hcl.Pos{Line: line, Column: col + 3}}
}

// Diagnostics print in one order, whatever order the engine found them
// in: unlocated first, then by file, line and column, then by summary.
func TestDiagnosticsStableOrder(t *testing.T) {
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "b.hcl 1:1", Subject: at("b.llmops.hcl", 1, 1)},
		{Severity: hcl.DiagError, Summary: "a.hcl 10:2", Subject: at("a.llmops.hcl", 10, 2)},
		{Severity: hcl.DiagError, Summary: "a.hcl 2:9", Subject: at("a.llmops.hcl", 2, 9)},
		{Severity: hcl.DiagWarning, Summary: "a.hcl 2:5 warning", Subject: at("a.llmops.hcl", 2, 5)},
		{Severity: hcl.DiagError, Summary: "a.hcl 2:5 error", Subject: at("a.llmops.hcl", 2, 5)},
		{Severity: hcl.DiagError, Summary: "no location Z"},
		{Severity: hcl.DiagError, Summary: "no location A"},
		{Severity: hcl.DiagError, Summary: "empty file name", Subject: &hcl.Range{}},
	}
	want := []string{
		"empty file name", "no location A", "no location Z",
		"a.hcl 2:5 error", "a.hcl 2:5 warning", "a.hcl 2:9", "a.hcl 10:2", "b.hcl 1:1",
	}
	var first string
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50; i++ {
		shuffled := append(hcl.Diagnostics(nil), diags...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		var b strings.Builder
		Diagnostics(&b, shuffled, nil, NewColors(false))
		if i == 0 {
			first = b.String()
		} else if b.String() != first {
			t.Fatalf("the same diagnostics printed differently:\n--- first\n%s\n--- now\n%s", first, b.String())
		}
		var got []string
		for _, d := range DiagnosticsJSON(shuffled) {
			got = append(got, d.Summary)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("order:\n got %q\nwant %q", got, want)
		}
	}
	if strings.Index(first, "no location Z") > strings.Index(first, "a.hcl 2:5 error") {
		t.Fatalf("unlocated diagnostics must come first:\n%s", first)
	}
}
