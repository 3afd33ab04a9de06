package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const lifecycleHCL = `
variable "env" {
  type    = string
  default = "dev"
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}
variable "replicas" {
  type    = number
  default = 3
}
variable "generation" {
  type    = string
  default = "g1"
}
variable "api_key" {
  type      = string
  sensitive = true
  default   = "s3cr3t-value-123"
}

locals {
  prefix = "${var.env}-llm"
  shards = toset(["a", "b", "c", "d"])
}

resource "null_value" "base" {
  input = { name = local.prefix, lr = 0.0002, epochs = 3 }
}

resource "null_value" "shard" {
  for_each         = local.shards
  input            = "${local.prefix}-${each.key}"
  triggers_replace = var.generation
}

resource "null_value" "worker" {
  count = 10
  input = { id = count.index, parent = null_value.base.output.name }
}

resource "null_value" "replica" {
  count = var.replicas
  input = "${null_value.base.id}-${count.index}"
}

resource "null_value" "gate" {
  input      = "gate"
  depends_on = [null_value.worker]
}

resource "null_value" "secret" {
  input = var.api_key
}

resource "null_value" "extra" {
  count = 2
  input = file("data.txt")
}

output "prefix" {
  value = local.prefix
}

output "shard_ids" {
  value = { for k, v in null_value.shard : k => v.id }
}

output "key" {
  value     = var.api_key
  sensitive = true
}
`

