package aws

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/llmops/llmops/plugins/sdk/gateway"
)

// GatewayArg makes the provider binary run as a deployment's gateway
// (package gateway), with its calls to SageMaker endpoints signed.
const GatewayArg = gateway.Arg

// Gateway runs the gateway process (`llmops-provider-aws __llmops_gateway
// DIR`): the shared gateway, its transport wrapped by the SigV4 signer,
// with the credentials of the standard chain in this process's
// environment.
func Gateway(args []string) int {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithLogger(logging.Nop{}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway: loading the AWS configuration: %s\n", shortErr(err))
		return 1
	}
	return gateway.MainWith(args, func(next http.RoundTripper) http.RoundTripper {
		return newEndpointSigner(next, cfg.Credentials, cfg.Region)
	})
}

// regionOf reads the region of a SageMaker runtime host
// (runtime.sagemaker.REGION.amazonaws.com), else def.
func regionOf(host, def string) string {
	if rest, ok := strings.CutPrefix(host, "runtime.sagemaker."); ok {
		if r, _, ok := strings.Cut(rest, "."); ok && r != "" {
			return r
		}
	}
	return def
}
