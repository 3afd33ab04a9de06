package aws

import (
	"strings"
	"testing"
)

// A sensitive value cannot reach a SageMaker job (its environment and
// command are visible to whoever may describe it): the create is refused
// with a diagnostic on the attribute, the value printed nowhere, and no
// job is created.
func TestE2ESensitiveEnvRefused(t *testing.T) {
	w := newE2E(t)
	w.write("base/config.json", `{"arch": "tiny"}`)
	w.write("main.llmops.hcl", w.header()+`
variable "token" {
  type      = string
  sensitive = true
}
model "base" { source = "file://base" }
training_run "ft" {
  provider   = aws
  base_model = model.base.id
  command    = ["python3", "train.py"]
  env        = { HF_TOKEN = var.token }
  aws { image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4" }
}
`)
	w.extra = []string{"LLMOPS_VAR_token=hf_canary_value_81d2"}
	w.llmops(0, "init")
	r := w.llmops(1, "apply", "-auto-approve")
	if !strings.Contains(r.stderr+r.stdout, "Sensitive value in a SageMaker job") || strings.Contains(r.stderr+r.stdout, "hf_canary_value_81d2") {
		t.Fatalf("want the refusal, without the value: %s", r)
	}
	if n := w.fake.called("CreateTrainingJob"); n != 0 {
		t.Fatalf("CreateTrainingJob called %d times", n)
	}
}
