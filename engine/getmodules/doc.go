// Package getmodules fetches the git sources of a configuration's module
// calls into configs.ModulesDir for `llmops init`, through the git
// command (argv only, never a shell), at the commit the lock file records,
// or at the commit a ref names for a module not locked yet (and on
// `init -upgrade`). It writes the manifest the loader reads
// (configs.ModuleManifest) and returns the entries for the lock file.
//
// The boundary: it reads only module blocks (configs.ModuleCallsIn), so
// it runs before the whole configuration can load; it evaluates nothing
// and knows nothing of providers, state or plans.
package getmodules
