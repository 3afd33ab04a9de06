package aws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/logging"
	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	s3store "github.com/llmops/llmops/plugins/sdk/artifacts/remote/s3"
	"github.com/llmops/llmops/schema"
)

// Version is the aws provider's release version.
const Version = "0.1.0"

// Provider returns the aws provider.
func Provider() *sdk.Provider {
	return &sdk.Provider{
		Name:    "aws",
		Version: Version,
		Schema: sdk.Block{
			Description: "Runs training runs, evaluations and dataset transforms as Amazon SageMaker training jobs, registers models as SageMaker Models and serves deployments from SageMaker Endpoints behind the llmops gateway. Credentials come from the standard AWS chain, never from the configuration.",
			Attributes: sdk.Attributes{
				"region":             sdk.Attr(cty.String).Optional().Description("The AWS region (default: the AWS configuration's, e.g. AWS_REGION)."),
				"profile":            sdk.Attr(cty.String).Optional().Description("A profile of the shared AWS configuration (~/.aws/config); never keys in the file."),
				"execution_role_arn": sdk.Attr(cty.String).Optional().Description("The IAM role SageMaker jobs, models and endpoints run as (docs/aws.md). Required to run anything."),
				"prices":             sdk.Attr(cty.Map(cty.Number)).Optional().Description("USD per hour by instance type, overriding the built-in table (docs/aws.md); `\"TYPE/spot\"` keys override the spot price."),
				"output_path":        sdk.Attr(cty.String).Optional().Description("s3://BUCKET/PREFIX for job outputs and checkpoints (default: the artifact store's bucket, under PREFIX/aws)."),
				"tags":               sdk.Attr(cty.Map(cty.String)).Optional().Description("Tags added to everything the provider creates, besides llmops:id and llmops:address."),
			},
		},
		ValidateConfig: validateProviderConfig,
		Configure:      configure,
		Offers:         offers,
		Resources: map[string]*sdk.Resource{
			schema.TrainingRun: jobResource(trainingKind),
			schema.Evaluation:  jobResource(evaluationKind),
			schema.Dataset:     datasetResource(),
			schema.Model:       modelResource(),
			schema.Deployment:  deploymentResource(),
		},
	}
}

// meta is what Configure returns: the clients and settings every
// resource needs.
type meta struct {
	sm      sageMaker
	s3      objects
	store   *artifacts.Store
	region  string
	role    string
	prices  priceTable
	tags    map[string]string
	workDir string
	// bucket and prefix of the artifact store ("" bucket: not on S3);
	// prefix is "" or ends in "/".
	bucket, prefix string
	// outBucket and outPrefix: where jobs write (prefix ends in "/").
	outBucket, outPrefix string
	// poll is how long Read waits between two looks at a job (tests
	// shorten it).
	poll time.Duration
}

var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)

func attr(name string) cty.Path { return cty.GetAttrPath(name) }

func validateProviderConfig(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var d sdk.Diagnostics
	c := req.Config
	if c.Known("execution_role_arn") && c.IsSet("execution_role_arn") && !roleARN.MatchString(c.GetString("execution_role_arn")) {
		d.AttrErrorf(attr("execution_role_arn"), "Invalid execution_role_arn", "%q is not an IAM role ARN; want arn:aws:iam::ACCOUNT:role/NAME (docs/aws.md says what the role needs).", c.GetString("execution_role_arn"))
	}
	if c.Known("output_path") && c.IsSet("output_path") {
		if _, _, err := s3store.ParseURL(c.GetString("output_path")); err != nil {
			d.AttrErrorf(attr("output_path"), "Invalid output_path", "%v.", err)
		}
	}
	if c.Known("prices") {
		for k, v := range priceMap(c.Attr("prices")) {
			name := strings.TrimSuffix(k, "/spot")
			if !strings.HasPrefix(name, "ml.") || v < 0 {
				d.AttrErrorf(attr("prices").IndexString(k), "Invalid price", "prices maps SageMaker instance types (\"ml.p4d.24xlarge\", or \"ml.p4d.24xlarge/spot\" for the spot price) to a non-negative USD price per hour.")
			}
		}
	}
	return d
}

