package aws

import (
	"strings"
	"testing"
)

// A running job: apply -wait=false leaves it pending; stopped in the
// console, the next plan records it stopped and replaces it (drift); the
// replacement runs as a new attempt; destroy stops a job that still runs.
func TestE2EJobStoppedOutsideAndDestroyStops(t *testing.T) {
	w := newE2E(t)
	w.write("base/config.json", `{"arch": "tiny"}`)
	w.write("main.llmops.hcl", w.header()+strings.ReplaceAll(`
model "base" { source = "file://base" }
training_run "ft" {
  provider   = aws
  base_model = model.base.id
  command    = ["python3", "train.py", "RUN"]
  aws { image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4" }
}
`, "RUN", w.bucket))
	w.llmops(0, "init")
	// Every job of this test runs until the test says otherwise.
	w.fake.mu.Lock()
	w.fake.holdAll = true
	w.fake.mu.Unlock()
	w.llmops(0, "apply", "-auto-approve", "-wait=false")
	ft := w.resources()["training_run.ft"]
	name, _ := ft["job_id"].(string)
	if ft["status"] != "running" || name == "" {
		t.Fatalf("a job left running: %v", ft)
	}

	// Stopped in the console.
	w.fake.set(w.fake.stopped, name, true)
	r := w.llmops(2, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "training_run.ft") || !strings.Contains(r.stdout, "replace") {
		t.Fatalf("a stopped job must be replaced: %s", r)
	}
	w.llmops(0, "apply", "-auto-approve", "-wait=false")
	ft = w.resources()["training_run.ft"]
	if ft["job_id"] != name+"-2" || ft["status"] != "running" {
		t.Fatalf("the replacement is attempt 2 of the same inputs: %v", ft)
	}

	// Destroy stops the job that runs.
	before := w.fake.called("StopTrainingJob")
	w.llmops(0, "destroy", "-auto-approve")
	if w.fake.called("StopTrainingJob") != before+1 || !w.fake.is(w.fake.stopped, name+"-2") {
		t.Fatalf("destroy must stop the running job %s-2", name)
	}
	w.noCanary()
}
