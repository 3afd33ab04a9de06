package aws

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// Paths inside a SageMaker training container.
const (
	channelRoot   = "/opt/ml/input/data/"
	outputDir     = "/opt/ml/model"             // uploaded as model.tar.gz
	checkpointDir = "/opt/ml/model/checkpoints" // LLMOPS_OUTPUT_DIR/checkpoints, synced to S3
	statusStopped = "stopped"
	statusRunning = "running"
)

// channel is one input channel: an artifact laid out in S3, mounted at
// /opt/ml/input/data/<name>.
type channel struct {
	name, id, file string // file: the name of a file artifact in the view
}

// prepared is what a kind's prepare resolves: channels and the contract
// environment (paths as the container sees them).
type prepared struct {
	channels []channel
	env      jobs.Env
}

// jobKind is what a kind run as a SageMaker training job adds to the
// shared machinery below.
type jobKind struct {
	kind, prefix string
	// identity returns the inputs that decide the result.
	identity func(st sdk.Object) map[string]any
	// prepare resolves the inputs into channels and the environment.
	prepare func(ctx context.Context, m *meta, st sdk.Object) (*prepared, sdk.Diagnostics)
	// finished fills in the computed attributes from the extracted output.
	finished func(ctx context.Context, m *meta, st *sdk.Object, out string) sdk.Diagnostics
	// clear nulls them (a job that did not succeed).
	clear func(st *sdk.Object)
	// adopt sets the configuration's inputs from an imported job.
	adopt func(st *sdk.Object, job *sagemaker.DescribeTrainingJobOutput)
}

// identityOf is the job's identity: the kind's inputs, the command, the
// env and the image (which decide the result); the instance type, spot
// and resources do not.
func (k *jobKind) identityOf(st sdk.Object) (string, error) {
	in := k.identity(st)
	in["command"] = k.argv(st)
	in["env"] = k.userEnv(st)
	in["image"] = nestedString(st.Attr("aws"), "image")
	return jobs.Identity(k.kind, in)
}

func (k *jobKind) argv(st sdk.Object) []string {
	if k.kind == "dataset" {
		return nestedStrings(st.Attr("transform"), "command")
	}
	return st.GetStrings("command")
}

func (k *jobKind) userEnv(st sdk.Object) map[string]string {
	if k.kind == "dataset" {
		return nestedStringMap(st.Attr("transform"), "env")
	}
	return st.GetStringMap("env")
}

// jobName is the SageMaker name of attempt n of the job with this
// identity (at most 63 characters).
func (k *jobKind) jobName(identity string, n int) string {
	name := "llmops-" + jobs.RunID(k.prefix, identity)
	if n > 1 {
		name += "-" + strconv.Itoa(n)
	}
	return name
}

// maxAttempts bounds the names tried for one identity (a failed or
// stopped job's name cannot be reused).
const maxAttempts = 20

func (k *jobKind) create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	if d := m.needS3(); d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	identity, err := k.identityOf(st)
	if err != nil {
		return sdk.ErrorResponse("Cannot compute the job's identity", err)
	}
	st.SetString("identity", identity)
	if k.kind != "dataset" {
		st.SetString("id", jobs.RunID(k.prefix, identity))
	}
	for n := 1; n <= maxAttempts; n++ {
		name := k.jobName(identity, n)
		job, err := m.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: awssdk.String(name)})
		if err == nil {
			switch job.TrainingJobStatus {
			case smtypes.TrainingJobStatusCompleted, smtypes.TrainingJobStatusInProgress:
				// Started before for these inputs (llmops killed after
				// starting it, or the same run elsewhere): adopt it.
				sdk.Logger(ctx).Info("adopted the SageMaker training job already started for these inputs", "job", name)
				st = k.submitted(m, st, name, n)
				return k.follow(ctx, m, st, name, job)
			}
			continue // failed or stopped: a new name
		}
		if !isNotFound(err) {
			return &sdk.Response{Diagnostics: opError("DescribeTrainingJob", "looking for job "+name, err)}
		}
		return k.start(ctx, m, st, req, name, n)
	}
	return sdk.ErrorResponse("Cannot start the job", fmt.Errorf("%d SageMaker jobs for these inputs failed or were stopped; change an input, or remove the old jobs' tags", maxAttempts))
}

