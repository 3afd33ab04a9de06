// Package refdocs generates docs/reference/ from the schemas: one page
// per lifecycle kind (its core schema, the providers that serve it and
// what each adds), per provider (its configuration block) and per
// provider resource type that is not a kind, and per data source (the
// providers' and the built-in llmops_state), each with an example read
// from docs/reference/examples/. `make docs` writes the pages (package
// refdocs/gen); TestReferenceUpToDate fails when they are stale.
//
// The boundary: it documents the providers of this repository, which it
// runs in process (their schemas only; nothing is configured or applied).
package refdocs
