package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/internal/panics"
)

// catchPanic runs f and turns a panic in it into a *panics.Error, logged
// with its stack: the operation that panicked (planning or applying one
// instance, one node of a walk) fails with a diagnostic, and the others go
// on and are recorded.
func (e *Engine) catchPanic(f func()) (err error) {
	defer func() {
		if pe := panics.From(recover()); pe != nil {
			e.log.Error("recovered from a panic", "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
			err = pe
		}
	}()
	f()
	return nil
}

// panicDiag reports a recovered panic while doing what.
func panicDiag(what string, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Internal error",
		Detail: fmt.Sprintf("llmops failed while %s (%s). This is a bug in llmops; the operation stopped there and everything finished before it is recorded. The stack trace is in llmops's log (set LLMOPS_LOG=debug, or see the log file the error names).",
			what, err),
	}
}
