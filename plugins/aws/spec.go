package aws

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

// defaultMaxDuration is the StoppingCondition of a job without
// resources.max_duration (SageMaker's own default is one day).
const defaultMaxDuration = 24 * 3600

// settings are a job's placement on AWS: the aws block and resources.
type settings struct {
	image         string
	instanceType  string
	count         int64
	spot          bool
	maxRuntime    int64 // seconds
	maxWait       int64 // seconds, spot only
	volumeGB      int64
	gpus          int64
	gpuType       string
	explicitType  bool
	durationGiven bool
}

// settingsOf reads the aws block and resources of an object; endpoint
// picks among types usable for endpoints.
func (m *meta) settingsOf(st sdk.Object, endpoint bool) (settings, sdk.Diagnostics) {
	var d sdk.Diagnostics
	a := st.Attr("aws")
	res := st.Attr("resources")
	s := settings{image: nestedString(a, "image"), instanceType: nestedString(a, "instance_type"), spot: nestedBool(a, "spot"),
		count: nestedInt(a, "instance_count"), volumeGB: nestedInt(a, "volume_size_gb"),
		gpus: nestedInt(res, "gpus"), gpuType: nestedString(res, "gpu_type")}
	if n := nestedInt(res, "nodes"); s.count == 0 && n > 0 {
		s.count = n
	}
	if s.count == 0 {
		s.count = 1
	}
	if s.volumeGB == 0 {
		s.volumeGB = 100
	}
	s.maxRuntime = defaultMaxDuration
	if md := nestedString(res, "max_duration"); md != "" {
		if dur, err := schema.ParseDuration(md); err == nil {
			s.maxRuntime = int64(math.Ceil(dur.Seconds()))
			s.durationGiven = true
		}
	}
	s.maxWait = s.maxRuntime * 2
	if mw := nestedString(a, "max_wait"); mw != "" {
		if dur, err := schema.ParseDuration(mw); err == nil {
			s.maxWait = int64(math.Ceil(dur.Seconds()))
		}
	}
	if s.instanceType != "" {
		s.explicitType = true
		if !m.prices.offered(s.instanceType) {
			d.AttrErrorf(attr("aws").GetAttr("instance_type"), "Instance type not offered in "+m.prices.region, "%s is not offered by SageMaker in %s (built-in table, docs/aws.md): pick another instance_type or region.", s.instanceType, m.prices.region)
		}
		return s, d
	}
	t, err := m.prices.chooseType(s.gpus, s.gpuType, endpoint)
	if err != nil {
		d.AttrErrorf(attr("resources"), "No instance type for these resources", "%v.", err)
		return s, d
	}
	s.instanceType = t
	return s, d
}

// input builds the CreateTrainingJob request of a job.
func (k *jobKind) input(ctx context.Context, m *meta, st sdk.Object, req *sdk.CreateRequest, p *prepared, name string) (*sagemaker.CreateTrainingJobInput, sdk.Diagnostics) {
	s, d := m.settingsOf(st, false)
	if d.HasErrors() {
		return nil, d
	}
	if s.image == "" {
		d.AttrErrorf(attr("aws"), "Missing aws { image }", "SageMaker runs the job in a container: set aws { image = \"ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG\" }, an image holding the command and its dependencies.")
		return nil, d
	}
	envPath := attr("env")
	if k.kind == "dataset" {
		envPath = attr("transform").GetAttr("env")
	}
	extra := k.userEnv(st)
	for _, p := range req.Sensitive {
		if len(p) == 0 {
			continue
		}
		if step, ok := p[0].(cty.GetAttrStep); ok && (step.Name == "env" || step.Name == "hyperparameters" || step.Name == "command" || step.Name == "transform") {
			d.AttrErrorf(p, "Sensitive value in a SageMaker job", "SageMaker shows a training job's command and environment to anyone who may describe the job, so a sensitive value cannot be passed in %s. Have the job read it from AWS Secrets Manager (its role may be allowed to), or run this object on another provider.", step.Name)
		}
	}
	if err := jobs.CheckExtra(extra); err != nil {
		d.AttrErrorf(envPath, "Invalid env", "%v", err)
	}
	if d.HasErrors() {
		return nil, d
	}
	p.env.Extra = extra
	p.env.RunID = jobs.RunID(k.prefix, st.GetString("identity"))
	p.env.OutputDir = outputDir
	if s.spot && p.env.ResumeFrom == "" {
		// After a spot interruption SageMaker restarts the job with the
		// checkpoints it synced to S3 restored here (empty at first).
		p.env.ResumeFrom = checkpointDir
	}
	in := &sagemaker.CreateTrainingJobInput{
		TrainingJobName: awssdk.String(name),
		RoleArn:         awssdk.String(m.role),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{
			TrainingImage: awssdk.String(s.image), TrainingInputMode: smtypes.TrainingInputModeFile,
			ContainerEntrypoint: k.argv(st),
		},
		Environment:       p.env.Vars(),
		OutputDataConfig:  &smtypes.OutputDataConfig{S3OutputPath: awssdk.String(m.s3URI(m.outBucket, strings.TrimSuffix(m.outPrefix, "/")))},
		ResourceConfig:    &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceType(s.instanceType), InstanceCount: awssdk.Int32(int32(s.count)), VolumeSizeInGB: awssdk.Int32(int32(s.volumeGB))},
		StoppingCondition: &smtypes.StoppingCondition{MaxRuntimeInSeconds: awssdk.Int32(int32(s.maxRuntime))},
		Tags:              m.tagsFor(st.GetString("identity"), req.Address),
	}
	if s.spot {
		in.EnableManagedSpotTraining = awssdk.Bool(true)
		in.StoppingCondition.MaxWaitTimeInSeconds = awssdk.Int32(int32(max(s.maxWait, s.maxRuntime)))
		in.CheckpointConfig = &smtypes.CheckpointConfig{S3Uri: awssdk.String(m.s3URI(m.outBucket, m.outPrefix+"checkpoints/"+jobs.RunID(k.prefix, st.GetString("identity")))), LocalPath: awssdk.String(checkpointDir)}
	}
	for _, c := range p.channels {
		uri, err := m.view(ctx, c.id, c.file)
		if err != nil {
			return nil, append(d, errDiags(fmt.Sprintf("Cannot give %s to the job", c.name), err)...)
		}
		in.InputDataConfig = append(in.InputDataConfig, smtypes.Channel{ChannelName: awssdk.String(c.name), InputMode: smtypes.TrainingInputModeFile,
			DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: awssdk.String(uri), S3DataDistributionType: smtypes.S3DataDistributionFullyReplicated}}})
	}
	sort.Slice(in.InputDataConfig, func(i, j int) bool {
		return awssdk.ToString(in.InputDataConfig[i].ChannelName) < awssdk.ToString(in.InputDataConfig[j].ChannelName)
	})
	return in, d
}
