package schema_test

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/schema"
)

func TestCheckGates(t *testing.T) {
	v := gates(
		gate(s("accuracy"), n(0.8), nullN),
		gate(s("loss"), nullN, n(1.5)),
		gate(s("ppl"), n(1), n(10)),
		gate(s("bleu"), n(0.1), nullN),
	)
	gs := schema.GatesFrom(v)
	if len(gs) != 4 || gs[0].String() != "accuracy >= 0.8" || gs[1].String() != "loss <= 1.5" || gs[2].String() != "1 <= ppl <= 10" {
		t.Fatalf("GatesFrom = %+v", gs)
	}
	results := map[string]float64{"accuracy": 0.62, "loss": 2, "ppl": 5}
	f := schema.CheckGates(gs, results)
	if len(f) != 3 {
		t.Fatalf("want 3 failures, got %+v", f)
	}
	for i, want := range []string{
		`gate "accuracy" failed: 0.62 < min 0.8`,
		`gate "loss" failed: 2 > max 1.5`,
		`gate "bleu": the evaluation reported no metric "bleu"; it reported: accuracy, loss, ppl`,
	} {
		if got := f[i].Message(results); got != want {
			t.Errorf("failure %d: got %q, want %q", i, got, want)
		}
	}
	if f[2].Index != 3 {
		t.Errorf("index of the missing gate = %d, want 3", f[2].Index)
	}
	// Bounds are inclusive.
	if f := schema.CheckGates(gs[:3], map[string]float64{"accuracy": 0.8, "loss": 1.5, "ppl": 10}); len(f) != 0 {
		t.Errorf("values on the bounds must pass: %+v", f)
	}
	if schema.GatesFrom(cty.NullVal(cty.List(cty.EmptyObject))) != nil {
		t.Errorf("null gates")
	}
}

func TestMaxGapGate(t *testing.T) {
	gs := schema.GatesFrom(cty.ListVal([]cty.Value{gapGate(s("accuracy_by_group"), nullN, n(0.05))}))
	if len(gs) != 1 || gs[0].String() != "gap(accuracy_by_group.*) <= 0.05" {
		t.Fatalf("GatesFrom = %+v", gs)
	}
	for _, tc := range []struct {
		name    string
		results map[string]float64
		want    string // "" passes
	}{
		{"within", map[string]float64{"accuracy_by_group.a": 0.81, "accuracy_by_group.b": 0.78, "accuracy": 0.8}, ""},
		{"on the bound", map[string]float64{"accuracy_by_group.a": 0.80, "accuracy_by_group.b": 0.75}, ""},
		{"too wide", map[string]float64{"accuracy_by_group.a": 0.81, "accuracy_by_group.b": 0.74, "accuracy_by_group.c": 0.79},
			`gate "accuracy_by_group" failed: the gap between slices is 0.07000000000000006 > max_gap 0.05 (accuracy_by_group.a = 0.81, accuracy_by_group.b = 0.74)`},
		{"one slice", map[string]float64{"accuracy_by_group.a": 0.81, "accuracy_by_group": 0.5},
			`gate "accuracy_by_group": max_gap needs at least two slices named accuracy_by_group.SLICE; the evaluation reported: accuracy_by_group, accuracy_by_group.a`},
		{"prefix is not a slice", map[string]float64{"accuracy_by_groupx.a": 0.1, "accuracy_by_groupx.b": 0.9}, "max_gap needs at least two slices"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := schema.CheckGates(gs, tc.results)
			if tc.want == "" {
				if len(f) != 0 {
					t.Fatalf("failed: %s", f[0].Message(tc.results))
				}
				return
			}
			if len(f) != 1 || !strings.Contains(f[0].Message(tc.results), tc.want) {
				t.Fatalf("got %+v, want %q", f, tc.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	got := schema.Placeholders("{{b}} {{ a }} {{b}} {{ not valid}x}} {{c.d}} {x}")
	if strings.Join(got, ",") != "a,b,c.d" {
		t.Fatalf("got %v", got)
	}
	und, unused := schema.CompareVariables([]string{"a", "z"}, []string{"a", "b"})
	if strings.Join(und, ",") != "b" || strings.Join(unused, ",") != "z" {
		t.Fatalf("got %v %v", und, unused)
	}
}

func TestIsArtifactID(t *testing.T) {
	ok := "sha256:" + strings.Repeat("0f", 32)
	for s, want := range map[string]bool{ok: true, strings.ToUpper(ok): false, ok + "0": false, "sha256:" + strings.Repeat("g", 64): false, "": false} {
		if schema.IsArtifactID(s) != want {
			t.Errorf("IsArtifactID(%q) != %v", s, want)
		}
	}
}
