package null_test

import (
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/conformance"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func cases() []conformance.Case {
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	updated := obj(map[string]cty.Value{
		"input":            obj(map[string]cty.Value{"model": cty.StringVal("base"), "epochs": cty.NumberIntVal(3), "tags": cty.TupleVal([]cty.Value{cty.True})}),
		"triggers_replace": cty.StringVal("v1"),
	})
	return []conformance.Case{
		{
			TypeName: "null_value",
			Create:   obj(map[string]cty.Value{"input": cty.StringVal("hello"), "triggers_replace": cty.StringVal("v1")}),
			Update:   updated,
			Replace: obj(map[string]cty.Value{
				"input": updated.GetAttr("input"), "triggers_replace": cty.StringVal("v2"),
			}),
			Invalid:      obj(map[string]cty.Value{"output": cty.StringVal("not yours to set")}),
			InvalidError: "cannot be set",
			ImportID:     func(st cty.Value) string { return st.GetAttr("id").AsString() },
			InStateOnly:  true,
		},
		{
			TypeName:     "null_job",
			Create:       obj(map[string]cty.Value{"duration": cty.StringVal("300ms")}),
			Replace:      obj(map[string]cty.Value{"duration": cty.StringVal("1s")}),
			Invalid:      obj(map[string]cty.Value{"duration": cty.StringVal("soon")}),
			InvalidError: "not a duration",
			InStateOnly:  true,
		},
		{
			// Delete returns a pending handle: the suite polls it away.
			Name:        "null_job_slow_delete",
			TypeName:    "null_job",
			Create:      obj(map[string]cty.Value{"duration": cty.StringVal("100ms"), "cancel_duration": cty.StringVal("300ms")}),
			InStateOnly: true,
		},
		{
			Name:      "null_job_failing",
			TypeName:  "null_job",
			Create:    obj(map[string]cty.Value{"duration": cty.StringVal("100ms"), "fail": cty.True}),
			FailsWith: "failed",
		},
	}
}

// TestConformance builds llmops-provider-null and runs the suite on it out
// of process, exactly as llmops runs it.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	bin := conformance.Build(t, "github.com/llmops/llmops/cmd/llmops-provider-null", "null")
	conformance.Run(t, conformance.Config{ProviderPath: bin, Cases: cases(), PollInterval: 50 * time.Millisecond})
}

// TestConformanceInProcess runs the suite on the provider in process.
func TestConformanceInProcess(t *testing.T) {
	conformance.Run(t, conformance.Config{
		Factory:      func() protocol.Provider { return sdk.NewProtocolProvider(null.Provider()) },
		Cases:        cases(),
		PollInterval: 50 * time.Millisecond,
	})
}
