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
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/serving"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// A deployment on SageMaker is served by package serving: the gateway on
// the llmops host (keys, rate limits, metrics, monitors) in front of one
// SageMaker endpoint per revision. This provider's part (the backend)
// makes a revision's SageMaker Model, endpoint configuration (instance
// count = replicas) and endpoint, all named llmops-<deployment>-r<rev>
// and tagged; every replica of a revision is routed to its endpoint, which
// the gateway calls signed with SigV4 (sigv4.go). Blue/green: the next
// revision's endpoint comes up (InService), the gateway switches to it,
// then the old endpoint, configuration and model are deleted; no
// UpdateEndpoint.

// awsSpec is the SageMaker part of a revision.
type awsSpec struct {
	Image        string `json:"image"`
	InstanceType string `json:"instance_type"`
}

// awsReplica is the SageMaker part of a replica's record.
type awsReplica struct {
	Endpoint string `json:"endpoint_name"`
}

type (
	depRecord  = serving.Record[awsSpec, awsReplica]
	depSpec    = serving.Spec[awsSpec]
	replicaRec = serving.Replica[awsReplica]
)

var deployments = serving.Resource[awsSpec, awsReplica]{
	Backend: func(meta any) serving.Backend[awsSpec, awsReplica] { return endpointBackend{metaOf(meta)} },
}

// defaultInServiceTimeout is how long a new endpoint may take to be
// InService when serve.health_timeout is unset (SageMaker takes minutes).
const defaultInServiceTimeout = 30 * time.Minute

func deploymentResource() *sdk.Resource {
	return &sdk.Resource{
		Schema: kindsdk.Block(schema.Deployment, sdk.Block{
			Attributes: sdk.Attributes{
				"host": sdk.Attr(cty.String).Optional().Computed().ForceNew().UseStateForUnknown().
					Description("The address the gateway listens on (default `127.0.0.1`)."),
				"port": sdk.Attr(cty.Number).Optional().Computed().ForceNew().UseStateForUnknown().
					Description("The gateway's port; by default a free port is chosen at creation."),
				"endpoint_name": sdk.Attr(cty.String).Computed().Description("The SageMaker endpoint serving the current revision."),
				"instance_type": sdk.Attr(cty.String).Computed().Description("The instance type of the current revision's endpoint."),
			},
			Blocks: sdk.Blocks{"aws": sdk.SingleBlock(sdk.Block{
				Description: "The SageMaker endpoint of each revision.",
				Attributes: sdk.Attributes{
					"image":         sdk.Attr(cty.String).Optional().Description("The inference container image (ECR). Required."),
					"instance_type": sdk.Attr(cty.String).Optional().Description("The instance type (default: derived from resources, among the types SageMaker serves endpoints on)."),
				},
			})},
		}),
		Validate: validateDeployment,
		ModifyPlan: serving.Plan(serving.PlanOptions{
			RolloutAttrs: []string{"model", "resources", "aws"},
			Unknown: func(planned *sdk.Object, prior sdk.Object, rollout, repair bool) {
				if rollout || repair {
					planned.SetUnknown("endpoint_name")
					planned.SetUnknown("instance_type")
				}
			},
		}),
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			return deployments.Create(withAddress(ctx, req.Address), req)
		},
		Read: deployments.Read,
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return deployments.Update(withAddress(ctx, req.Address), req)
		},
		Delete: deployments.Delete,
		Import: deployments.Import,
	}
}

