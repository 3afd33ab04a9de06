package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

const maintHCL = `
variable "gen" {
  default = "a"
}

resource "null_value" "parent" {
  input = "base-${var.gen}"
}

resource "null_value" "child" {
  input = { from = null_value.parent.id, note = "child" }
}
`

// Lineage is per instance: with a for_each sweep, the object made from
// sweep["hi"] names that instance only, in `lineage` and `graph -lineage`,
// although the state records its dependency on the whole resource.
func TestE2ELineagePerInstance(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
locals {
  rates = { lo = 0.0001, hi = 0.001 }
}

resource "null_value" "sweep" {
  for_each = local.rates
  input    = { learning_rate = each.value }
}

resource "null_value" "e" {
  for_each = local.rates
  input    = { model = null_value.sweep[each.key].id }
}

resource "null_value" "prod" {
  input      = null_value.sweep["hi"].id
  depends_on = [null_value.e]
}
`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	r := w.must(0, "lineage", `null_value.e["hi"]`)
	if !strings.Contains(r.stdout, `null_value.sweep["hi"]`) || strings.Contains(r.stdout, `null_value.sweep["lo"]`) {
		t.Fatalf("the lineage of e[\"hi\"] must name sweep[\"hi\"] and not sweep[\"lo\"]:\n%s", r.stdout)
	}
	r = w.must(0, "lineage", "null_value.prod")
	if strings.Contains(r.stdout, `["lo"]`) || !strings.Contains(r.stdout, `null_value.e["hi"]`) {
		t.Fatalf("prod serves sweep[\"hi\"]'s value: its lineage names the hi instances only:\n%s", r.stdout)
	}
	r = w.must(0, "graph", "-lineage")
	for _, want := range []string{`"null_value.sweep[\"hi\"]" -> "null_value.e[\"hi\"]"`, `"null_value.sweep[\"lo\"]" -> "null_value.e[\"lo\"]"`} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("graph -lineage lacks %s:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{`"null_value.sweep[\"lo\"]" -> "null_value.e[\"hi\"]"`, `"null_value.sweep[\"lo\"]" -> "null_value.prod"`} {
		if strings.Contains(r.stdout, bad) {
			t.Fatalf("graph -lineage has the edge %s, which does not exist:\n%s", bad, r.stdout)
		}
	}
}

func TestE2EHistoryDiffRollback(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": maintHCL})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")                  // serial 1: gen a
	w.must(0, "apply", "-auto-approve", "-var", "gen=b") // serial 2: gen b

	r := w.must(0, "history")
	if !strings.Contains(r.stdout, "apply -auto-approve -var=...") || strings.Count(r.stdout, "\n") != 3 {
		t.Fatalf("history:\n%s", r.stdout)
	}
	r = w.must(0, "history", "null_value.parent")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], " 1 ") || !strings.Contains(lines[2], "current") {
		t.Fatalf("object history:\n%s", r.stdout)
	}
	r = w.must(0, "diff", "1", "2")
	if !strings.Contains(r.stdout, `~ input  = "base-a" -> "base-b"`) || strings.Contains(r.stdout, "null_value.child") {
		t.Fatalf("diff:\n%s", r.stdout)
	}
	r = w.must(0, "show", "-version", "1", "null_value.parent")
	if !strings.Contains(r.stdout, `"base-a"`) || strings.Contains(r.stdout, "child") {
		t.Fatalf("show -version 1:\n%s", r.stdout)
	}
	r = w.must(0, "lineage", "null_value.child")
	if !strings.Contains(r.stdout, "└── null_value.parent") {
		t.Fatalf("lineage:\n%s", r.stdout)
	}
	r = w.must(0, "graph", "-lineage")
	if !strings.Contains(r.stdout, `"null_value.parent" -> "null_value.child"`) {
		t.Fatalf("graph -lineage:\n%s", r.stdout)
	}
	if _, err := exec.LookPath("dot"); err == nil {
		r = w.must(0, "graph", "-lineage", "-format", "svg")
		if !strings.Contains(r.stdout, "<svg") || !strings.Contains(r.stdout, "null_value.parent") {
			t.Fatalf("graph -lineage -format svg:\n%s", r.stdout)
		}
	} else {
		t.Log("Graphviz is not installed: the SVG output is not checked (CI installs it)")
	}

	// Roll the parent back to serial 1.
	r = w.must(0, "rollback", "null_value.parent", "--to", "1", "-auto-approve", "-var", "gen=b")
	if !strings.Contains(r.stdout, "Rolled back to state version 1") {
		t.Fatalf("rollback:\n%s", r)
	}
	r = w.must(0, "state", "show", "null_value.parent")
	if !strings.Contains(r.stdout, `"base-a"`) {
		t.Fatalf("after rollback:\n%s", r.stdout)
	}
	// The configuration still says gen=b: the plan keeps the rollback and says so.
	r = w.must(0, "plan", "-detailed-exitcode", "-var", "gen=b")
	if !strings.Contains(r.stdout, "null_value.parent was rolled back to serial 1 by rollback; the configuration declares serial 2's input") {
		t.Fatalf("plan after rollback:\n%s", r.stdout)
	}
	// --release: the next plan rolls forward.
	w.must(0, "rollback", "--release", "null_value.parent")
	r = w.must(2, "plan", "-detailed-exitcode", "-var", "gen=b")
	if !strings.Contains(r.stdout, "# null_value.parent will be updated in place") {
		t.Fatalf("plan after release:\n%s", r.stdout)
	}
	// A rollback followed by a change to the block's configuration ends the pin.
	w.must(0, "rollback", "null_value.parent", "--previous", "-auto-approve", "-var", "gen=b")
	w.write(map[string]string{"main.llmops.hcl": strings.Replace(maintHCL, `"base-${var.gen}"`, `"base2-${var.gen}"`, 1)})
	r = w.must(2, "plan", "-detailed-exitcode", "-var", "gen=b")
	if !strings.Contains(r.stdout, "its configuration has changed since: the rollback no longer holds") {
		t.Fatalf("plan after a config change:\n%s", r.stdout)
	}
}

func TestE2EImportAndShowJSON(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "adopted" {}`})
	w.must(0, "init")
	r := w.must(0, "import", "null_value.adopted", "existing-42")
	if !strings.Contains(r.stdout, "Imported null_value.adopted") {
		t.Fatalf("import:\n%s", r)
	}
	r = w.must(0, "show", "-json")
	var doc struct {
		Values struct {
			Resources []struct {
				Address string         `json:"address"`
				Values  map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"values"`
		Reproducibility []any `json:"reproducibility"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("show -json: %v\n%s", err, r.stdout)
	}
	if len(doc.Values.Resources) != 1 || doc.Values.Resources[0].Values["id"] != "existing-42" {
		t.Fatalf("imported object: %+v", doc.Values.Resources)
	}
	w.must(1, "import", "null_value.adopted", "again")
}

func TestE2EGCKeepsWhatStateReferences(t *testing.T) {
	w := newWorkspace(t, map[string]string{})
	store, err := artifacts.Open(filepath.Join(w.dir, ".llmops", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := store.PutBytes([]byte("model weights, first version"))
	second, _ := store.PutBytes([]byte("model weights, second version"))
	stray, _ := store.PutBytes([]byte("never referenced"))
	cfg := func(id string) string {
		return `resource "null_value" "m" { input = { model = "` + id + `" } }`
	}
	w.write(map[string]string{"main.llmops.hcl": cfg(first.ID.String())})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.write(map[string]string{"main.llmops.hcl": cfg(second.ID.String())})
	w.must(0, "apply", "-auto-approve")

	r := w.must(0, "gc", "-dry-run")
	if !strings.Contains(r.stdout, "would remove "+stray.ID.String()) || strings.Contains(r.stdout, first.ID.String()) {
		t.Fatalf("gc -dry-run keeping all versions:\n%s", r.stdout)
	}
	if !store.Has(stray.ID) {
		t.Fatal("dry run removed something")
	}
	r = w.must(0, "gc", "--keep", "1")
	if !strings.Contains(r.stdout, "removed "+first.ID.String()) || !strings.Contains(r.stdout, "Freed") {
		t.Fatalf("gc --keep 1:\n%s", r.stdout)
	}
	if store.Has(first.ID) || store.Has(stray.ID) || !store.Has(second.ID) {
		t.Fatalf("gc removed the wrong artifacts: first=%v stray=%v second=%v", store.Has(first.ID), store.Has(stray.ID), store.Has(second.ID))
	}
}

// Rolling back an object with sensitive values restores them from the old
// version's sealed values, and keeps them sensitive wherever the provider
// copied them: the rolled-back object shows (sensitive) in input and
// output, and the secret is nowhere in the state database in clear.
// (Rollback restored them as null, and the next rollback then stored the
// copy in output in clear.) diff compares the sealed values too.
func TestE2ERollbackKeepsSecrets(t *testing.T) {
	const secret = "sk-rollback-secret-0123456789"
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
variable "api_key" {
  type      = string
  sensitive = true
}
variable "user" {
  default = "svc"
}
resource "null_value" "secret" {
  input = { key = var.api_key, user = var.user }
}
`})
	w.env = append(w.env, "LLMOPS_STATE_KEY=6zBTWM5G6mi51I6v9+XecbdiLLZpb/rPhW83a5P0Xhk=", "LLMOPS_VAR_api_key="+secret)
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")                                           // serial 1
	w.must(0, "apply", "-auto-approve", "-var", "user=svc2")                      // serial 2
	r := w.must(0, "rollback", "null_value.secret", "--to", "1", "-auto-approve") // serial 3
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("the rollback printed the secret:\n%s", r)
	}
	check := func(when string) {
		t.Helper()
		s := w.must(0, "state", "show", "null_value.secret").stdout
		if strings.Count(s, "key  = (sensitive)") != 2 || strings.Contains(s, "= null") || strings.Contains(s, secret) {
			t.Fatalf("%s, the object should keep its key, sensitive in input and output:\n%s", when, s)
		}
		db, err := os.ReadFile(filepath.Join(w.dir, ".llmops", "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(db), secret) {
			t.Fatalf("%s, the state database holds the secret in clear", when)
		}
	}
	check("after a rollback")
	w.must(0, "rollback", "null_value.secret", "--to", "2", "-auto-approve") // serial 4
	check("after a second rollback")
	// The restored key is the real one: rolling forward to the
	// configuration changes the user only.
	w.must(0, "rollback", "--release", "null_value.secret")
	p := w.must(2, "plan", "-detailed-exitcode", "-var", "user=svc3").stdout
	if !strings.Contains(p, `~ user = "svc2" -> "svc3"`) || strings.Contains(p, "+ key") || !strings.Contains(p, "# (1 unchanged element hidden)") {
		t.Fatalf("after the rollbacks the key should be unchanged:\n%s", p)
	}
	// diff compares sealed values with the key: an unchanged key is
	// hidden, a rotated one shows as changed, never in clear.
	d := w.must(0, "diff", "1", "2").stdout
	if !strings.Contains(d, "# (1 unchanged element hidden)") || strings.Contains(d, "key") {
		t.Fatalf("diff 1 2 changed only the user:\n%s", d)
	}
	w.env = append(w.env, "LLMOPS_VAR_api_key=sk-rotated-9876543210")
	w.must(0, "apply", "-auto-approve", "-var", "user=svc2") // serial 5
	d = w.must(0, "diff", "4", "5").stdout
	if !strings.Contains(d, "~ key  = (sensitive) -> (sensitive)") || strings.Contains(d, secret) || strings.Contains(d, "sk-rotated") {
		t.Fatalf("diff 4 5 should show the rotated key, sensitive:\n%s", d)
	}
}

// An unknown state subcommand is refused before the state is opened: it
// used to create .llmops/state.db on its way to the error.
func TestE2EStateUnknownSubcommand(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`})
	r := w.run("state", "bogus")
	if r.code != 1 || !strings.Contains(r.stderr, `Error: Unknown state subcommand "bogus"`) || !strings.Contains(r.stderr, "list, show, rm, mv, keygen, rotate-key and restore") {
		t.Fatalf("want the unknown subcommand named and the known ones listed, exit 1:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(w.dir, ".llmops", "state.db")); !os.IsNotExist(err) {
		t.Fatalf("state bogus created the state file (%v)", err)
	}
}
