// Package schemadoc presents provider schemas to people and programs: the
// JSON of `llmops providers schema -json`, in Terraform's shape
// (format_version, provider_schemas, resource_schemas, block, attributes,
// block_types), its readable text form, and the Markdown reference pages
// of docs/reference/ (package schemadoc/refdocs generates them).
//
// The boundary: it depends on the protocol types (plugins/sdk/protocol)
// and cty only. It starts no provider; callers hand it the
// GetSchemaResponse of each.
package schemadoc
