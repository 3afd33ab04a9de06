package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultConfig is 200 null_value objects and a training run whose command
// counts its starts in a file.
func faultConfig(counter string) string {
	return fmt.Sprintf(`
resource "null_value" "r" {
  count = 200
  input = { name = "r${count.index}", lr = 0.0002 }
}

model "base" {
  source = "file://base"
}

training_run "ft" {
  base_model = model.base.id
  command = ["sh", "-c", "echo start >> \"$COUNTER\"; sleep 2; mkdir -p \"$LLMOPS_OUTPUT_DIR/model\"; echo w > \"$LLMOPS_OUTPUT_DIR/model/weights\"; echo '{\"loss\": 1}' > \"$LLMOPS_OUTPUT_DIR/metrics.json\""]
  env     = { COUNTER = %q }
  depends_on = [null_value.r]
}
`, counter)
}

// TestE2EFaultInjection kills llmops with SIGKILL at a random moment of an
// apply, for many seeds, and checks that a plain rerun finishes with the
// state matching reality: every object recorded exactly once and ready, the
// training job started exactly once, no lock in the way, nothing left to do.
// LLMOPS_FAULT_SEEDS sets the number of seeds (default 30; the long setting
// is e.g. 300), LLMOPS_FAULT_SEED runs one seed.
func TestE2EFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection takes minutes; run without -short")
	}
	seeds := 30
	if s := os.Getenv("LLMOPS_FAULT_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	first := int64(1)
	if s := os.Getenv("LLMOPS_FAULT_SEED"); s != "" {
		first, _ = strconv.ParseInt(s, 10, 64)
		seeds = 1
	}
	for i := 0; i < seeds; i++ {
		seed := first + int64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			faultRun(t, seed)
		})
	}
}

func faultRun(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	counter := filepath.Join(t.TempDir(), "starts")
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl":  faultConfig(counter),
		"base/config.json": `{"kind": "test"}`,
	})
	w.must(0, "init")
	delay := time.Duration(50+rng.Intn(3500)) * time.Millisecond
	cmd, out := w.start(nil, "apply", "-auto-approve")
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (killed after %s; rerun with LLMOPS_FAULT_SEED=%d): %s\n--- killed apply\n%s", seed, delay, seed, fmt.Sprintf(format, args...), out)
	}
	rerun := w.run("apply", "-auto-approve")
	if rerun.code != 0 {
		fail("the rerun failed:\n%s", rerun)
	}
	r := w.run("show", "-json")
	var doc struct {
		Values struct {
			Resources []struct {
				Address string `json:"address"`
				Status  string `json:"status"`
			} `json:"resources"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		fail("show -json: %v", err)
	}
	seen := map[string]int{}
	for _, res := range doc.Values.Resources {
		seen[res.Address]++
		if res.Status != "ready" {
			fail("%s is %s after the rerun:\n%s", res.Address, res.Status, rerun)
		}
	}
	if len(seen) != 202 {
		fail("the state has %d objects, want 202", len(seen))
	}
	for a, n := range seen {
		if n != 1 {
			fail("%s is recorded %d times", a, n)
		}
	}
	b, _ := os.ReadFile(counter)
	if starts := strings.Count(string(b), "start"); starts != 1 {
		fail("the training job started %d times", starts)
	}
	if r := w.run("plan", "-detailed-exitcode"); r.code != 0 {
		fail("the state does not match the configuration after the rerun:\n%s", r)
	}
}
