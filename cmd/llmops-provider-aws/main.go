// Command llmops-provider-aws serves the aws provider (package
// plugins/aws) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
//
// The provider also runs itself, detached, as a deployment's gateway
// (`llmops-provider-aws __llmops_gateway DIR`, package plugins/sdk/gateway)
// whose calls to SageMaker endpoints it signs with SigV4.
package main

import (
	"os"

	"github.com/llmops/llmops/plugins/aws"
	"github.com/llmops/llmops/plugins/sdk"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == aws.GatewayArg {
		os.Exit(aws.Gateway(os.Args[2:]))
	}
	sdk.Serve(aws.Provider())
}
