package main

import (
	"net"
	"strings"
	"testing"
)

// llmops ui refuses what it cannot serve, saying what to do; serving
// itself is tested in a browser (cmd/llmops/ui).
func TestUIRefusals(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "a" { input = "x" }`})
	r := w.must(1, "ui")
	if !strings.Contains(r.stderr, "No state to show") || !strings.Contains(r.stderr, "llmops apply") {
		t.Errorf("ui without a state:\n%s", r)
	}
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	// A port someone holds.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r = w.must(1, "ui", "-listen", ln.Addr().String())
	if !strings.Contains(r.stderr, "Cannot listen on "+ln.Addr().String()) || !strings.Contains(r.stderr, "-listen 127.0.0.1:0") {
		t.Errorf("ui on a port in use:\n%s", r)
	}
	for _, args := range [][]string{{"ui", "extra"}, {"ui", "-poll", "1ms"}} {
		if r := w.must(1, args...); !strings.Contains(r.stderr, "Error") {
			t.Errorf("llmops %v:\n%s", args, r)
		}
	}
	if r := w.must(0, "ui", "-help"); !strings.Contains(r.stdout, "-listen") || !strings.Contains(r.stdout, "LLMOPS_UI_TOKEN") {
		t.Errorf("ui -help:\n%s", r)
	}
}
