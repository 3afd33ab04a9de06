// Package sdk is the framework provider authors import to write an llmops
// provider: declare a schema, write Create/Read/Update/Delete functions,
// and call Serve from main. The framework implements the provider protocol
// around them.
//
//	func main() {
//		sdk.Serve(&sdk.Provider{
//			Name:    "echo",
//			Version: "0.1.0",
//			Resources: map[string]*sdk.Resource{
//				"echo_message": {
//					Schema: sdk.Block{Attributes: sdk.Attributes{
//						"text":  sdk.Attr(cty.String).Required(),
//						"upper": sdk.Attr(cty.String).Computed(),
//					}},
//					Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
//						st := req.Planned
//						st.SetString("upper", strings.ToUpper(st.GetString("text")))
//						return &sdk.Response{State: st}
//					},
//				},
//			},
//		})
//	}
//
// What the framework does for you:
//
//   - Validation: required attributes present, computed-only attributes
//     absent, nested block counts within MinItems/MaxItems, each error
//     pointing at its attribute path; then Resource.Validate, if any.
//   - Planning: attributes marked ForceNew whose value changes are reported
//     as RequiresReplace; computed attributes the configuration leaves
//     unset keep their prior value on update and become unknown ("known
//     after apply") on create and replace. ModifyPlan can adjust the result.
//   - Apply: ApplyResourceChange goes to Create, Update or Delete.
//     Replacement is done by llmops as a delete and a create.
//   - Long operations: Create or Update may return a partial state with
//     Pending (see PendingState); llmops records it and later calls Read
//     with req.Pending set until Read returns a state without Pending.
//   - Stop: when llmops is interrupted, the ctx of in-flight calls is
//     cancelled with cause ErrStopped; honour ctx in long waits.
//   - Logging: Logger(ctx) returns a go-hclog logger whose lines llmops
//     shows under the provider's name.
//   - Sensitive values: llmops sends the paths of the values that are
//     sensitive (the schema's Sensitive attributes and values the user
//     marked) with every call; they read "(sensitive)" in the provider's
//     log lines and in the diagnostics it returns. Requests carry them as
//     Sensitive, and Secrets(ctx) gives the call's values as a scrub set
//     for text the provider writes itself (a job's log).
//   - Safety: a panic in your code becomes an error diagnostic; a state
//     left with unknown values is reported as a provider bug.
//
// The boundary: package sdk depends on the protocol types and the plugin
// glue only. It pulls in neither the engine nor the state store. Test your
// provider with package conformance, in process (NewProtocolProvider) or
// against the built binary.
package sdk
