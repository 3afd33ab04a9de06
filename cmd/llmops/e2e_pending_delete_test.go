package main

import (
	"strings"
	"testing"
)

// A provider's Delete may return a pending handle (a remote job being
// cancelled): destroy waits for it, as apply waits for a create, shows
// its status, and removes the object only once the provider reports it
// gone.
func TestE2EDestroyWaitsForPendingDelete(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_job" "train" {
  duration        = "1h"
  cancel_duration = "400ms"
}
`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve", "-wait=false")
	if got := listState(t, w); len(got) != 1 {
		t.Fatalf("state after apply -wait=false: %v", got)
	}
	r := w.must(0, "destroy", "-auto-approve")
	if !strings.Contains(r.stdout, "cancelling") {
		t.Errorf("destroy does not show the pending delete's status:\n%s", r)
	}
	if !strings.Contains(r.stdout, "1 destroyed") {
		t.Errorf("destroy did not finish the delete:\n%s", r)
	}
	if got := listState(t, w); len(got) != 0 {
		t.Errorf("state after destroy: %v", got)
	}
}
