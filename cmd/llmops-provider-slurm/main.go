// Command llmops-provider-slurm serves the slurm provider (package
// plugins/slurm) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
package main

import (
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/slurm"
)

func main() { sdk.Serve(slurm.Provider()) }
