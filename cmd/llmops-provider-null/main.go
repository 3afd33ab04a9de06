// Command llmops-provider-null serves the null provider (package
// plugins/null) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
package main

import (
	"os"
	"strconv"

	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/plugin"
)

func main() {
	// Test-only: offer another protocol version, to test the message
	// llmops gives for a provider built for another protocol.
	if v, err := strconv.Atoi(os.Getenv(null.EnvTestProtocol)); err == nil && v > 0 {
		plugin.Serve(sdk.NewProtocolProvider(null.Provider()), plugin.WithProtocolVersion(v))
		return
	}
	sdk.Serve(null.Provider())
}
