// Package panics turns a panic in any goroutine llmops starts into an
// error that the command reports (exit 1, with the log path, the state
// lock released) instead of Go's crash, which prints a trace and exits 2:
// the code `plan -detailed-exitcode` uses for "changes", so a crash read
// as "there are changes".
//
// A panic in the main goroutine unwinds to cmd/llmops, which recovers it.
// A panic in another goroutine cannot unwind there, so every goroutine
// llmops starts goes through this package:
//
//   - Group, for goroutines someone waits for (the graph walk, an engine
//     fan-out over instances): the first panic is caught in its goroutine
//     and raised again, as *Error with the original stack, in the
//     goroutine that calls Wait, so it unwinds the caller's defers (which
//     release the state lock) up to the command's recover.
//   - Go, for goroutines nobody waits for (signal watchers, heartbeats):
//     a panic is handed to the handler the CLI installs with SetHandler,
//     which reports it, releases the lock and exits 1.
//
// It knows nothing of the CLI, the engine or state. Go's fatal errors
// (stack exhaustion, out of memory, concurrent map writes) are not panics
// and cannot be recovered in process; docs/cli.md says so.
package panics