func validateDeployment(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Deployment, cfg.Value)
	if cfg.Known("model") {
		if id := cfg.GetString("model"); !schema.IsArtifactID(id) {
			d.AttrErrorf(attr("model"), "Invalid model", "%q is not a model id: the aws provider serves models from the artifact store, e.g. model = training_run.ft.output_model.", id)
		}
	}
	if a := cfg.Attr("aws"); a.IsKnown() && (a.IsNull() || nested(a, "image") == cty.NilVal && a.GetAttr("image").IsKnown()) {
		d.AttrErrorf(attr("aws"), "Missing aws { image }", "A SageMaker endpoint runs an inference container: add aws { image = \"ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG\" }.")
	}
	if cfg.Known("strategy") && cfg.IsSet("strategy") && cfg.GetString("strategy") != serving.StrategyBlueGreen {
		d.AttrErrorf(attr("strategy"), "Unsupported strategy on SageMaker", "On SageMaker each revision is one endpoint: the gateway switches from the old revision's endpoint to the new one once it is in service (strategy = \"blue_green\", the default); %q is not possible.", cfg.GetString("strategy"))
	}
	if s := cfg.Attr("serve"); s.IsKnown() && !s.IsNull() && len(serving.NestedStrings(s, "command")) > 0 {
		d.AttrErrorf(attr("serve").GetAttr("command"), "No serve command on SageMaker", "The inference container of aws { image } serves the model; remove serve.command (serve.health_timeout bounds the wait for the endpoint).")
	}
	return d
}

type addressKey struct{}

// withAddress carries the object's address to the backend, which tags the
// endpoints it makes with it (llmops:address).
func withAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addressKey{}, addr)
}

func addressOf(ctx context.Context) string {
	s, _ := ctx.Value(addressKey{}).(string)
	return s
}

// endpointBackend serves a deployment's revisions from SageMaker endpoints.
type endpointBackend struct{ m *meta }

// gatewayEnv are the variables of llmops' environment the gateway gets to
// find credentials: where they are, never static keys.
var gatewayEnv = []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED"}

func (b endpointBackend) Site() serving.Site {
	exe, _ := os.Executable()
	return serving.Site{Provider: "aws", StoreRoot: b.m.store.Root(), Exe: exe, GatewayEnv: jobs.Passthrough(os.Environ(), gatewayEnv)}
}

func (b endpointBackend) Spec(_ context.Context, st sdk.Object) (*depSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	if d = b.m.needS3(); d.HasErrors() {
		return nil, d
	}
	s, ds := b.m.settingsOf(st, true)
	if ds.HasErrors() {
		return nil, ds
	}
	serve := st.Attr("serve")
	spec := &depSpec{SpecBase: serving.SpecBase{Model: st.GetString("model"), ModelPath: st.GetString("model"), Replicas: 1,
		HealthTimeout: nestedString(serve, "health_timeout")},
		Ext: awsSpec{Image: s.image, InstanceType: s.instanceType}}
	if st.IsSet("replicas") {
		spec.Replicas, spec.ReplicasSet = int(st.GetInt("replicas")), true
	}
	return spec, d
}

func (endpointBackend) SameRevision(a, b awsSpec) bool { return a == b }
func (endpointBackend) Settle(*awsSpec, awsSpec)       {}

// Start makes a new endpoint for the revision with its first replica
// (index 0); the other replicas of the revision are its other instances,
// routed to the endpoint made last for the revision. Endpoint names carry
// a sequence number (llmops-<deployment>-r<rev>-<seq>), so a repair's new
// endpoint never shares its name with the one it replaces.
func (b endpointBackend) Start(ctx context.Context, r *depRecord, spec *depSpec, rev int64, index int) (replicaRec, error) {
	e := endpointSpec{deployment: r.ID, revision: rev, instance: spec.Ext.InstanceType, count: int32(max(spec.Replicas, 1)), id: r.ID, address: addressOf(ctx)}
	name := ""
	if index > 0 {
		for _, y := range r.Replicas {
			if y.Revision == rev && y.Ext.Endpoint != "" {
				name = y.Ext.Endpoint
			}
		}
	}
	create := name == ""
	if create {
		r.Seq++
		e.seq = r.Seq
		name = e.name()
	}
	now := time.Now().UTC()
	x := replicaRec{ReplicaBase: serving.ReplicaBase{Index: index, Revision: rev, ID: fmt.Sprintf("%s/%d/%d", name, index, now.UnixNano()), URL: b.m.runtimeURL(name), Started: now},
		Ext: awsReplica{Endpoint: name}}
	if !create {
		return x, nil
	}
	e.model = name
	if d := b.m.revisionModel(ctx, name, spec, e); d.HasErrors() {
		return x, d.Err()
	}
	if d := b.m.createEndpoint(ctx, e); d.HasErrors() {
		return x, d.Err()
	}
	return x, nil
}

