package aws

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

const trainingHCL = `
model "base" { source = "file://base" }
dataset "d" {
  source = "file://data.jsonl"
  split  = { train = 0.5, eval = 0.5 }
}
training_run "ft" {
  provider        = aws
  base_model      = model.base.id
  dataset         = dataset.d.id
  command         = ["python3", "train.py"]
  hyperparameters = { epochs = 2, run = "RUN" }
  resources {
    gpus         = 1
    gpu_type     = "T4"
    max_duration = "2h"
  }
  aws {
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4"
    spot  = true
  }
}
evaluation "ev" {
  provider = aws
  model    = training_run.ft.output_model
  dataset  = dataset.d.id
  command  = ["python3", "eval.py"]
  aws { image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4" }
  gate {
    metric = "accuracy"
    min    = 0.8
  }
}
model "sm" {
  provider = aws
  source   = training_run.ft.output_model
  aws { image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:2" }
}
`

// A training run, an evaluation and a model on SageMaker: the job gets its
// inputs as S3 channels and its limits from the configuration, its output
// becomes the run's model and metrics; the model is registered; a model
// deleted behind llmops' back is drift; import adopts a training job;
// destroy leaves no tagged model; the secret key is nowhere.
func TestE2ETrainingJob(t *testing.T) {
	w := newE2E(t)
	w.write("base/config.json", `{"arch": "tiny"}`)
	w.write("data.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n{\"text\": \"d\"}\n")
	// The bucket's name makes the inputs this test's own (moto is shared
	// and keeps the jobs of earlier runs, which would be adopted).
	hcl := strings.ReplaceAll(trainingHCL, "RUN", w.bucket)
	w.write("main.llmops.hcl", w.header()+hcl)
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	res := w.resources()
	ft := res["training_run.ft"]
	if ft["status"] != "succeeded" || !strings.HasPrefix(ft["output_model"].(string), "sha256:") {
		t.Fatalf("training run: %v", ft)
	}
	if ft["instance_type"] != "ml.g4dn.xlarge" || !strings.Contains(ft["log_path"].(string), "/aws/sagemaker/TrainingJobs/") {
		t.Fatalf("instance type or log: %v", ft)
	}
	if m, _ := ft["metrics"].(map[string]any); m["loss"] != 0.25 {
		t.Fatalf("metrics %v, want loss 0.25 from metrics.json", ft["metrics"])
	}
	if ev := res["evaluation.ev"]; ev["passed"] != true || ev["results"].(map[string]any)["accuracy"] != 0.9 {
		t.Fatalf("evaluation: %v", ev)
	}
	sm := res["model.sm"]
	if sm["id"] != ft["output_model"] || !strings.HasPrefix(sm["model_name"].(string), "llmops-model-") {
		t.Fatalf("model: %v", sm)
	}

	// The job as SageMaker holds it.
	smc, s3c := w.clients()
	ctx := context.Background()
	job, err := smc.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: awssdk.String(ft["job_id"].(string))})
	if err != nil {
		t.Fatal(err)
	}
	if got := awssdk.ToInt32(job.StoppingCondition.MaxRuntimeInSeconds); got != 7200 {
		t.Errorf("MaxRuntimeInSeconds %d, want 7200 (max_duration 2h)", got)
	}
	if !awssdk.ToBool(job.EnableManagedSpotTraining) {
		t.Errorf("spot training not enabled")
	}
	if job.Environment["LLMOPS_RESUME_FROM"] != checkpointDir || job.Environment["LLMOPS_BASE_MODEL_PATH"] != "/opt/ml/input/data/model" ||
		job.Environment["LLMOPS_OUTPUT_DIR"] != "/opt/ml/model" || job.Environment["LLMOPS_HPARAMS"] != `{"epochs":2,"run":"`+w.bucket+`"}` {
		t.Errorf("environment: %v", job.Environment)
	}
	channels := map[string]string{}
	for _, c := range job.InputDataConfig {
		channels[awssdk.ToString(c.ChannelName)] = awssdk.ToString(c.DataSource.S3DataSource.S3Uri)
	}
	base := res["model.base"]["id"].(string)
	wantModel := "s3://" + w.bucket + "/llmops/views/" + strings.TrimPrefix(base, "sha256:") + "/"
	if channels["model"] != wantModel || !strings.Contains(channels["dataset"], "/llmops/views/") {
		t.Fatalf("channels %v, want model at %s", channels, wantModel)
	}
	// The base model's view holds its files by name.
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String(w.bucket), Key: awssdk.String("llmops/views/" + strings.TrimPrefix(base, "sha256:") + "/config.json")}); err != nil {
		t.Errorf("the base model's view has no config.json: %v", err)
	}
	tags, _ := smc.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: job.TrainingJobArn})
	if !hasTag(tags.Tags, tagID, ft["identity"].(string)) || !hasTag(tags.Tags, tagAddress, "training_run.ft") {
		t.Errorf("job tags %v", tags.Tags)
	}
	if out := w.llmops(-1, "plan", "-detailed-exitcode"); out.code != 0 {
		t.Fatalf("a second plan must find nothing to do: %s", out)
	}

	// Drift: the SageMaker model deleted behind llmops' back.
	if _, err := smc.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: awssdk.String(sm["model_name"].(string))}); err != nil {
		t.Fatal(err)
	}
	out := w.llmops(2, "plan", "-detailed-exitcode")
	if !strings.Contains(out.stdout, "model.sm") || !strings.Contains(out.stdout, "1 to add") {
		t.Fatalf("the deleted model must be drift and planned again: %s", out)
	}
	w.llmops(0, "apply", "-auto-approve")

	// Import: a second configuration adopts the training job by its name.
	w.write("main.llmops.hcl", w.header()+hcl+strings.ReplaceAll(`
training_run "adopted" {
  provider        = aws
  base_model      = model.base.id
  dataset         = dataset.d.id
  command         = ["python3", "train.py"]
  hyperparameters = { epochs = 2, run = "RUN" }
  resources {
    gpus         = 1
    gpu_type     = "T4"
    max_duration = "2h"
  }
  aws {
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4"
    spot  = true
  }
}
`, "RUN", w.bucket))
	w.llmops(0, "import", "training_run.adopted", ft["job_id"].(string))
	adopted := w.resources()["training_run.adopted"]
	if adopted["identity"] != ft["identity"] || adopted["output_model"] != ft["output_model"] || adopted["status"] != "succeeded" {
		t.Fatalf("imported run: %v\nwant identity %v", adopted, ft["identity"])
	}

	// Destroy: no tagged model is left.
	w.llmops(0, "destroy", "-auto-approve")
	models, err := smc.ListModels(ctx, &sagemaker.ListModelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, mo := range models.Models {
		tags, _ := smc.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: mo.ModelArn})
		if hasTag(tags.Tags, tagID, ft["output_model"].(string)) {
			t.Errorf("model %s is left after destroy", awssdk.ToString(mo.ModelName))
		}
	}
	w.noCanary()
}

func hasTag(tags []smtypes.Tag, k, v string) bool {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == k && awssdk.ToString(t.Value) == v {
			return true
		}
	}
	return false
}
