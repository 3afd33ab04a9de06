package sdk

import (
	"context"
	"errors"
	"os"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// ErrStopped is the cause of the context passed to CRUD functions when
// llmops asks the provider to stop (Ctrl-C): context.Cause(ctx) == ErrStopped.
var ErrStopped = errors.New("llmops asked the provider to stop")

type logKey struct{}

type logInfo struct {
	provider, typeName, op string
}

func withLogInfo(ctx context.Context, provider, typeName, op string) context.Context {
	return context.WithValue(ctx, logKey{}, logInfo{provider, typeName, op})
}

// Logger returns the logger for code running in a provider call. Lines go
// to the provider's stderr as JSON, and go-plugin forwards them to llmops,
// which shows them under the provider's name (with TF_LOG-style level
// filtering by llmops). Inside a call, lines carry the resource type and
// the operation:
//
//	sdk.Logger(ctx).Info("job submitted", "job_id", id)
//
// Values the provider was told are sensitive (SensitivePaths) are masked
// as "(sensitive)" in the message and the arguments of every line.
func Logger(ctx context.Context) hclog.Logger {
	l := maskLogger(hclog.Default())
	if info, ok := ctx.Value(logKey{}).(logInfo); ok {
		if info.typeName != "" {
			l = l.With("resource_type", info.typeName)
		}
		if info.op != "" {
			l = l.With("op", info.op)
		}
	}
	return l
}

// Serve serves p from the provider's main function:
//
//	func main() { sdk.Serve(echo.Provider()) }
//
// It does not return while llmops uses the provider. Started with
// LLMOPS_PROVIDER_DEBUG=1 or -debug, the provider runs on its own and
// prints a LLMOPS_REATTACH_PROVIDERS line to export so llmops attaches to
// it (for running it under a debugger).
//
// The provider's log output is scrubbed of every sensitive value it was
// given, whichever logger wrote the line.
func Serve(p *Provider) {
	plugin.Serve(NewProtocolProvider(p), plugin.WithType(p.Name), plugin.WithLogOutput(scrub.NewWriter(os.Stderr, &known)))
}
