package aws

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmops/llmops/internal/testenv"
)

// Hybrid placement over the local host, the Slurm test cluster and AWS:
// the cheapest candidate (AWS) wins, the budget rejects Slurm, and when
// AWS refuses the job at submit time (its quota for the instance type is
// 0) apply falls back to the next candidate, the local host, which is
// where the state then records it; it stays there. The training run
// carries Slurm's partition and an aws {} block: each candidate sees only
// its own.
func TestE2EHybridPlacement(t *testing.T) {
	slurm := testenv.NeedSlurm(t)
	w := newE2E(t)
	w.write("base/config.json", `{"arch": "tiny"}`)
	w.write("main.llmops.hcl", w.header()+fmt.Sprintf(`
provider "aws" {
  alias              = "cloud"
  region             = "us-east-1"
  execution_role_arn = "arn:aws:iam::123456789012:role/llmops-sagemaker"
  prices             = { "ml.m5.xlarge" = 0.5 }
}
provider "slurm" {
  alias          = "onprem"
  url            = %q
  user           = %q
  token_file     = %q
  shared_dir     = %q
  price_per_hour = 20
}
provider "local" {
  price_per_hour = 1
}
model "base" { source = "file://base" }
training_run "ft" {
  base_model = model.base.id
  command    = ["sh", "-c", "mkdir -p \"$LLMOPS_OUTPUT_DIR/model\" && echo w > \"$LLMOPS_OUTPUT_DIR/model/w\" && echo '{\"loss\": 1}' > \"$LLMOPS_OUTPUT_DIR/metrics.json\""]
  partition  = %q
  resources {
    gpus         = 0
    max_duration = "2h"
  }
  aws {
    image         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4"
    instance_type = "ml.m5.xlarge"
  }
  placement {
    candidates      = [slurm.onprem, local, aws.cloud]
    strategy        = "cheapest"
    max_hourly_cost = 10
  }
}
`, slurm.URL, slurm.User, slurm.TokenFile, slurm.Shared, slurm.Partition))
	w.llmops(0, "init")
	w.llmops(0, "validate")
	r := w.llmops(2, "plan", "-detailed-exitcode")
	for _, want := range []string{
		"# placed on aws.cloud (strategy cheapest), can run it now",
		"us-east-1/ml.m5.xlarge, 0.50/h; projected cost 1.00 for 2h",
		"# not slurm.onprem: over budget: 20.00/h > max_hourly_cost 10.00",
		"# not local: dearer (1.00/h) [can run it now, 1.00/h, projected 2.00]",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, r.stdout)
		}
	}

	// AWS refuses at submit time: the run falls back to the local host.
	w.fake.set(w.fake.refuse, "ml.m5.xlarge", true)
	r = w.llmops(0, "apply", "-auto-approve")
	if out := r.stdout + r.stderr; !strings.Contains(out, "placed on local instead") || !strings.Contains(out, "ResourceLimitExceeded") {
		t.Errorf("apply must say it fell back, and why:\n%s", r)
	}
	if w.fake.called("CreateTrainingJob") != 1 {
		t.Errorf("CreateTrainingJob called %d times, want 1 (refused)", w.fake.called("CreateTrainingJob"))
	}
	ft := w.resources()["training_run.ft"]
	if ft["_provider"] != "local" || ft["status"] != "succeeded" {
		t.Fatalf("the run must have run on the local host: %v", ft)
	}
	// It stays where it ran, even once AWS has capacity again.
	w.fake.set(w.fake.refuse, "ml.m5.xlarge", false)
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("a placed object stays where it is: %s", r)
	}
	w.noCanary()
}
