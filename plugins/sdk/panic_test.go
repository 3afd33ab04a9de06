package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

// buggyCreate is provider code with a bug: the frame the report must show.
func buggyCreate(context.Context, *sdk.CreateRequest) *sdk.Response {
	var m map[string]int
	m["x"]++
	return nil
}

// A panic in a handler becomes one diagnostic: what panicked, the value,
// and the first frames of the provider's own code, without the runtime,
// SDK and gRPC frames under it (the full trace goes to the log).
func TestPanicInHandlerIsOneShortDiagnostic(t *testing.T) {
	p := provider(&sdk.Resource{Create: buggyCreate})
	planned := cty.ObjectVal(map[string]cty.Value{
		"name": str("a"), "zone": cty.NullVal(cty.String), "size": cty.UnknownVal(cty.Number),
		"id": cty.UnknownVal(cty.String), "notes": cty.NullVal(cty.String),
	})
	r := apply(p, cty.NullVal(planned.Type()), planned)
	if len(r.Diagnostics) != 1 {
		t.Fatalf("want one diagnostic, got %d: %v", len(r.Diagnostics), r.Diagnostics.Err())
	}
	d := r.Diagnostics[0]
	if d.Summary != "The provider panicked" {
		t.Errorf("summary = %q", d.Summary)
	}
	for _, want := range []string{"Create of t_thing panicked: assignment to entry in nil map", "sdk_test.buggyCreate (", "panic_test.go:16", "full stack trace is in"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail does not say %q:\n%s", want, d.Detail)
		}
	}
	for _, noise := range []string{"goroutine ", "runtime.", "plugins/sdk.(*adapter)", "recoverTo"} {
		if strings.Contains(d.Detail, noise) {
			t.Errorf("detail shows machinery (%q):\n%s", noise, d.Detail)
		}
	}
	if n := strings.Count(d.Detail, "\n"); n > 10 {
		t.Errorf("detail has %d lines, want a short report:\n%s", n, d.Detail)
	}
}
