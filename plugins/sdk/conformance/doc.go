// Package conformance is the test suite every llmops provider must pass.
// A provider author runs it from `go test`, against the built binary (out
// of process, exactly as llmops runs it) or in process:
//
//	func TestConformance(t *testing.T) {
//		bin := conformance.Build(t, "./cmd/llmops-provider-echo", "echo")
//		conformance.Run(t, conformance.Config{
//			ProviderPath: bin,
//			Cases: []conformance.Case{{
//				TypeName: "echo_message",
//				Create:   cty.ObjectVal(map[string]cty.Value{"text": cty.StringVal("hi")}),
//				Update:   cty.ObjectVal(map[string]cty.Value{"text": cty.StringVal("hello")}),
//				Replace:  cty.ObjectVal(map[string]cty.Value{"text": cty.StringVal("hi"), "channel": cty.StringVal("b")}),
//				Invalid:  cty.ObjectVal(map[string]cty.Value{"length": cty.NumberIntVal(3)}),
//				InvalidError: "cannot be set",
//			}},
//		})
//	}
//
// The suite drives the provider the way the engine does, one subtest per
// step: GetSchema sanity, provider validation and configuration, then for
// each case: validate, plan create, apply create (polling pending objects
// through Read), read, no-op plan, plan and apply an in-place update, plan
// a replacement, import, delete, read after delete, an invalid
// configuration, and calls for an unknown resource type. Configuration
// values may leave attributes out; they are filled with nulls.
//
// The boundary: the suite only uses protocol.Provider (and
// plugins/sdk/plugin to start a binary); it knows nothing of how the
// provider is written.
package conformance
