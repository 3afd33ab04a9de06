package protocol

import (
	"fmt"
	"strings"
	"testing"
)

// A capacity refusal survives being turned into an error, wrapped (as the
// serving package wraps a replica's start error) and turned back into a
// diagnostic: the engine still sees a refusal and falls back.
func TestCapacityRefusalSurvivesWrapping(t *testing.T) {
	ds := Diagnostics{CapacityRefused("ml.g5.xlarge in us-east-1", "ResourceLimitExceeded: quota 0")}
	err := fmt.Errorf("replica 0: %w (log tail)", ds.Err())
	var out Diagnostics
	out.FromError("The deployment did not become healthy", err)
	if len(out) != 1 || !IsCapacityRefused(out[0].Summary) {
		t.Fatalf("want one capacity refusal, got %+v", out)
	}
	if out[0].Summary != CapacityRefusedPrefix+"ml.g5.xlarge in us-east-1" {
		t.Errorf("summary %q", out[0].Summary)
	}
	for _, want := range []string{"The deployment did not become healthy", "ResourceLimitExceeded: quota 0", "log tail"} {
		if !strings.Contains(out[0].Detail, want) {
			t.Errorf("detail %q lacks %q", out[0].Detail, want)
		}
	}
	// Another error stays what it was.
	out = nil
	out.FromError("Cannot start", fmt.Errorf("boom"))
	if IsCapacityRefused(out[0].Summary) || out[0].Summary != "Cannot start" {
		t.Errorf("an ordinary error became %+v", out[0])
	}
	// A refusal among other errors is not one on its own.
	ds = append(ds, Diagnostic{Severity: Error, Summary: "Other"})
	out = nil
	out.FromError("Cannot start", ds.Err())
	if IsCapacityRefused(out[0].Summary) {
		t.Errorf("a refusal with another error became a refusal: %+v", out[0])
	}
}
