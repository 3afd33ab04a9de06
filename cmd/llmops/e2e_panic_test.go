package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// A panic in a provider's handler is one diagnostic with the first
// frames of the provider's own code, not Go's whole trace (which goes to
// the run's log); a provider process that really dies is one message
// pointing at the log file that holds its panic. Before, the trace (35
// lines) was printed twice, once as an unformatted summary line.
func TestE2EProviderPanic(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "x" {
  input = "hi"
}
`})
	w.must(0, "init")
	env := w.env

	w.env = append(env, "LLMOPS_NULL_TEST_PANIC=handler")
	r := w.must(1, "apply", "-auto-approve")
	out := r.stdout + r.stderr
	if n := strings.Count(out, "Error: The provider panicked"); n != 1 {
		t.Errorf("the panic is reported %d times as a diagnostic, want once:\n%s", n, r)
	}
	for _, want := range []string{"Create of null_value panicked: assignment to entry in nil map", "plugins/null.testPanic (", "plugins/null/provider.go:", "The full stack trace is in"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the diagnostic does not say %q:\n%s", want, r)
		}
	}
	for _, noise := range []string{"goroutine ", "runtime/debug", "google.golang.org/grpc", "plugins/sdk.(*adapter)"} {
		if strings.Contains(out, noise) {
			t.Errorf("the output shows the machinery's frames (%q):\n%s", noise, r)
		}
	}
	if n := strings.Count(out, "assignment to entry in nil map"); n != 2 {
		t.Errorf("the panic value appears %d times, want twice (the summary line and the diagnostic):\n%s", n, r)
	}
	log := lastLog(t, w)
	if !strings.Contains(log, "the provider panicked") || !strings.Contains(log, "runtime/debug.Stack") {
		t.Errorf("the run's log holds no full trace of the panic:\n%s", log)
	}

	w.env = append(env, "LLMOPS_NULL_TEST_PANIC=goroutine")
	r = w.must(1, "apply", "-auto-approve")
	m := regexp.MustCompile(`is in the log file (\S+\.log)\.`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("the death of the provider does not name the log file:\n%s", r)
	}
	b, err := os.ReadFile(m[1])
	if err != nil || !strings.Contains(string(b), "panic: assignment to entry in nil map") {
		t.Errorf("the log file %s does not hold the provider's panic (%v):\n%s", m[1], err, b)
	}
	if n := strings.Count(strings.ToLower(r.stderr), "exited unexpectedly"); n != 1 {
		t.Errorf("stderr says %d times that the provider exited, want once:\n%s", n, r)
	}
}

// lastLog is the newest log of .llmops/logs.
func lastLog(t *testing.T, w *workspace) string {
	t.Helper()
	dir := w.dir + "/.llmops/logs"
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no logs in %s: %v", dir, err)
	}
	b, err := os.ReadFile(dir + "/" + entries[len(entries)-1].Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
