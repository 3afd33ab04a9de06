// Package engine turns a loaded configuration, the recorded state and the
// providers into plans, and plans into applied changes. It is the pipeline
// of docs/architecture.md, section 3: build the dependency graph
// (sub-package graph), refresh recorded objects, plan each instance
// through its provider, and apply in dependency order with bounded
// parallelism, persisting each result the moment it is known.
//
// Modules: the configuration is a tree (configs.Config per module); the
// graph has a node per block of every module and a call node per module
// call, and the walks expand module calls into module instances (count,
// for_each) before the resources in them; addresses carry the module
// path (addrs.ModuleInstance). Data sources are read through the
// executor's read step (instance_read.go), never recorded; moved blocks
// are applied to the recorded objects before the graph is built
// (moved.go) and recorded by apply. A reference to a prior-state
// attribute (prior_refs.go: a deployment's traffic) reads the prior state
// and adds no edge, so a deployment can serve a model trained on its own
// traffic. The built-in provider "llmops"
// (builtin.go) serves the llmops_state data source.
//
// The engine knows no terminal: it reports progress through Hooks and
// returns hcl.Diagnostics; cmd/llmops renders both. It talks to providers
// only through protocol.Provider values obtained from a ProviderFactory, so
// in-process test providers and go-plugin processes look the same. The
// state lock is taken by the caller around a whole operation.
package engine
