// Command llmops-provider-aws serves the aws provider (package
// plugins/aws) to llmops over go-plugin. It is not meant to be run by
// hand, except with -debug (or LLMOPS_PROVIDER_DEBUG=1) to attach llmops
// to it under a debugger.
package main

import (
	"github.com/llmops/llmops/plugins/aws"
	"github.com/llmops/llmops/plugins/sdk"
)

func main() {
	sdk.Serve(aws.Provider())
}
