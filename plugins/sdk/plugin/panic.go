package plugin

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	hclog "github.com/hashicorp/go-hclog"
)

// PanicFrames is how many frames of the provider's own code a panic's
// diagnostic shows; the full trace goes to the provider's log.
const PanicFrames = 3

// machinery are the packages whose frames a panic report leaves out: the
// runtime, the SDK's plumbing and gRPC, which sit under every handler.
var machinery = []string{
	"runtime.", "runtime/debug.",
	"github.com/llmops/llmops/plugins/sdk.",
	"github.com/llmops/llmops/plugins/sdk/plugin.",
	"github.com/llmops/llmops/plugins/sdk/proto.",
	"google.golang.org/grpc",
}

// PanicDetail reports a panic recovered in a provider handler (call it in
// the deferred function, where the stack still holds the panicking
// frames): it logs the full stack trace to the provider's log, which
// llmops writes to its log file, and returns the detail of the one
// diagnostic llmops shows: what panicked, the value, and the first frames
// of the provider's own code.
func PanicDetail(op string, r any) string {
	hclog.Default().Error("the provider panicked", "call", op, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	var b strings.Builder
	fmt.Fprintf(&b, "%s panicked: %v. This is a bug in the provider; please report it to its authors with the log of this run.", op, r)
	if frames := ownFrames(PanicFrames); len(frames) > 0 {
		fmt.Fprintf(&b, "\n\nWhere:\n  %s", strings.Join(frames, "\n  "))
	}
	b.WriteString("\n\nThe full stack trace is in the provider's log (llmops's log of this run, under .llmops/logs/).")
	return b.String()
}

// ownFrames are the first n frames of the calling goroutine outside the
// machinery, innermost first, as "function (file:line)".
func ownFrames(n int) []string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	var out []string
	for len(out) < n {
		f, more := frames.Next()
		if f.Function != "" && !isMachinery(f.Function) {
			out = append(out, fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line))
		}
		if !more {
			break
		}
	}
	return out
}

func isMachinery(fn string) bool {
	for _, p := range machinery {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}