// start creates the training job name (attempt n).
func (k *jobKind) start(ctx context.Context, m *meta, st sdk.Object, req *sdk.CreateRequest, name string, n int) *sdk.Response {
	p, d := k.prepare(ctx, m, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	in, d2 := k.input(ctx, m, st, req, p, name)
	d = append(d, d2...)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	if _, err := m.sm.CreateTrainingJob(ctx, in); err != nil {
		return &sdk.Response{Diagnostics: append(d, opError("CreateTrainingJob", fmt.Sprintf("starting the %s job %s on %s", k.kind, name, string(in.ResourceConfig.InstanceType)), err)...)}
	}
	st = k.submitted(m, st, name, n)
	st.SetString("instance_type", string(in.ResourceConfig.InstanceType))
	sdk.Logger(ctx).Info("training job created", "job", name, "instance_type", in.ResourceConfig.InstanceType)
	return &sdk.Response{State: st, Diagnostics: d, Pending: sdk.PendingState(name, "queued",
		fmt.Sprintf("SageMaker training job %s created on %d x %s", name, awssdk.ToInt32(in.ResourceConfig.InstanceCount), in.ResourceConfig.InstanceType))}
}

// submitted records a started (or adopted) job in the state.
func (k *jobKind) submitted(m *meta, st sdk.Object, name string, n int) sdk.Object {
	st.SetString("job_id", name)
	st.SetString("status", statusRunning)
	st.SetString("log_path", m.logLocation(name))
	st.SetString("output_uri", m.s3URI(m.outBucket, m.outPrefix+name+"/output/model.tar.gz"))
	st.SetNull("failure_reason")
	if !st.Known("instance_type") {
		st.SetNull("instance_type")
	}
	for _, a := range []string{"started_at", "finished_at"} {
		if !st.Known(a) {
			st.SetNull(a)
		}
	}
	k.clear(&st)
	return st
}

// logLocation is where SageMaker sends a job's log: CloudWatch Logs.
func (m *meta) logLocation(name string) string {
	return fmt.Sprintf("cloudwatch:%s:/aws/sagemaker/TrainingJobs/%s", m.region, name)
}

// follow turns a described job into the response: pending while it runs,
// the finished object when it completed, drift or an error otherwise.
func (k *jobKind) follow(ctx context.Context, m *meta, st sdk.Object, name string, job *sagemaker.DescribeTrainingJobOutput) *sdk.Response {
	setTime(&st, "started_at", job.TrainingStartTime)
	if t := job.ResourceConfig; t != nil && t.InstanceType != "" {
		st.SetString("instance_type", string(t.InstanceType))
	}
	switch job.TrainingJobStatus {
	case smtypes.TrainingJobStatusInProgress, smtypes.TrainingJobStatusStopping:
		msg := fmt.Sprintf("SageMaker training job %s: %s", name, job.SecondaryStatus)
		if tr := job.SecondaryStatusTransitions; len(tr) > 0 && awssdk.ToString(tr[len(tr)-1].StatusMessage) != "" {
			msg += " (" + awssdk.ToString(tr[len(tr)-1].StatusMessage) + ")"
		}
		return &sdk.Response{State: st, Pending: sdk.PendingState(name, statusRunning, msg)}
	case smtypes.TrainingJobStatusCompleted:
		return k.complete(ctx, m, st, job)
	}
	st = done(st)
	setTime(&st, "finished_at", job.TrainingEndTime)
	k.clear(&st)
	reason := awssdk.ToString(job.FailureReason)
	if reason != "" {
		st.SetString("failure_reason", reason)
	}
	if job.TrainingJobStatus == smtypes.TrainingJobStatusStopped {
		// Stopped outside llmops (the console, the CLI): recorded as it
		// is, and replaced by the next plan (drift), as a cancelled Slurm
		// job is.
		st.SetString("status", statusStopped)
		sdk.Logger(ctx).Warn("the SageMaker training job was stopped outside llmops", "job", name)
		return &sdk.Response{State: st}
	}
	st.SetString("status", jobs.StatusFailed)
	var d sdk.Diagnostics
	if reason == "" {
		reason = "SageMaker gave no reason"
	}
	d.Errorf("The SageMaker training job failed ("+clip(reason, 120)+")", "The %s job %s (%s) failed: %s.\nIts log is in CloudWatch Logs, group /aws/sagemaker/TrainingJobs, streams %s/... (region %s): aws logs tail /aws/sagemaker/TrainingJobs --log-stream-name-prefix %s",
		k.kind, name, awssdk.ToString(job.TrainingJobArn), reason, name, m.region, name)
	return &sdk.Response{State: st, Diagnostics: d}
}

// complete reads the output of a completed job into the object.
func (k *jobKind) complete(ctx context.Context, m *meta, st sdk.Object, job *sagemaker.DescribeTrainingJobOutput) *sdk.Response {
	st = done(st)
	st.SetString("status", jobs.StatusSucceeded)
	setTime(&st, "finished_at", job.TrainingEndTime)
	uri := st.GetString("output_uri")
	if job.ModelArtifacts != nil && awssdk.ToString(job.ModelArtifacts.S3ModelArtifacts) != "" {
		uri = awssdk.ToString(job.ModelArtifacts.S3ModelArtifacts)
		st.SetString("output_uri", uri)
	}
	dir, err := m.fetchOutput(ctx, uri)
	if err != nil {
		st.SetString("status", jobs.StatusFailed)
		k.clear(&st)
		d := errDiags("Cannot read the job's output", err)
		d[len(d)-1].Detail += fmt.Sprintf("\nThe job %s completed, but its output (what it wrote to LLMOPS_OUTPUT_DIR = %s) could not be read. Its log: %s.", awssdk.ToString(job.TrainingJobName), outputDir, st.GetString("log_path"))
		return &sdk.Response{State: st, Diagnostics: d}
	}
	defer os.RemoveAll(dir)
	d := k.finished(ctx, m, &st, dir)
	if d.HasErrors() {
		st.SetString("status", jobs.StatusFailed)
	}
	return &sdk.Response{State: st, Diagnostics: d}
}

// read refreshes an object: a pending one follows its job; a finished one
// exists while its job does.
func (k *jobKind) read(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	name := req.State.GetString("job_id")
	if req.Pending != nil {
		name = req.Pending.Handle
	}
	if name == "" {
		return nil
	}
	job, err := m.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: awssdk.String(name)})
	switch {
	case err != nil && isNotFound(err):
		return sdk.Gone()
	case err != nil && req.Pending != nil:
		// AWS unreachable for now: keep waiting, the job is not lost.
		return &sdk.Response{State: req.State, Pending: sdk.PendingState(name, req.Pending.Status, "cannot reach SageMaker: "+clip(shortErr(err), 200))}
	case err != nil:
		return &sdk.Response{Diagnostics: opError("DescribeTrainingJob", "refreshing job "+name, err)}
	}
	st := req.State
	if req.Pending == nil && st.GetString("status") == "" && k.adopt != nil {
		// Import: the configuration's inputs from the job itself.
		k.adopt(&st, job)
		if id, err := k.identityOf(st); err == nil {
			st.SetString("identity", id)
			if k.kind != "dataset" {
				st.SetString("id", jobs.RunID(k.prefix, id))
			}
		}
		st = k.submitted(m, st, name, 1)
		resp := k.follow(ctx, m, st, name, job)
		resp.Pending = nil // an imported running job is read again by the next refresh
		return resp
	}
	if req.Pending != nil {
		return k.follow(ctx, m, st, name, job)
	}
	if job.TrainingJobStatus == smtypes.TrainingJobStatusStopped && st.GetString("status") == statusRunning {
		st.SetString("status", statusStopped)
		return &sdk.Response{State: st}
	}
	return nil
}

