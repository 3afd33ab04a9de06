package slurm

import (
	"os"
	"strings"
	"testing"
)

// Hybrid placement: with the cluster's node drained, a training run that
// lists [slurm, local] as candidates plans onto the local host, and the
// plan says why Slurm was rejected; with the node back, it plans onto
// Slurm.
func TestE2EPlacementFallsBackToLocal(t *testing.T) {
	w := newE2E(t)
	node := w.env.firstNode(t)
	w.write("base/config.json", "{}")
	w.write("main.llmops.hcl", w.providerBlock(`  price_per_hour = 0
`)+`
provider "local" {
  price_per_hour = 1.5
}

model "base" {
  source = "file://base"
}

training_run "ft" {
  base_model = model.base.id
  command    = ["sh", "-c", "mkdir -p \"$LLMOPS_OUTPUT_DIR/model\" && echo w > \"$LLMOPS_OUTPUT_DIR/model/w\""]
  resources {
    gpus         = 0
    max_duration = "2h"
  }
  placement {
    candidates      = [slurm, local]
    strategy        = "ordered"
    max_hourly_cost = 10
  }
}
`)
	w.llmops(0, "init")
	resume := w.env.drain(t, node, "llmops placement test")
	r := w.llmops(2, "plan", "-detailed-exitcode")
	for _, want := range []string{
		"# placed on local (strategy ordered)",
		"projected cost 3.00 for 2h",
		"# not slurm: partition " + w.env.Partition + " has no usable node",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, r.stdout)
		}
	}
	resume()
	r = w.llmops(2, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "# placed on slurm (strategy ordered)") {
		t.Errorf("with the node back, the run goes to Slurm:\n%s", r.stdout)
	}
	// Over budget: the cheapest strategy with a budget below the local price
	// and Slurm drained leaves nothing, and the plan fails saying why.
	w.env.drain(t, node, "llmops placement test")
	w.write("main.llmops.hcl", strings.Replace(readFile(t, w.dir+"/main.llmops.hcl"), "max_hourly_cost = 10", "max_hourly_cost = 1", 1))
	r = w.llmops(1, "plan")
	if !strings.Contains(r.stderr, "No placement candidate can run training_run.ft") || !strings.Contains(r.stderr, "over budget: 1.50/h > max_hourly_cost 1.00") {
		t.Errorf("an over-budget plan must fail with every reason:\n%s", r.stderr)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
