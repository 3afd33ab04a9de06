package echo_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The tutorial's command, `go test -v -run TestConformance/echo_message
// ./echo`, runs that case's steps: -run filters out the GetSchema and
// ConfigureProvider subtests the case needs, so the suite runs them in
// the parent test (before, every step of the case failed). The test
// binary runs itself with the same filter.
func TestTutorialRunFilter(t *testing.T) {
	if os.Getenv("ECHO_TUTORIAL_CHILD") != "" {
		t.Skip("running as the child")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=TestConformance/echo_message", "-test.v")
	cmd.Env = append(os.Environ(), "ECHO_TUTORIAL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -run TestConformance/echo_message failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"--- PASS: TestConformance/echo_message/ApplyCreate",
		"--- PASS: TestConformance/echo_message/ReadAfterDelete",
		"--- PASS: TestConformance/echo_message_delayed/ApplyCreate",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in the output of the tutorial's command:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "--- SKIP") || strings.Contains(string(out), "data.echo_greeting") {
		t.Errorf("the filter ran other cases or skipped steps:\n%s", out)
	}
}
