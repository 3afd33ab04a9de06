package aws

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// capacityCodes are the error codes that mean "not now, not here": the
// placement falls back to its next candidate.
var capacityCodes = map[string]bool{
	"ResourceLimitExceeded":        true,
	"InsufficientInstanceCapacity": true,
	"CapacityError":                true,
}

// advice says what to do about an error code.
func advice(code, msg string) string {
	switch {
	case capacityCodes[code]:
		return "The account's quota or the region's capacity for this instance type is exhausted: request a quota increase (Service Quotas, SageMaker), pick another instance_type or region, or list another placement candidate."
	case code == "AccessDeniedException" || code == "AccessDenied" || code == "UnauthorizedOperation":
		return "The credentials llmops runs with lack a permission: grant the IAM policy of docs/aws.md to them, and check execution_role_arn's trust policy (sagemaker.amazonaws.com)."
	case strings.Contains(msg, "role") || strings.Contains(msg, "Role"):
		return "Check execution_role_arn: the role must exist, trust sagemaker.amazonaws.com and be passable by llmops (iam:PassRole), see docs/aws.md."
	case strings.Contains(msg, "instanceType") || strings.Contains(msg, "instance type") || strings.Contains(msg, "InstanceType"):
		return "The region does not offer this instance type for this use: pick another instance_type (docs/aws.md lists the mapping) or another region."
	case code == "ThrottlingException":
		return "AWS throttled the call: run again in a moment, or lower -parallelism."
	case code == "ExpiredTokenException" || code == "InvalidClientTokenId" || code == "UnrecognizedClientException":
		return "The AWS credentials are missing, invalid or expired: refresh them (aws sso login, or the profile named in the provider block)."
	case code == "ResourceInUse":
		return "A resource of that name exists already (made by an earlier run, or by hand): import it, or remove it."
	}
	return "See the message above; docs/aws.md lists what the provider needs."
}

// apiError returns the code and message of an AWS error ("" when err is
// not one).
func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	code, msg := apiError(err)
	return code == "ResourceNotFound" || code == "NoSuchKey" || code == "NotFound" ||
		(code == "ValidationException" && (strings.Contains(msg, "Could not find") || strings.Contains(msg, "does not exist")))
}

// isCapacity reports whether err is a capacity or quota refusal.
func isCapacity(err error) bool {
	code, _ := apiError(err)
	return capacityCodes[code]
}

// opError is the diagnostic of a failed AWS call: the operation, the error
// code, AWS's message and what to do, never the SDK's raw dump (request
// ids and HTTP details stay in the debug log). A capacity refusal is a
// protocol.CapacityRefused, which a placement turns into a fallback.
func opError(op, what string, err error) sdk.Diagnostics {
	code, msg := apiError(err)
	if code == "" {
		code, msg = "RequestFailed", shortErr(err)
	}
	summary := fmt.Sprintf("AWS %s failed (%s)", op, code)
	detail := fmt.Sprintf("%s: %s returned %s: %s\n%s", what, op, code, msg, advice(code, msg))
	if capacityCodes[code] {
		return sdk.Diagnostics{protocol.CapacityRefused(summary, detail)}
	}
	var d sdk.Diagnostics
	d.Errorf(summary, "%s", detail)
	return d
}

// shortErr is an error's message without the SDK's operation-error
// wrapping ("operation error SageMaker: X, https response error ...").
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ", "); i >= 0 && strings.HasPrefix(s, "operation error") {
		s = s[i+2:]
	}
	return s
}
