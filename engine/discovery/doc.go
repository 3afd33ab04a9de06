// Package discovery finds provider executables and decides whether to
// trust them.
//
// Find looks for `llmops-provider-<type>` in, in order: the configuration's
// `.llmops/plugins/` directory, each directory of $LLMOPS_PLUGIN_PATH,
// the directory of the running llmops binary, then $PATH. `llmops init`
// records each binary's SHA-256 (with its version and path) in the
// configuration's `.llmops.lock.hcl`; every later run calls Verify and
// refuses a binary whose hash differs, until `llmops init -upgrade`
// records the new one. Cache copies a binary into the configuration's
// private .llmops/providers/<sha256>/ while hashing it: llmops runs that
// copy, so the bytes it runs are the bytes it checked.
//
// The boundary: discovery only deals with files and the lock file. It
// does not start providers (plugins/sdk/plugin does; ProbeVersion is a
// convenience over it) and imports no other engine package, so both the
// engine and the CLI can use it.
package discovery