// revisionModel registers the revision's SageMaker Model (the artifact
// laid out in S3 with the image).
func (m *meta) revisionModel(ctx context.Context, name string, spec *depSpec, e endpointSpec) sdk.Diagnostics {
	uri, err := m.view(ctx, spec.Model, "model")
	if err != nil {
		return errDiags("Cannot lay the model out in S3", err)
	}
	_, err = m.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: awssdk.String(name), ExecutionRoleArn: awssdk.String(m.role),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: awssdk.String(spec.Ext.Image),
			ModelDataSource: &smtypes.ModelDataSource{S3DataSource: &smtypes.S3ModelDataSource{S3Uri: awssdk.String(uri), S3DataType: smtypes.S3ModelDataTypeS3Prefix, CompressionType: smtypes.ModelCompressionTypeNone}}},
		Tags: m.tagsFor(e.id, e.address),
	})
	if err != nil && !alreadyExists(err) && !strings.Contains(err.Error(), "already") {
		return opError("CreateModel", "registering the model of "+name, err)
	}
	return nil
}

func (b endpointBackend) Wait(ctx context.Context, _ *depRecord, spec *depSpec, x *replicaRec) error {
	if d := b.m.waitInService(ctx, x.Ext.Endpoint, serving.DurationOr(spec.HealthTimeout, defaultInServiceTimeout)); d.HasErrors() {
		return d.Err()
	}
	return nil
}

func (b endpointBackend) Up(ctx context.Context, _ *depRecord, x *replicaRec) bool {
	st, err := b.m.endpointStatus(ctx, x.Ext.Endpoint)
	return err == nil && st == string(smtypes.EndpointStatusInService)
}

// Stop deletes the endpoints of the replicas, with their configurations
// and models, except an endpoint that a replica not being stopped still
// uses.
func (b endpointBackend) Stop(ctx context.Context, r *depRecord, reps []replicaRec, _ bool) {
	stopping := map[string]bool{}
	for _, x := range reps {
		stopping[x.ID] = true
	}
	kept := map[string]bool{}
	for _, y := range r.Replicas {
		if !stopping[y.ID] {
			kept[y.Ext.Endpoint] = true
		}
	}
	seen := map[string]bool{}
	for _, x := range reps {
		name := x.Ext.Endpoint
		if name == "" || seen[name] || kept[name] {
			continue
		}
		seen[name] = true
		if d := b.m.deleteEndpoint(ctx, name); d.HasErrors() {
			sdk.Logger(ctx).Warn("cannot delete endpoint", "endpoint", name, "error", d.Err())
		}
		if _, err := b.m.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: awssdk.String(name)}); err != nil && !isNotFound(err) {
			sdk.Logger(ctx).Warn("cannot delete model", "model", name, "error", shortErr(err))
		}
	}
}

func (b endpointBackend) LogTail(x *replicaRec) string {
	return fmt.Sprintf("\n\nThe endpoint's log is in CloudWatch Logs, group /aws/sagemaker/Endpoints/%s (region %s).", x.Ext.Endpoint, b.m.region)
}

func (endpointBackend) State(st *sdk.Object, r *depRecord) {
	st.SetNull("endpoint_name")
	for _, x := range r.Replicas {
		if x.Revision == r.Revision {
			st.SetString("endpoint_name", x.Ext.Endpoint)
		}
	}
	st.SetString("instance_type", r.Spec.Ext.InstanceType)
}

func (endpointBackend) Import(st *sdk.Object, r *depRecord) {
	st.Set("aws", cty.ObjectVal(map[string]cty.Value{"image": cty.StringVal(r.Spec.Ext.Image), "instance_type": cty.StringVal(r.Spec.Ext.InstanceType)}))
	if len(r.Spec.Command) == 0 {
		st.SetNull("serve")
	}
}

func (endpointBackend) Cleanup(*depRecord) error { return nil }
