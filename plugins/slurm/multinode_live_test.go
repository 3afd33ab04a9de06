package slurm

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

// A two-node training run on two real slurmd nodes: the command starts
// once per node through srun, each task with its NODE_RANK and the same
// WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and what the tasks write to the
// shared output directory is imported as one model by the job's digest.
func TestLiveMultiNode(t *testing.T) {
	t.Parallel()
	env := needSlurm(t)
	if env.Multi == "" {
		if os.Getenv("LLMOPS_REQUIRE_SERVICES") == "1" {
			t.Fatal("LLMOPS_REQUIRE_SERVICES=1 and the test cluster names no multi-node partition (LLMOPS_TEST_SLURM_MULTI_PARTITION); scripts/slurm-test-env.sh starts one")
		}
		t.Skip("skipped: the test cluster has no multi-node partition; set LLMOPS_TEST_SLURM_MULTI_PARTITION to a partition of two or more nodes")
	}
	h := newHarness(t, map[string]any{"partition": env.Multi})
	h.write("dist.sh", `set -eu
mkdir -p "$LLMOPS_OUTPUT_DIR/model"
echo "$NODE_RANK $WORLD_SIZE $MASTER_ADDR $MASTER_PORT ${SLURMD_NODENAME:-?} $(hostname)" > "$LLMOPS_OUTPUT_DIR/model/rank-$NODE_RANK.txt"
if [ "$NODE_RANK" = 0 ]; then echo '{"loss": 0.5}' > "$LLMOPS_OUTPUT_DIR/metrics.json"; fi
`)
	cfg := trainConfig(h, map[string]any{
		"command":   []string{"bash", "dist.sh"},
		"resources": map[string]any{"gpus": 0, "nodes": 2, "cpus": 1, "memory_gb": 1, "max_duration": "10m"},
	})
	r := h.run("training_run", cfg)
	if r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	st := r.NewState
	if str(st, "status") != "succeeded" {
		t.Fatalf("state: %#v", st)
	}
	id := str(st, "output_model")
	if err := h.store.Verify(artifacts.ID(id)); err != nil {
		t.Fatalf("the digest the job computed is wrong: %v", err)
	}
	var ranks [2][]string
	for i := range ranks {
		ranks[i] = strings.Fields(readStored(t, h, id, "rank-"+string(rune('0'+i))+".txt"))
		if len(ranks[i]) != 6 {
			t.Fatalf("rank %d wrote %q", i, ranks[i])
		}
	}
	t.Logf("rank 0: %v; rank 1: %v", ranks[0], ranks[1])
	for i, r := range ranks {
		if r[0] != string(rune('0'+i)) || r[1] != "2" {
			t.Errorf("rank %d: NODE_RANK %s WORLD_SIZE %s", i, r[0], r[1])
		}
	}
	if ranks[0][2] != ranks[1][2] || ranks[0][3] != ranks[1][3] {
		t.Errorf("the tasks disagree on the master: %s:%s and %s:%s", ranks[0][2], ranks[0][3], ranks[1][2], ranks[1][3])
	}
	if ranks[0][2] != ranks[0][5] {
		t.Errorf("MASTER_ADDR %s is not the host of rank 0 (%s)", ranks[0][2], ranks[0][5])
	}
	if ranks[0][4] == ranks[1][4] || ranks[0][4] == "?" {
		t.Errorf("the two tasks did not run on two Slurm nodes: %s and %s", ranks[0][4], ranks[1][4])
	}
	if d := h.destroy("training_run", st); d.HasErrors() {
		t.Fatal(d.Err())
	}
	// One rank failing fails the run (srun --kill-on-bad-exit stops the
	// other), with the failing rank's words in the log's tail.
	// Rank 1 exits only once its words are in the job's log: srun
	// forwards a task's output and its exit on separate channels, and
	// when it kills the step at once (--kill-on-bad-exit) a line written
	// microseconds before the exit can be lost on a loaded machine. The
	// wait is bounded (10 s) and names what it waited for.
	h.write("fail.sh", `if [ "$NODE_RANK" = 1 ]; then
  echo "rank 1 gives up" >&2
  for i in $(seq 100); do grep -q "rank 1 gives up" "$LLMOPS_OUTPUT_DIR/../job.log" && break; sleep 0.1; done
  grep -q "rank 1 gives up" "$LLMOPS_OUTPUT_DIR/../job.log" || echo "rank 1: my words did not reach job.log in 10 s" >&2
  exit 3
fi
exec sleep 120`)
	cfg = trainConfig(h, map[string]any{
		"command":   []string{"bash", "fail.sh"},
		"resources": map[string]any{"gpus": 0, "nodes": 2, "cpus": 1, "memory_gb": 1, "max_duration": "10m"},
	})
	start := time.Now()
	r = h.run("training_run", cfg)
	if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), "rank 1 gives up") ||
		!strings.Contains(r.Diagnostics.Err().Error(), "exit status 3 on rank 1 of 2") {
		t.Fatalf("a failed rank: %v %#v", r.Diagnostics.Err(), r.NewState)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the run waited %s for the rank that did not fail", d)
	}
	t.Logf("a failed rank: %v", r.Diagnostics.Err())
}
