package engine

import (
	"context"
	"github.com/llmops/llmops/addrs"
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

// A deployment that -target leaves out is not evaluated: references to
// its other attributes are unknown, as before prior-state references
// existed, and its traffic reads the state (null here: nothing recorded).
// The plan once failed with "This object does not have an attribute named
// endpoint" on an output of a deployment outside the target.
func TestPriorStateReferenceOfAnUntargetedDeployment(t *testing.T) {
	const config = `
resource "test_value" "ft" {
  input = 1
}
deployment "support" {
  provider = test
  input    = test_value.ft.output
}
resource "test_value" "feedback" {
  input = coalesce(deployment.support.traffic, "file://start")
}
output "served" {
  value = deployment.support.output
}
`
	for _, tc := range []struct {
		target, want string
	}{
		{"test_value.ft", "test_value.ft:create"},
		// Nothing recorded yet: the traffic reference waits for the
		// deployment (no cycle), so the target takes it along.
		{"test_value.feedback", "deployment.support:create test_value.feedback:create test_value.ft:create"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			h := newHarness(t)
			h.write(map[string]string{"main.llmops.hcl": config})
			tgt, _ := addrs.ParsePattern(tc.target)
			p := h.plan(PlanOptions{Targets: []addrs.Pattern{tgt}})
			if got := strings.Join(actions(p), " "); got != tc.want {
				t.Errorf("-target=%s planned %q, want %q", tc.target, got, tc.want)
			}
		})
	}
}
