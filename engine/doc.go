// Package engine turns a loaded configuration, the recorded state and the
// providers into plans, and plans into applied changes. It is the pipeline
// of docs/architecture.md, section 3: build the dependency graph
// (sub-package graph), refresh recorded objects, plan each instance
// through its provider, and apply in dependency order with bounded
// parallelism, persisting each result the moment it is known.
//
// The engine knows no terminal: it reports progress through Hooks and
// returns hcl.Diagnostics; cmd/llmops renders both. It talks to providers
// only through protocol.Provider values obtained from a ProviderFactory, so
// in-process test providers and go-plugin processes look the same. The
// state lock is taken by the caller around a whole operation.
package engine
