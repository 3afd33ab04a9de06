// Command llmops-provider-local serves the local provider (package
// plugins/local) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
//
// The provider also runs itself, detached, as the supervisor of each job it
// starts (`llmops-provider-local __llmops_supervise RUNDIR`), and as the
// gateway of each deployment (`llmops-provider-local __llmops_gateway DIR`).
package main

import (
	"os"

	"github.com/llmops/llmops/plugins/local"
	"github.com/llmops/llmops/plugins/sdk"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == local.SuperviseArg {
		os.Exit(local.Supervise(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == local.GatewayArg {
		os.Exit(local.Gateway(os.Args[2:]))
	}
	sdk.Serve(local.Provider())
}
