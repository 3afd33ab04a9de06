// Command llmops-provider-null serves the null provider (package
// plugins/null) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
package main

import (
	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
)

func main() {
	sdk.Serve(null.Provider())
}
