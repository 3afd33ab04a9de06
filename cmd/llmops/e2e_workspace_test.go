package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/internal/testenv"
)

const workspaceHCL = `
variable "replicas" {
  type    = number
  default = 1
}

resource "null_value" "ep" {
  count = var.replicas
  input = "https://${llmops.workspace}.example/${count.index}"
}

output "first" {
  value = null_value.ep[0].output
}
`

// Two workspaces of one configuration, with different variables, applied
// side by side: each has its own state; select, LLMOPS_WORKSPACE and
// -state choose which; delete refuses a workspace with objects unless
// -force.
func TestE2EWorkspaces(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": workspaceHCL})
	w.must(0, "init")
	if r := w.must(0, "workspace", "show"); strings.TrimSpace(r.stdout) != "default" {
		t.Fatalf("workspace show:\n%s", r)
	}
	r := w.must(0, "apply", "-auto-approve")
	if !strings.Contains(r.stdout, `first = "https://default.example/0"`) {
		t.Fatalf("apply in default:\n%s", r)
	}
	w.must(0, "workspace", "new", "staging")
	if _, err := os.Stat(filepath.Join(w.dir, ".llmops", "workspaces", "staging", "state.db")); err != nil {
		t.Fatalf("no state for staging: %v", err)
	}
	r = w.must(0, "apply", "-auto-approve", "-var", "replicas=2")
	if !strings.Contains(r.stdout, "2 added") || !strings.Contains(r.stdout, `first = "https://staging.example/0"`) {
		t.Fatalf("apply in staging:\n%s", r)
	}
	if r = w.must(0, "workspace", "list"); r.stdout != "  default\n* staging\n" {
		t.Fatalf("workspace list:\n%s", r)
	}
	if r = w.must(0, "state", "list"); strings.Count(r.stdout, "null_value.ep") != 2 {
		t.Fatalf("state list in staging:\n%s", r)
	}
	// LLMOPS_WORKSPACE selects for one command.
	w.env = append(w.env, "LLMOPS_WORKSPACE=default")
	if r = w.must(0, "state", "list"); strings.TrimSpace(r.stdout) != "null_value.ep[0]" {
		t.Fatalf("state list with LLMOPS_WORKSPACE=default:\n%s", r)
	}
	if r = w.must(0, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("default is untouched by staging:\n%s", r)
	}
	w.env = w.env[:len(w.env)-1]
	// -state names one workspace's state explicitly.
	r = w.must(0, "state", "list", "-state", filepath.Join(w.dir, ".llmops", "state.db"))
	if strings.TrimSpace(r.stdout) != "null_value.ep[0]" {
		t.Fatalf("state list -state default's file:\n%s", r)
	}
	w.must(0, "workspace", "select", "default")
	r = w.must(1, "workspace", "delete", "staging")
	if !strings.Contains(r.stderr, "Workspace is not empty") || !strings.Contains(r.stderr, "-force") {
		t.Fatalf("delete of a workspace with objects:\n%s", r)
	}
	w.must(0, "workspace", "delete", "-force", "staging")
	if r = w.must(0, "workspace", "list"); r.stdout != "* default\n" {
		t.Fatalf("workspace list after delete:\n%s", r)
	}
	if r = w.must(1, "workspace", "select", "prod"); !strings.Contains(r.stderr, "No such workspace") {
		t.Fatalf("select of a missing workspace:\n%s", r)
	}
	w.env = append(w.env, "LLMOPS_WORKSPACE=../x")
	if r = w.must(1, "plan"); !strings.Contains(r.stderr, "Invalid workspace") {
		t.Fatalf("plan with a bad LLMOPS_WORKSPACE:\n%s", r)
	}
	w.env = append(w.env[:len(w.env)-1], "LLMOPS_WORKSPACE=prod")
	if r = w.must(1, "plan"); !strings.Contains(r.stderr, "llmops workspace new prod") {
		t.Fatalf("plan in a workspace that does not exist:\n%s", r)
	}
}

// With a PostgreSQL backend, workspaces are rows of the schema (the
// workspace column): two machines see the same workspaces.
func TestE2EPostgresWorkspaces(t *testing.T) {
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	files := map[string]string{"main.llmops.hcl": workspaceHCL + backendBlock(schema)}
	a, b := pgMachine(t, url, files), pgMachine(t, url, files)
	a.must(0, "init")
	a.must(0, "apply", "-auto-approve")
	a.must(0, "workspace", "new", "staging")
	if r := a.must(0, "apply", "-auto-approve", "-var", "replicas=2"); !strings.Contains(r.stdout, `first = "https://staging.example/0"`) {
		t.Fatalf("apply in staging:\n%s", r)
	}
	if r := b.must(0, "workspace", "list"); r.stdout != "* default\n  staging\n" {
		t.Fatalf("workspace list on the other machine:\n%s", r)
	}
	b.must(0, "workspace", "select", "staging")
	if r := b.must(0, "state", "list"); strings.Count(r.stdout, "null_value.ep") != 2 {
		t.Fatalf("state list of staging on the other machine:\n%s", r)
	}
	b.must(0, "workspace", "select", "default")
	if r := b.must(1, "workspace", "delete", "staging"); !strings.Contains(r.stderr, "Workspace is not empty") {
		t.Fatalf("delete of a non-empty workspace:\n%s", r)
	}
	b.must(0, "workspace", "delete", "-force", "staging")
	if r := a.must(0, "workspace", "list"); !strings.Contains(r.stdout, "default") || strings.Contains(r.stdout, "staging") {
		t.Fatalf("workspace list after delete:\n%s", r)
	}
}

// llmops_state reads another configuration's team state through a
// backend "postgres" block, in the workspace it names.
func TestE2EPostgresRemoteStateData(t *testing.T) {
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	platform := pgMachine(t, url, map[string]string{"main.llmops.hcl": workspaceHCL + backendBlock(schema)})
	platform.must(0, "init")
	platform.must(0, "workspace", "new", "staging")
	platform.must(0, "apply", "-auto-approve")
	app := pgMachine(t, url, map[string]string{"main.llmops.hcl": `
data "llmops_state" "platform" {
  workspace = "staging"
  backend "postgres" {
    schema = "` + schema + `"
  }
}
output "endpoint" {
  value = data.llmops_state.platform.outputs.first
}
`})
	app.must(0, "init")
	if r := app.must(0, "apply", "-auto-approve"); !strings.Contains(r.stdout, `endpoint = "https://staging.example/0"`) {
		t.Fatalf("apply reading the team state:\n%s", r)
	}
}

// The artifact store is shared: gc in one workspace keeps what another
// workspace references.
func TestE2EWorkspacesShareArtifacts(t *testing.T) {
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl": `
variable "weights" {
  default = "a"
}
model "m" {
  source = "file://weights-${var.weights}"
}
`,
		"weights-a/config.json": `{"v": "a"}`,
		"weights-b/config.json": `{"v": "b"}`,
	})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.must(0, "workspace", "new", "staging")
	w.must(0, "apply", "-auto-approve", "-var", "weights=b")
	w.must(0, "workspace", "select", "default")
	r := w.must(0, "gc")
	if strings.Contains(r.stdout, "removed sha256:") {
		t.Fatalf("gc in default removed an artifact staging references:\n%s", r)
	}
	// Without staging, its model is garbage.
	w.must(0, "workspace", "delete", "-force", "staging")
	if r = w.must(0, "gc"); strings.Count(r.stdout, "removed sha256:") != 1 {
		t.Fatalf("gc after deleting staging:\n%s", r)
	}
}
