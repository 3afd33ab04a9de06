package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// The endpoint of each revision, against moto (through the fake front):
// created tagged with its instance count, InService, replaced by the next
// revision's and deleted with its configuration; an instance type moto
// (like a region without it) refuses is an error saying so; an exhausted
// quota is a capacity refusal.
func TestEndpointLifecycle(t *testing.T) {
	f := newFakeAWS(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(f.aws.Region), config.WithBaseEndpoint(f.URL),
		config.WithCredentialsProvider(awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
			return awssdk.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	sm := sagemaker.NewFromConfig(cfg)
	m := &meta{sm: sm, region: f.aws.Region, poll: 50 * time.Millisecond}
	dep := "dep-" + strings.TrimPrefix(f.aws.NewBucket(t), "llmops-test-") // a fresh name
	model := "llmops-model-" + dep
	if _, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: awssdk.String(model), ExecutionRoleArn: awssdk.String("arn:aws:iam::123456789012:role/x"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: awssdk.String("img:1")}}); err != nil {
		t.Fatal(err)
	}
	r1 := endpointSpec{deployment: dep, revision: 1, model: model, instance: "ml.m5.large", count: 2, id: dep, address: "deployment.chat"}
	if d := m.createEndpoint(ctx, r1); d.HasErrors() {
		t.Fatal(d.Err())
	}
	if d := m.waitInService(ctx, r1.name(), 10*time.Second); d.HasErrors() {
		t.Fatal(d.Err())
	}
	ep, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: awssdk.String(r1.name())})
	if err != nil || awssdk.ToInt32(ep.ProductionVariants[0].DesiredInstanceCount) != 2 {
		t.Fatalf("endpoint: %+v %v", ep, err)
	}
	tags, _ := sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: ep.EndpointArn})
	if !hasTag(tags.Tags, tagID, dep) || !hasTag(tags.Tags, tagAddress, "deployment.chat") {
		t.Fatalf("tags %v", tags.Tags)
	}
	// Created again (llmops killed after creating it): adopted.
	if d := m.createEndpoint(ctx, r1); d.HasErrors() {
		t.Fatalf("a second create must adopt: %v", d.Err())
	}

	// Blue/green: revision 2's endpoint, then the old one deleted.
	r2 := r1
	r2.revision = 2
	if d := m.createEndpoint(ctx, r2); d.HasErrors() {
		t.Fatal(d.Err())
	}
	if d := m.deleteEndpoint(ctx, r1.name()); d.HasErrors() {
		t.Fatal(d.Err())
	}
	if st, err := m.endpointStatus(ctx, r1.name()); err != nil || st != "" {
		t.Fatalf("the old endpoint is %q (%v)", st, err)
	}
	if st, _ := m.endpointStatus(ctx, r2.name()); st != "InService" {
		t.Fatalf("revision 2 is %q", st)
	}
	if _, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: awssdk.String(r1.name())}); err == nil {
		t.Fatalf("the old endpoint configuration is left")
	}
	if d := m.deleteEndpoint(ctx, r1.name()); d.HasErrors() {
		t.Fatalf("deleting what is gone is no error: %v", d.Err())
	}

	// moto refuses ml.g5 for endpoints, as a region without the type does.
	r3 := r1
	r3.revision, r3.instance = 3, "ml.g5.xlarge"
	d := m.createEndpoint(ctx, r3)
	if !d.HasErrors() || !strings.Contains(d[0].Summary, "CreateEndpointConfig") || !strings.Contains(d[0].Detail, "another instance_type") {
		t.Fatalf("want the refusal with advice, got %v", d)
	}
	// An exhausted quota is a capacity refusal (placement falls back).
	f.set(f.refuse, "ml.m5.large", true)
	r4 := r1
	r4.revision = 4
	if d := m.createEndpoint(ctx, r4); !d.HasErrors() || !protocol.IsCapacityRefused(d[0].Summary) {
		t.Fatalf("want a capacity refusal, got %v", d)
	}
	m.deleteEndpoint(ctx, r2.name())
}
