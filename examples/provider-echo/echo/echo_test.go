package echo_test

import (
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"example.com/provider-echo/echo"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/conformance"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func msg(attrs map[string]string) cty.Value {
	m := map[string]cty.Value{}
	for k, v := range attrs {
		m[k] = cty.StringVal(v)
	}
	return cty.ObjectVal(m)
}

var cases = []conformance.Case{
	{
		TypeName:     "echo_message",
		Create:       msg(map[string]string{"text": "hello"}),
		Update:       msg(map[string]string{"text": "hello, world"}),
		Replace:      msg(map[string]string{"text": "hello, world", "channel": "ops"}),
		Invalid:      msg(map[string]string{"text": ""}),
		InvalidError: "must not be empty",
		ImportID:     func(st cty.Value) string { return st.GetAttr("id").AsString() },
		InStateOnly:  true,
	},
	{
		Name:         "echo_message_delayed",
		TypeName:     "echo_message",
		Create:       msg(map[string]string{"text": "later", "delay": "300ms"}),
		Invalid:      msg(map[string]string{"text": "x", "delay": "soon"}),
		InvalidError: "must be a duration",
		InStateOnly:  true,
	},
}

var dataCases = []conformance.DataCase{{
	TypeName:     "echo_greeting",
	Config:       cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("ann")}),
	Invalid:      cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("")}),
	InvalidError: "must not be empty",
}}

// TestConformance builds the provider and runs the suite against the
// binary, as llmops would run it.
func TestConformance(t *testing.T) {
	bin := conformance.Build(t, "example.com/provider-echo", "echo")
	conformance.Run(t, conformance.Config{ProviderPath: bin, Cases: cases, DataCases: dataCases, PollInterval: 50 * time.Millisecond})
}

// TestConformanceInProcess runs the suite in process: faster, and a
// debugger can step into the provider.
func TestConformanceInProcess(t *testing.T) {
	conformance.Run(t, conformance.Config{
		Factory: func() protocol.Provider { return sdk.NewProtocolProvider(echo.Provider()) },
		Cases:   cases, DataCases: dataCases, PollInterval: 50 * time.Millisecond,
	})
}