func priceMap(v cty.Value) map[string]float64 {
	out := map[string]float64{}
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return out
	}
	for k, x := range v.AsValueMap() {
		if !x.IsNull() {
			out[k], _ = x.AsBigFloat().Float64()
		}
	}
	return out
}

func configure(ctx context.Context, req *sdk.ConfigureRequest) (any, sdk.Diagnostics) {
	var d sdk.Diagnostics
	c := req.Config
	wd := req.WorkingDir
	if wd == "" {
		wd, _ = os.Getwd()
	}
	ad := req.ArtifactDir
	if ad == "" {
		ad = filepath.Join(wd, ".llmops", "artifacts")
	}
	store, err := remote.OpenStore(ctx, ad, remote.Config(req.ArtifactStore), remote.Options{Progress: remote.LogProgress(hclog.Default().Named("artifacts"), 5*time.Second)})
	if err != nil {
		d.FromError("Cannot open the artifact store", err)
		return nil, d
	}
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if r := c.GetString("region"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if p := c.GetString("profile"); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		d.AttrErrorf(attr("profile"), "Cannot load the AWS configuration", "%s. Check the profile (it must exist in ~/.aws/config or ~/.aws/credentials) or AWS_PROFILE.", shortErr(err))
		return nil, d
	}
	if cfg.Region == "" {
		d.AttrErrorf(attr("region"), "No AWS region", "Set region in the provider block (or AWS_REGION): SageMaker is regional.")
		return nil, d
	}
	m := &meta{store: store, region: cfg.Region, role: c.GetString("execution_role_arn"), workDir: wd, tags: c.GetStringMap("tags"), poll: 15 * time.Second}
	m.prices = priceTable{region: cfg.Region, overrides: priceMap(c.Attr("prices"))}
	m.sm = sagemaker.NewFromConfig(cfg)
	as := req.ArtifactStore
	m.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if as.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(as.Endpoint)
		}
		o.UsePathStyle = as.PathStyle
	})
	if strings.HasPrefix(as.URL, "s3://") {
		m.bucket, m.prefix, _ = s3store.ParseURL(as.URL)
		m.prefix = slashed(m.prefix)
		m.outBucket, m.outPrefix = m.bucket, m.prefix+"aws/"
	}
	if o := c.GetString("output_path"); o != "" {
		m.outBucket, m.outPrefix, _ = s3store.ParseURL(o)
		m.outPrefix = slashed(m.outPrefix)
	}
	if v := os.Getenv("LLMOPS_AWS_POLL_INTERVAL"); v != "" {
		if p, err := time.ParseDuration(v); err == nil && p > 0 {
			m.poll = p
		}
	}
	sdk.Logger(ctx).Debug("configured", "region", m.region, "bucket", m.bucket, "output", m.outBucket+"/"+m.outPrefix)
	return m, d
}

func slashed(p string) string {
	if p == "" {
		return ""
	}
	return strings.TrimSuffix(p, "/") + "/"
}

func metaOf(v any) *meta {
	m, _ := v.(*meta)
	if m == nil {
		panic("the aws provider was not configured")
	}
	return m
}

// needS3 says what is missing for SageMaker to read inputs and write
// outputs, or nil.
func (m *meta) needS3() sdk.Diagnostics {
	var d sdk.Diagnostics
	if m.bucket == "" {
		d.Errorf("The aws provider needs an S3 artifact store", "SageMaker reads its inputs from S3 and writes its outputs there: set artifacts { url = \"s3://BUCKET/PREFIX\" } in the configuration (docs/artifacts.md), so that the artifact store is in S3.")
	}
	if m.role == "" {
		d.AttrErrorf(attr("execution_role_arn"), "Missing execution_role_arn", "SageMaker runs jobs, models and endpoints as an IAM role: set execution_role_arn in the provider \"aws\" block (docs/aws.md gives the role's policy and trust relationship).")
	}
	return d
}

func (m *meta) s3URI(bucket, key string) string { return fmt.Sprintf("s3://%s/%s", bucket, key) }