func TestE2ELifecycle(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": lifecycleHCL, "data.txt": "hello"})
	var all strings.Builder
	record := func(r result) result { all.WriteString(r.stdout + r.stderr); return r }

	record(w.must(0, "init"))
	// Without a state key, a plan that would store the secret is refused.
	r0 := record(w.must(1, "plan"))
	if !strings.Contains(r0.stderr, "A state key is needed to store sensitive values") || !strings.Contains(r0.stderr, "null_value.secret.input") || !strings.Contains(r0.stderr, "output.key") {
		t.Fatalf("plan without a key:\n%s", r0)
	}
	key := strings.TrimSpace(w.must(0, "state", "keygen").stdout)
	w.env = append(w.env, "LLMOPS_STATE_KEY="+key)
	if _, err := os.Stat(filepath.Join(w.dir, ".llmops.lock.hcl")); err != nil {
		t.Fatal("init wrote no lock file")
	}
	r := record(w.must(2, "plan", "-detailed-exitcode"))
	if !strings.Contains(r.stdout, "Plan: 22 to add, 0 to change, 0 to replace, 0 to destroy.") {
		t.Fatalf("first plan:\n%s", r)
	}
	r = record(w.must(0, "apply", "-auto-approve"))
	if !strings.Contains(r.stdout, "Apply complete! Resources: 22 added, 0 changed, 0 replaced, 0 destroyed.") {
		t.Fatalf("apply:\n%s", r)
	}
	if !regexp.MustCompile(`null_value\.base: Creation complete after \d+s \[id=`).MatchString(r.stdout) {
		t.Fatalf("no progress line for null_value.base:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "key = <sensitive>") || !strings.Contains(r.stdout, `prefix = "dev-llm"`) {
		t.Fatalf("outputs after apply:\n%s", r.stdout)
	}

	r = record(w.must(0, "plan", "-detailed-exitcode"))
	if !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("re-plan:\n%s", r)
	}

	// One variable changes: exactly the dependents of local.prefix change.
	r = record(w.must(2, "plan", "-detailed-exitcode", "-var", "env=prod"))
	if !strings.Contains(r.stdout, "Plan: 0 to add, 15 to change, 0 to replace, 0 to destroy.") {
		t.Fatalf("plan env=prod:\n%s", r)
	}
	for _, want := range []string{
		"# null_value.base will be updated in place",
		`# null_value.shard["a"] will be updated in place`,
		"# null_value.worker[9] will be updated in place",
		`~ name   = "dev-llm" -> "prod-llm"`,
		`~ prefix = "dev-llm" -> "prod-llm"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan env=prod lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "null_value.replica") || strings.Contains(r.stdout, "null_value.gate ") {
		t.Errorf("plan env=prod touches objects that do not depend on env:\n%s", r.stdout)
	}

	r = record(w.must(2, "plan", "-detailed-exitcode", "-var", "generation=g2"))
	if !strings.Contains(r.stdout, "Plan: 0 to add, 0 to change, 4 to replace, 0 to destroy.") ||
		!strings.Contains(r.stdout, `# null_value.shard["c"] must be replaced (a change to triggers_replace forces replacement)`) ||
		!strings.Contains(r.stdout, "# forces replacement") {
		t.Fatalf("plan generation=g2:\n%s", r)
	}

	r = record(w.must(2, "plan", "-detailed-exitcode", "-var", "replicas=1"))
	if !strings.Contains(r.stdout, "Plan: 0 to add, 0 to change, 0 to replace, 2 to destroy.") ||
		!strings.Contains(r.stdout, "# null_value.replica[2] will be destroyed (index [2] is beyond the count)") {
		t.Fatalf("plan replicas=1:\n%s", r)
	}

	// Environment variables win over -var (docs/architecture.md, section 2.2).
	w.env = append(w.env, "LLMOPS_VAR_env=prod")
	r = record(w.must(0, "apply", "-auto-approve", "-var", "env=dev"))
	if !strings.Contains(r.stdout, "15 changed") {
		t.Fatalf("apply with LLMOPS_VAR_env=prod:\n%s", r)
	}
	r = record(w.must(0, "plan", "-detailed-exitcode"))
	if !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("re-plan after env=prod:\n%s", r)
	}
	r = w.must(0, "output", "key") // asked for by name: the one place it may appear
	if strings.TrimSpace(r.stdout) != `"s3cr3t-value-123"` {
		t.Fatalf("output key by name: %q", r.stdout)
	}
	r = record(w.must(0, "output"))
	if !strings.Contains(r.stdout, "key = <sensitive>") || strings.Contains(r.stdout, "s3cr3t") {
		t.Fatalf("output:\n%s", r.stdout)
	}
	record(w.must(0, "show"))
	record(w.must(0, "show", "-json"))
	r = record(w.must(0, "state", "list"))
	if n := len(strings.Fields(r.stdout)); n != 22 {
		t.Fatalf("state list has %d lines:\n%s", n, r.stdout)
	}

	r = record(w.must(0, "destroy", "-auto-approve"))
	if !strings.Contains(r.stdout, "Destroy complete! Resources: 22 destroyed.") {
		t.Fatalf("destroy:\n%s", r)
	}
	r = w.must(0, "state", "list")
	if strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("state not empty after destroy:\n%s", r.stdout)
	}
	if strings.Contains(all.String(), "s3cr3t-value-123") {
		t.Fatalf("the sensitive value appeared in output:\n%s", all.String())
	}
	// Nor is it anywhere on disk: state, backups, logs.
	filepath.WalkDir(filepath.Join(w.dir, ".llmops"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "s3cr3t-value-123") {
				t.Errorf("the sensitive value is stored in clear in %s", p)
			}
		}
		return nil
	})
}

