package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runningFrom lists the processes whose executable is under dir.
func runningFrom(dir string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, dir+string(filepath.Separator)) {
			out = append(out, pid)
		}
	}
	return out
}

// A command that runs the engine starts its providers and opens its state
// while it parses the configuration (early.go). When the configuration
// then fails, or does not need what was started, nothing is left running
// or locked, and what the command says is what it said before.
func TestE2EEarlyStartLeavesNothingBehind(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": fiftyNulls})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	providers := filepath.Join(w.dir, ".llmops", "providers")
	noneLeft := func(after string) {
		t.Helper()
		if pids := runningFrom(providers); len(pids) > 0 {
			t.Fatalf("after %s, provider processes %v still run", after, pids)
		}
	}
	noneLeft("apply")

	// A configuration that does not parse: the parse error, exit 1, no
	// provider left running, and the state lock released.
	w.write(map[string]string{"main.llmops.hcl": fiftyNulls + "\nresource \"null_value\" {\n"})
	r := w.must(1, "plan")
	if !strings.Contains(r.stderr, "main.llmops.hcl:") || strings.Contains(r.stderr, "state lock") {
		t.Fatalf("want only the parse error:\n%s", r)
	}
	noneLeft("a plan of a configuration that does not parse")
	w.write(map[string]string{"main.llmops.hcl": fiftyNulls})
	if r := w.must(0, "plan", "-detailed-exitcode", "-lock-timeout=0s"); !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("the state is not as the apply left it, or still locked:\n%s", r)
	}
	noneLeft("a no-op plan")

	// A variable the configuration validates fails after the state was
	// opened and locked early: the same error, the lock released.
	w.write(map[string]string{"vars.llmops.hcl": `variable "n" {
  type    = number
  default = 1
  validation {
    condition     = var.n > 1
    error_message = "n must be more than 1."
  }
}
`})
	if r := w.must(1, "plan"); !strings.Contains(r.stderr, "n must be more than 1.") {
		t.Fatalf("want the validation error:\n%s", r)
	}
	noneLeft("a plan with an invalid variable")
	os.Remove(filepath.Join(w.dir, "vars.llmops.hcl"))

	// The lock file names null, but the configuration and the state no
	// longer need it: the process started for it is stopped.
	w.must(0, "destroy", "-auto-approve")
	w.write(map[string]string{"main.llmops.hcl": "output \"x\" {\n  value = 1\n}\n"})
	if r := w.must(0, "apply", "-auto-approve"); !strings.Contains(r.stdout, "x = 1") {
		t.Fatalf("want the output:\n%s", r)
	}
	noneLeft("an apply that needs no provider")
}
