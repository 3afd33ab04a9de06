package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/hcl/v2"
)

// PanicError is a panic recovered in one of the engine's goroutines: the
// operation that panicked fails with it instead of the whole process.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// catchPanic runs f and turns a panic in it into a *PanicError, logged
// with its stack.
func (e *Engine) catchPanic(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pe := &PanicError{Value: r, Stack: debug.Stack()}
			e.log.Error("recovered from a panic", "panic", fmt.Sprint(r), "stack", string(pe.Stack))
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
