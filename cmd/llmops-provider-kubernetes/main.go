// Command llmops-provider-kubernetes serves the kubernetes provider
// (package plugins/kubernetes) to llmops over go-plugin. It is not meant to
// be run by hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach
// llmops to it under a debugger.
//
// Inside a pod it is the job runner (`llmops-provider-kubernetes
// __llmops_runner -- COMMAND...`): it fetches the job's inputs from the
// remote artifact store, runs the command and pushes its outputs; and
// `__llmops_copy_runner DEST` copies it into a pod (runner_image),
// `__llmops_fetch ID` brings a serving pod its model. On the llmops host it
// also runs each deployment's gateway (`__llmops_gateway DIR`).
package main

import (
	"os"

	"github.com/llmops/llmops/plugins/kubernetes"
	"github.com/llmops/llmops/plugins/sdk"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case kubernetes.RunnerArg:
			os.Exit(kubernetes.Runner(os.Args[2:]))
		case kubernetes.FetchArg:
			os.Exit(kubernetes.FetchModel(os.Args[2:]))
		case kubernetes.GatewayArg:
			os.Exit(kubernetes.Gateway(os.Args[2:]))
		case kubernetes.CopyRunnerArg:
			os.Exit(kubernetes.CopyRunner(os.Args[2:]))
		}
	}
	sdk.Serve(kubernetes.Provider())
}