func TestE2EConcurrentApplyReportsLockHolder(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "slow" {
  count = 3
  input = count.index
}
`})
	w.must(0, "init")
	slow := exec.Command(filepath.Join(binDir, "llmops"), "apply", "-auto-approve")
	slow.Dir = w.dir
	slow.Env = append(w.env, "LLMOPS_NULL_TEST_SLEEP=3s")
	var out strings.Builder
	slow.Stdout, slow.Stderr = &out, &out
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first apply holds the lock (it prints its plan first).
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Creating...") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r := w.run("apply", "-auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "Error acquiring the state lock") || !strings.Contains(r.stderr, "for \"apply\"") || !strings.Contains(r.stderr, "force-unlock") {
		t.Fatalf("second apply should fail naming the holder:\n%s", r)
	}
	if err := slow.Wait(); err != nil {
		t.Fatalf("first apply failed: %v\n%s", err, out.String())
	}
	r = w.must(0, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("after the first apply:\n%s", r)
	}
	r = w.must(0, "state", "list")
	if n := len(strings.Fields(r.stdout)); n != 3 {
		t.Fatalf("state has %d objects, want 3", n)
	}
}

// create_before_destroy records the old object as deposed before creating
// its replacement: when the old object's destroy fails, it stays in the
// state, every plan shows it, and the next apply destroys it. When the
// replacement's create makes nothing, the old object is current again.
func TestE2ECreateBeforeDestroyDeposesTheOldObject(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
variable "gen" {
  default = "g1"
}

resource "null_value" "a" {
  input            = "x"
  triggers_replace = var.gen
  lifecycle {
    create_before_destroy = true
  }
}

resource "null_value" "b" {
  input = null_value.a.output
}

output "a_id" {
  value = null_value.a.id
}
`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	id1 := currentID(w, "null_value.a")
	env := w.env

	// The replacement is created; destroying the old object fails.
	w.env = append(env, "LLMOPS_NULL_TEST_FAIL_DESTROY=1")
	r := w.must(1, "apply", "-auto-approve", "-var", "gen=g2")
	m := regexp.MustCompile(`stays in the state as deposed object ([0-9a-f]{8})`).FindStringSubmatch(r.stdout + r.stderr)
	if m == nil || !strings.Contains(r.stdout+r.stderr, id1) {
		t.Fatalf("the failed destroy of the old object:\n%s", r)
	}
	key := m[1]
	w.env = env
	id2 := currentID(w, "null_value.a")
	if id2 == id1 || id2 == "" {
		t.Fatalf("the replacement is not current: %q then %q", id1, id2)
	}
	r = w.must(2, "plan", "-detailed-exitcode", "-var", "gen=g2")
	for _, want := range []string{
		"# null_value.a (deposed object " + key + ") will be destroyed (the old object of a create_before_destroy replacement",
		id1,
		"Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("the plan does not show %q:\n%s", want, r)
		}
	}
	var doc struct {
		Changes []struct {
			Address, Action, Reason, Deposed string
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(w.must(0, "plan", "-json", "-var", "gen=g2").stdout), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range doc.Changes {
		if c.Deposed != "" {
			found = c.Address == "null_value.a" && c.Action == "delete" && c.Reason == "deposed" && c.Deposed == key
		}
	}
	if !found {
		t.Fatalf("plan -json has no deposed change: %+v", doc.Changes)
	}
	// A saved plan carries it too.
	w.must(0, "plan", "-out", "p.plan", "-var", "gen=g2")
	r = w.must(0, "apply", "p.plan")
	if !strings.Contains(r.stdout, "0 added, 0 changed, 0 replaced, 1 destroyed") {
		t.Fatalf("applying the deposed object's destroy:\n%s", r)
	}
	w.must(0, "plan", "-detailed-exitcode", "-var", "gen=g2")
	if id := currentID(w, "null_value.a"); id != id2 {
		t.Fatalf("after destroying the deposed object a_id is %q, want %q", id, id2)
	}

	// The replacement's create fails with nothing made (the provider dies
	// during it): the old object is current again and nothing is deposed.
	w.env = append(env, "LLMOPS_NULL_TEST_CRASH_AFTER=1")
	w.must(1, "apply", "-auto-approve", "-var", "gen=g3")
	w.env = env
	if id := currentID(w, "null_value.a"); id != id2 {
		t.Fatalf("after a failed replacement a_id is %q, want the old %q", id, id2)
	}
	r = w.must(2, "plan", "-detailed-exitcode", "-var", "gen=g3")
	if strings.Contains(r.stdout, "deposed") || !strings.Contains(r.stdout, "1 to replace, 0 to destroy.") {
		t.Fatalf("after a failed replacement:\n%s", r)
	}
	w.must(0, "apply", "-auto-approve", "-var", "gen=g3")
	w.must(0, "plan", "-detailed-exitcode", "-var", "gen=g3")
}

// currentID is the id of the current object at addr, from show -json.
func currentID(w *workspace, addr string) string {
	w.t.Helper()
	var doc struct {
		Values struct {
			Resources []struct {
				Address string         `json:"address"`
				Values  map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(w.must(0, "show", "-json").stdout), &doc); err != nil {
		w.t.Fatal(err)
	}
	for _, r := range doc.Values.Resources {
		if r.Address == addr {
			id, _ := r.Values["id"].(string)
			return id
		}
	}
	return ""
}
