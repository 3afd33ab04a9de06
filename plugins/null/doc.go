// Package null is the null provider: resources that live only in llmops
// state, for wiring configurations together and for testing the engine.
//
//   - null_value, like Terraform's terraform_data: stores any value
//     (`input`), echoes it as `output`, and is replaced whenever
//     `triggers_replace` changes.
//   - null_job: a fake long operation. Create returns a pending object;
//     Read reports it pending until `duration` has passed since creation,
//     then finished (or failed, with `fail = true`). It exercises the
//     engine's long-operation path without a real trainer; with
//     `cancel_duration`, its Delete is a long operation too (a pending
//     handle "cancel/...", gone once that duration has passed).
//
// Test-only failure injection (read once when the provider is built, never
// set in normal use):
//
//   - LLMOPS_NULL_TEST_SLEEP=<duration> makes every ApplyResourceChange
//     sleep that long first; StopProvider (or the call's cancellation)
//     interrupts the sleep and the apply fails with an error.
//   - LLMOPS_NULL_TEST_CRASH_AFTER=<n> makes the process exit with status 3,
//     without answering, during its n-th ApplyResourceChange.
//   - LLMOPS_NULL_TEST_FAIL_DESTROY=1 makes every destroy fail with an error.
//   - LLMOPS_NULL_TEST_PANIC=handler makes every ApplyResourceChange panic
//     in the call (a nil map write); =goroutine panics in a goroutine of
//     its own, which kills the process.
//
// The boundary: the provider is written only against package sdk, like any
// third-party provider; cmd/llmops-provider-null serves it.
package null
