package aws

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/llmops/llmops/plugins/sdk"
)

// An endpoint serves one revision of a deployment: an endpoint
// configuration (the model, the instance type, the instance count from
// replicas) and the endpoint, both named after the deployment and the
// revision, both tagged. Blue/green never updates an endpoint in place
// (UpdateEndpoint): the next revision gets its own endpoint, the gateway
// switches to it once it is InService, and the old one is deleted.

// endpointSpec is what one revision's endpoint runs.
type endpointSpec struct {
	deployment string // the deployment's id (dep-...)
	revision   int64
	seq        int    // numbers the revision's endpoints (a repair makes a new one)
	model      string // the SageMaker Model's name
	instance   string
	count      int32
	id         string // llmops:id tag
	address    string // llmops:address tag
}

func (e endpointSpec) name() string {
	if e.seq > 0 {
		return fmt.Sprintf("llmops-%s-r%d-%d", e.deployment, e.revision, e.seq)
	}
	return fmt.Sprintf("llmops-%s-r%d", e.deployment, e.revision)
}

// runtimeURL is the base URL the gateway forwards to for an endpoint:
// SageMaker's runtime in the region, or the endpoint the standard
// variables name (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, AWS_ENDPOINT_URL).
func (m *meta) runtimeURL(name string) string {
	for _, v := range []string{"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL"} {
		if u := os.Getenv(v); u != "" {
			return strings.TrimSuffix(u, "/") + "/endpoints/" + name
		}
	}
	return fmt.Sprintf("https://runtime.sagemaker.%s.amazonaws.com/endpoints/%s", m.region, name)
}

// createEndpoint makes the revision's endpoint configuration and endpoint
// (adopting them when a killed llmops made them before).
func (m *meta) createEndpoint(ctx context.Context, e endpointSpec) sdk.Diagnostics {
	name := e.name()
	_, err := m.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: awssdk.String(name),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: awssdk.String("main"), ModelName: awssdk.String(e.model),
			InstanceType: smtypes.ProductionVariantInstanceType(e.instance), InitialInstanceCount: awssdk.Int32(e.count)}},
		Tags: m.tagsFor(e.id, e.address),
	})
	if err != nil && !alreadyExists(err) {
		return opError("CreateEndpointConfig", fmt.Sprintf("configuring endpoint %s (%d x %s)", name, e.count, e.instance), err)
	}
	_, err = m.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: awssdk.String(name), EndpointConfigName: awssdk.String(name), Tags: m.tagsFor(e.id, e.address)})
	if err != nil && !alreadyExists(err) {
		d := opError("CreateEndpoint", "creating endpoint "+name, err)
		_, _ = m.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: awssdk.String(name)})
		return d
	}
	return nil
}

// waitInService waits until the endpoint is InService; Failed, or the
// deadline, is an error with SageMaker's reason.
func (m *meta) waitInService(ctx context.Context, name string, timeout time.Duration) sdk.Diagnostics {
	deadline := time.Now().Add(timeout)
	for {
		out, err := m.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: awssdk.String(name)})
		if err != nil {
			return opError("DescribeEndpoint", "waiting for endpoint "+name, err)
		}
		switch out.EndpointStatus {
		case smtypes.EndpointStatusInService:
			return nil
		case smtypes.EndpointStatusFailed, smtypes.EndpointStatusOutOfService, smtypes.EndpointStatusDeleting:
			var d sdk.Diagnostics
			d.Errorf("The SageMaker endpoint did not come up ("+string(out.EndpointStatus)+")", "Endpoint %s is %s: %s. Its log is in CloudWatch Logs, group /aws/sagemaker/Endpoints/%s (region %s).", name, out.EndpointStatus, awssdk.ToString(out.FailureReason), name, m.region)
			return d
		}
		if time.Now().After(deadline) {
			var d sdk.Diagnostics
			d.Errorf("The SageMaker endpoint is not in service in time", "Endpoint %s is still %s after %s; it is left for the next apply to find.", name, out.EndpointStatus, timeout)
			return d
		}
		select {
		case <-ctx.Done():
			var d sdk.Diagnostics
			d.Errorf("Interrupted", "Stopped waiting for endpoint %s (%s).", name, out.EndpointStatus)
			return d
		case <-time.After(m.poll):
		}
	}
}

// endpointStatus reads an endpoint's status ("" when it does not exist).
func (m *meta) endpointStatus(ctx context.Context, name string) (string, error) {
	out, err := m.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: awssdk.String(name)})
	if err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return string(out.EndpointStatus), nil
}

// deleteEndpoint deletes an endpoint and its configuration (either may be
// gone already).
func (m *meta) deleteEndpoint(ctx context.Context, name string) sdk.Diagnostics {
	if _, err := m.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: awssdk.String(name)}); err != nil && !isNotFound(err) {
		return opError("DeleteEndpoint", "deleting endpoint "+name, err)
	}
	if _, err := m.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: awssdk.String(name)}); err != nil && !isNotFound(err) {
		return opError("DeleteEndpointConfig", "deleting endpoint configuration "+name, err)
	}
	return nil
}

// alreadyExists reports an error saying the resource exists already.
func alreadyExists(err error) bool {
	code, msg := apiError(err)
	return code == "ResourceInUse" || (code == "ValidationException" && (containsAny(msg, "already exist", "Cannot create already existing")))
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
