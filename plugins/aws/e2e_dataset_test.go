package aws

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// A dataset transform on SageMaker: the source is the job's `input`
// channel, the data it writes becomes the dataset, split as everywhere.
func TestE2EDatasetTransform(t *testing.T) {
	w := newE2E(t)
	w.fake.container = func(map[string]any) map[string]string {
		return map[string]string{"data.jsonl": "{\"text\": \"A\"}\n{\"text\": \"B\"}\n{\"text\": \"C\"}\n"}
	}
	w.write("raw.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n# "+w.bucket+"\n")
	w.write("main.llmops.hcl", w.header()+`
dataset "clean" {
  provider = aws
  source   = "file://raw.jsonl"
  format   = "jsonl"
  split    = { train = 0.5, eval = 0.5 }
  transform {
    command = ["python3", "clean.py"]
  }
  aws { image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1" }
}
`)
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	d := w.resources()["dataset.clean"]
	if d["status"] != "succeeded" || d["rows"] != 3.0 || !strings.HasPrefix(d["id"].(string), "sha256:") || len(d["splits"].(map[string]any)) != 2 {
		t.Fatalf("dataset: %v", d)
	}
	smc, _ := w.clients()
	job, err := smc.DescribeTrainingJob(context.Background(), &sagemaker.DescribeTrainingJobInput{TrainingJobName: awssdk.String(d["job_id"].(string))})
	if err != nil {
		t.Fatal(err)
	}
	if len(job.InputDataConfig) != 1 || awssdk.ToString(job.InputDataConfig[0].ChannelName) != "input" || job.Environment["LLMOPS_INPUT_PATH"] != "/opt/ml/input/data/input/data.jsonl" {
		t.Fatalf("channels %v, environment %v", job.InputDataConfig, job.Environment)
	}
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("a second plan must find nothing to do: %s", r)
	}
}
