// Command llmops-provider-slurm serves the slurm provider (package
// plugins/slurm) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
//
// The provider also runs itself, detached, as the gateway of each
// deployment (`llmops-provider-slurm __llmops_gateway DIR`, package
// plugins/sdk/gateway): the stable endpoint on the llmops host in front of
// the deployment's serving jobs.
package main

import (
	"os"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/slurm"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == slurm.GatewayArg {
		os.Exit(slurm.Gateway(os.Args[2:]))
	}
	sdk.Serve(slurm.Provider())
}