// delete stops the object's job when it still runs. SageMaker keeps
// training jobs as records (they cannot be deleted); their S3 output stays
// for the artifact store's garbage collection to judge.
func (k *jobKind) delete(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m := metaOf(req.Meta)
	name := req.Prior.GetString("job_id")
	if name == "" {
		return nil
	}
	job, err := m.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: awssdk.String(name)})
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return &sdk.Response{Diagnostics: opError("DescribeTrainingJob", "destroying job "+name, err)}
	}
	if job.TrainingJobStatus != smtypes.TrainingJobStatusInProgress {
		return nil
	}
	if _, err := m.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: awssdk.String(name)}); err != nil {
		return &sdk.Response{Diagnostics: opError("StopTrainingJob", "stopping job "+name, err)}
	}
	sdk.Logger(ctx).Info("training job stopped", "job", name)
	return nil
}

// modifyPlan: the identity (and the run id) is known at plan time when the
// configuration is; an object whose job did not succeed (stopped outside
// llmops, failed) is replaced.
func (k *jobKind) modifyPlan(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	planned := req.Planned
	var replace []cty.Path
	if !req.IsCreate() {
		switch req.Prior.GetString("status") {
		case jobs.StatusSucceeded, statusRunning, "":
		default:
			replace = append(replace, attr("status"))
		}
	}
	if (req.IsCreate() || len(replace) > 0) && req.Config.IsWhollyKnown() {
		if identity, err := k.identityOf(planned); err == nil {
			planned.SetString("identity", identity)
			if k.kind != "dataset" {
				planned.SetString("id", jobs.RunID(k.prefix, identity))
			}
		}
	}
	if k.kind == "training_run" && !planned.Known("method") && req.Config.Known("method") && !req.Config.IsSet("method") {
		planned.SetString("method", defaultMethod)
	}
	return &sdk.ModifyPlanResponse{Planned: planned, RequiresReplace: replace}
}

func done(st sdk.Object) sdk.Object {
	if !st.Known("version") {
		st.SetNull("version")
	}
	return st
}

func setTime(st *sdk.Object, name string, t *time.Time) {
	if t == nil || t.IsZero() {
		if !st.Known(name) {
			st.SetNull(name)
		}
		return
	}
	st.SetString(name, t.UTC().Format(time.RFC3339))
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
