// Package kindsdk turns the core schema of a lifecycle kind (package
// schema) into an sdk.Block, the form a provider written with plugins/sdk
// declares its resources in, optionally extended with the provider's own
// attributes:
//
//	"training_run": {
//		Schema: kindsdk.Block(schema.TrainingRun, sdk.Block{Attributes: sdk.Attributes{
//			"partition": sdk.Attr(cty.String).Optional(),
//		}}),
//		...
//	}
//
// The boundary: it depends on package schema and plugins/sdk only; it is a
// separate package so that package schema, which the engine imports, does
// not pull in the provider framework.
package kindsdk
