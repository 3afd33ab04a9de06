package configs

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// Explain adds what to do to HCL's own diagnostics, once, and leaves
// llmops's (which already say it) and HCL's suggestions alone.
func TestExplain(t *testing.T) {
	cases := []struct {
		summary, detail, wantAdded string
	}{
		{"Unsupported argument", `An argument named "inptu" is not expected here.`, "Remove it or correct its name"},
		{"Unsupported argument", `An argument named "inptu" is not expected here. Did you mean "input"?`, ""},
		{"Missing required argument", `The argument "value" is required.`, "Add it to this block."},
		{"Incorrect attribute value type", "Inappropriate value.", "Change the value to the type shown."},
		{"Invalid value for input variable", "Wrong.", "Change the value to the type shown."},
		{"Unsupported attribute", "This object has no attribute.", "Check the name; `llmops providers` lists the attributes"},
		{"Unsupported attribute", `Did you mean "id"?`, ""},
		{"Unsupported block type", `Blocks of type "x" are not expected here.`, "Remove the block or correct its type"},
		{"Unsupported block type", "Top-level blocks are variable, ...", ""},
		{"Missing required block", "A resources block is required.", "Check the number of these blocks"},
		{"Too many blocks", "No more than 1.", "Check the number of these blocks"},
		{"Insufficient blocks", "At least 1.", "Check the number of these blocks"},
		{"Dependency cycle", "These objects depend on each other.", ""},
	}
	for _, c := range cases {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: c.summary, Detail: c.detail}
		Explain(hcl.Diagnostics{d})
		if c.wantAdded == "" {
			if d.Detail != c.detail {
				t.Errorf("%s: changed %q to %q", c.summary, c.detail, d.Detail)
			}
			continue
		}
		if !strings.HasPrefix(d.Detail, c.detail+" ") || !strings.Contains(d.Detail, c.wantAdded) {
			t.Errorf("%s: got %q, want %q followed by %q", c.summary, d.Detail, c.detail, c.wantAdded)
		}
		once := d.Detail
		Explain(hcl.Diagnostics{d})
		if d.Detail != once {
			t.Errorf("%s: explained twice: %q", c.summary, d.Detail)
		}
	}
}

func TestPos(t *testing.T) {
	if got := Pos(hcl.Range{Filename: "a.llmops.hcl", Start: hcl.Pos{Line: 3, Column: 7}}); got != "a.llmops.hcl:3:7" {
		t.Fatalf("Pos = %q", got)
	}
}
