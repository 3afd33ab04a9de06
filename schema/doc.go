// Package schema is the authority on the lifecycle kinds of llmops: the core
// attributes and nested blocks of `model`, `dataset`, `prompt`,
// `training_run`, `evaluation`, `embedding_index`, `deployment` and
// `monitor` (docs/architecture.md, section 2), and the checks on their
// values that do not depend on any provider.
//
// Every provider that implements a kind starts from Kind(name) and may add
// attributes of its own (Extend), so moving an object from one provider to
// another is a change of `provider`, not a rewrite. Every kind has the
// computed attributes `id` and `version` (the engine owns `version`: it sets
// it from its replacement counter; providers leave it null) and, where
// content defines it, `digest` ("sha256:<hex>").
//
// Validate(kind, config) runs the core checks; the helpers it is built from
// (ValidateSplit, ValidateGates, ValidateDuration, ValidateCommand, ...)
// are exported for providers that extend a kind. Every diagnostic carries
// the attribute path at fault, so llmops can point at the line. Unknown
// values (which depend on objects not yet created) always pass.
//
// Durations (`resources.max_duration`, `monitor.interval`) are Go durations
// ("90m", "1h30m", "45s") and may also use days: "1d", "2d12h" (a day is 24
// hours). A bare number is refused: write a unit.
//
// The boundary: this package depends only on cty, the protocol types in
// plugins/sdk/protocol and the capture block's redaction checks in
// plugins/sdk/traffic (standard library only). The engine imports it to know the kinds; providers
// import it (usually through package schema/kindsdk, which converts a kind
// into an sdk.Block). It knows nothing of HCL files, state, plans or how any
// provider carries a kind out.
package schema
