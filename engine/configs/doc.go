// Package configs loads a configuration directory: it checks that no
// file nests deeper than MaxNesting (CheckNesting, so that the recursive
// parser cannot exhaust its stack), parses every `*.llmops.hcl` file with
// hclsyntax, decodes the fixed top-level structure
// (variables, locals, outputs, providers, the artifact store, the llmops
// settings block with the state backend, lifecycle kind blocks and
// `resource` blocks with their meta-arguments) and keeps
// each resource's provider-owned body as an hcl.Body, to be decoded later
// against the provider's schema.
//
// LoadDir loads the root directory and, through its module blocks, the
// tree of modules it calls (tree.go): local paths relative to the calling
// module, git sources from where `llmops init` installed them
// (ModulesDir, manifest.go). Each module is a Config with its Path in the
// tree; file names are relative to the root directory, so diagnostics
// point into the module's own files. Data sources (`data` blocks) are
// Resources whose address has the data mode; `moved` blocks are Moved.
//
// It does no evaluation and knows nothing of providers, state or plans.
// Every problem it finds is an hcl.Diagnostic with the source range of the
// offending construct.
package configs
