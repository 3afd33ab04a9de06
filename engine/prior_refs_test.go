package engine

import (
	"context"
	"strings"
	"testing"
)

// TestPriorStateReferencesOrderNothing: a reference to a deployment's
// traffic adds no edge (the retraining loop plans), while any other
// reference closing the same loop is still a dependency cycle.
func TestPriorStateReferencesOrderNothing(t *testing.T) {
	const loop = `
resource "test_value" "feedback" {
  input = jsonencode(%s)
}
resource "test_value" "ft" {
  input = test_value.feedback.output
}
deployment "support" {
  provider = test
  input    = test_value.ft.output
}
`
	for _, tc := range []struct {
		name, ref string
		cycle     bool
	}{
		{"traffic", "deployment.support.traffic", false},
		{"another attribute", "deployment.support.output", true},
		{"the whole object", "deployment.support", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.write(map[string]string{"main.llmops.hcl": strings.Replace(loop, "%s", tc.ref, 1)})
			e, diags := h.engine()
			if diags.HasErrors() {
				t.Fatalf("load: %s", diags.Error())
			}
			_, diags = e.Plan(context.Background(), PlanOptions{})
			gotCycle := false
			for _, d := range diags {
				if d.Summary == "Dependency cycle" {
					gotCycle = true
					for _, want := range []string{"deployment.support", "test_value.ft", "test_value.feedback"} {
						if !strings.Contains(d.Detail, want) {
							t.Errorf("the cycle %q does not name %s", d.Detail, want)
						}
					}
				}
			}
			if gotCycle != tc.cycle {
				t.Fatalf("dependency cycle reported: %v, want %v (diagnostics: %s)", gotCycle, tc.cycle, diags.Error())
			}
			if tc.cycle {
				return
			}
			if diags.HasErrors() {
				t.Fatalf("plan: %s", diags.Error())
			}
			warned := false
			for _, d := range diags {
				warned = warned || d.Summary == "deployment.support.traffic is null in this run"
			}
			if !warned {
				t.Errorf("no warning that the deployment has captured nothing yet: %v", diags)
			}
		})
	}
}
