package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestE2ESavedPlanIsRefusedWhenAnythingMoved(t *testing.T) {
	cfg := `
variable "n" { default = 2 }
resource "null_value" "r" {
  count = var.n
  input = count.index
}
`
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": cfg})
	w.must(0, "init")

	// A saved plan applies exactly what it showed.
	w.must(2, "plan", "-out", "p1", "-detailed-exitcode")
	r := w.must(0, "show", "p1")
	if !strings.Contains(r.stdout, "Plan: 2 to add") {
		t.Fatalf("show PLANFILE:\n%s", r)
	}
	r = w.must(0, "apply", "p1")
	if !strings.Contains(r.stdout, "2 added") {
		t.Fatalf("apply PLANFILE:\n%s", r)
	}
	// The state moved on: the same plan file is stale.
	r = w.run("apply", "p1")
	if r.code != 1 || !strings.Contains(r.stderr, "Saved plan is stale") || !strings.Contains(r.stderr, "serial") {
		t.Fatalf("a plan for an older state must be refused:\n%s", r)
	}
	// The configuration changed since the plan was made.
	w.must(2, "plan", "-out", "p2", "-var", "n=3", "-detailed-exitcode")
	w.write(map[string]string{"main.llmops.hcl": cfg + "\n# edited\n"})
	r = w.run("apply", "p2")
	if r.code != 1 || !strings.Contains(r.stderr, "the configuration changed") {
		t.Fatalf("a plan for another configuration must be refused:\n%s", r)
	}
	// A plan file edited by hand (a create turned into a no-op) is refused.
	w.write(map[string]string{"main.llmops.hcl": cfg})
	w.must(2, "plan", "-out", "p4", "-var", "n=3", "-detailed-exitcode")
	b, _ := os.ReadFile(filepath.Join(w.dir, "p4"))
	if !strings.Contains(string(b), `"action":"create"`) {
		t.Fatalf("the plan file has no create to edit:\n%s", b)
	}
	os.WriteFile(filepath.Join(w.dir, "p4"), []byte(strings.Replace(string(b), `"action":"create"`, `"action":"no-op"`, 1)), 0o600)
	r = w.run("apply", "p4")
	if r.code != 1 || !strings.Contains(r.stderr, "Cannot read the plan file") || !strings.Contains(r.stderr, "modified after it was written") {
		t.Fatalf("an edited plan file must be refused:\n%s", r)
	}
	// A provider binary changed since the plan was made.
	w.write(map[string]string{"main.llmops.hcl": cfg})
	plugDir := filepath.Join(w.dir, ".llmops", "plugins")
	os.MkdirAll(plugDir, 0o755)
	src, _ := os.ReadFile(filepath.Join(binDir, "llmops-provider-null"))
	os.WriteFile(filepath.Join(plugDir, "llmops-provider-null"), src, 0o755)
	w.must(0, "init", "-upgrade")
	w.must(2, "plan", "-out", "p3", "-var", "n=3", "-detailed-exitcode")
	os.WriteFile(filepath.Join(plugDir, "llmops-provider-null"), append(src, 0), 0o755)
	w.must(0, "init", "-upgrade")
	r = w.run("apply", "p3")
	if r.code != 1 || !strings.Contains(r.stderr, "a provider changed") || !strings.Contains(r.stderr, "null") {
		t.Fatalf("a plan made with another provider binary must be refused:\n%s", r)
	}
}

func TestE2EFmtValidateGraphProviders(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": "resource \"null_value\" \"a\" {\ninput=1\n  }\nresource \"null_value\" \"b\" {\n  input = null_value.a.id\n}\n"})
	w.must(0, "init")
	r := w.must(3, "fmt", "-check", "-diff")
	if !strings.Contains(r.stdout, "main.llmops.hcl") || !strings.Contains(r.stdout, "+  input = 1") {
		t.Fatalf("fmt -check -diff:\n%s", r)
	}
	w.must(0, "fmt")
	w.must(0, "fmt", "-check")
	r = w.must(0, "validate", "-json")
	if !strings.Contains(r.stdout, `"valid": true`) {
		t.Fatalf("validate -json:\n%s", r)
	}
	r = w.must(0, "graph")
	if !strings.Contains(r.stdout, `"null_value.b" -> "null_value.a"`) {
		t.Fatalf("graph:\n%s", r)
	}
	r = w.must(0, "providers")
	if !strings.Contains(r.stdout, "provider null") || !strings.Contains(r.stdout, "null_value: id (computed)") {
		t.Fatalf("providers:\n%s", r)
	}
	r = w.must(0, "version")
	if !strings.HasPrefix(r.stdout, "llmops v") {
		t.Fatalf("version: %s", r.stdout)
	}
	r = w.must(0, "-help")
	if !strings.Contains(r.stdout, "Usage: llmops") {
		t.Fatalf("-help: %s", r.stdout)
	}
	r = w.must(0, "plan", "-help")
	if !strings.Contains(r.stdout, "-detailed-exitcode") {
		t.Fatalf("plan -help: %s", r.stdout)
	}
}
