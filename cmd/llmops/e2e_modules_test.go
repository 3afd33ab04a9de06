package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const modulesRootHCL = `
module "bot" {
  source   = "./modules/bot"
  for_each = toset(["en", "de"])
  lang     = each.key
}

output "en" {
  value = module.bot["en"].greeting
}
`

const modulesBotHCL = `
variable "lang" {
  type = string
}

resource "null_value" "greeting" {
  input = "hello-${var.lang}"
}

output "greeting" {
  value = null_value.greeting.output
}
`

// Addresses inside module instances work in every command that takes or
// shows one: plan, apply, -target, -replace, state list|show|mv|rm,
// history and graph.
func TestE2EModuleAddresses(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": modulesRootHCL, "modules/bot/main.llmops.hcl": modulesBotHCL})
	w.must(0, "init")
	r := w.must(0, "apply", "-auto-approve")
	for _, want := range []string{`module.bot["de"].null_value.greeting: Creation complete`, `module.bot["en"].null_value.greeting: Creation complete`, `en = "hello-en"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply lacks %q:\n%s", want, r)
		}
	}
	r = w.must(0, "state", "list")
	if r.stdout != "module.bot[\"de\"].null_value.greeting\nmodule.bot[\"en\"].null_value.greeting\n" {
		t.Fatalf("state list:\n%s", r)
	}
	if r = w.must(0, "state", "list", `module.bot["en"]`); strings.TrimSpace(r.stdout) != `module.bot["en"].null_value.greeting` {
		t.Fatalf("state list module.bot[\"en\"]:\n%s", r)
	}
	if r = w.must(0, "state", "show", `module.bot["de"].null_value.greeting`); !strings.Contains(r.stdout, `"hello-de"`) {
		t.Fatalf("state show:\n%s", r)
	}
	r = w.must(2, "plan", "-detailed-exitcode", "-replace", `module.bot["de"].null_value.greeting`, "-target", `module.bot["de"]`)
	if !strings.Contains(r.stdout, `# module.bot["de"].null_value.greeting must be replaced`) || strings.Contains(r.stdout, `module.bot["en"]`) {
		t.Fatalf("plan -replace -target in a module:\n%s", r)
	}
	r = w.must(0, "graph")
	if !strings.Contains(r.stdout, `"module.bot.null_value.greeting" -> "module.bot"`) {
		t.Fatalf("graph:\n%s", r)
	}
	w.must(0, "state", "mv", `module.bot["de"].null_value.greeting`, `module.bot["fr"].null_value.greeting`)
	r = w.must(0, "history", `module.bot["fr"].null_value.greeting`)
	if !strings.Contains(r.stdout, "VERSION") {
		t.Fatalf("history of a moved module object:\n%s", r)
	}
	// The moved instance is not in for_each: the plan destroys it and
	// creates "de" again.
	r = w.must(2, "plan", "-detailed-exitcode")
	for _, want := range []string{`# module.bot["fr"].null_value.greeting will be destroyed`, `# module.bot["de"].null_value.greeting will be created`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan after state mv lacks %q:\n%s", want, r)
		}
	}
	w.must(0, "state", "rm", `module.bot["fr"].null_value.greeting`)
	if r = w.must(0, "state", "list"); strings.Contains(r.stdout, "fr") {
		t.Fatalf("state rm left it:\n%s", r)
	}
	r = w.must(1, "state", "show", `module.bot[en].x`)
	if !strings.Contains(r.stderr, "Invalid address") {
		t.Fatalf("bad address:\n%s", r)
	}
}

// gitRepo makes a git repository whose commits are the given versions of
// modules/bot (each tagged with its name); it returns its directory and
// commits.
func gitRepo(t *testing.T, versions ...string) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: install it (apt-get install git) to run this test")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	var commits []string
	for _, v := range versions {
		os.MkdirAll(filepath.Join(dir, "bot"), 0o755)
		os.WriteFile(filepath.Join(dir, "bot", "main.llmops.hcl"), []byte(strings.ReplaceAll(modulesBotHCL, "hello-", v+"-")), 0o644)
		run("add", "-A")
		run("commit", "-q", "-m", v)
		run("tag", v)
		commits = append(commits, run("rev-parse", "HEAD"))
	}
	return dir, commits
}

// llmops init fetches a git module at the ref's commit and locks it; a
// changed ref needs init -upgrade, which shows the old and new commits.
func TestE2EGitModule(t *testing.T) {
	repoDir, commits := gitRepo(t, "v1", "v2")
	root := func(ref string) string {
		return strings.Replace(modulesRootHCL, `"./modules/bot"`, `"git::file://`+repoDir+`//bot?ref=`+ref+`"`, 1)
	}
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": root("v1")})
	r := w.must(1, "plan")
	if !strings.Contains(r.stderr, "Module not installed") || !strings.Contains(r.stderr, "llmops init") {
		t.Fatalf("plan before init:\n%s", r)
	}
	r = w.must(0, "init")
	if !strings.Contains(r.stdout, "- module.bot: git::file://"+repoDir+"//bot?ref=v1 at "+commits[0][:12]) {
		t.Fatalf("init:\n%s", r)
	}
	lock, _ := os.ReadFile(filepath.Join(w.dir, ".llmops.lock.hcl"))
	if !strings.Contains(string(lock), `module "bot" {`) || !strings.Contains(string(lock), `commit = "`+commits[0]+`"`) {
		t.Fatalf("lock file:\n%s", lock)
	}
	if r = w.must(0, "apply", "-auto-approve"); !strings.Contains(r.stdout, `en = "v1-en"`) {
		t.Fatalf("apply v1:\n%s", r)
	}
	w.write(map[string]string{"main.llmops.hcl": root("v2")})
	if r = w.must(1, "plan"); !strings.Contains(r.stderr, "Module source changed") {
		t.Fatalf("plan after changing ref:\n%s", r)
	}
	if r = w.must(1, "init"); !strings.Contains(r.stderr, "llmops init -upgrade") {
		t.Fatalf("init after changing ref:\n%s", r)
	}
	r = w.must(0, "init", "-upgrade")
	if !strings.Contains(r.stdout, "upgraded from "+commits[0][:12]+" to "+commits[1][:12]) {
		t.Fatalf("init -upgrade:\n%s", r)
	}
	r = w.must(0, "apply", "-auto-approve")
	if !strings.Contains(r.stdout, "2 changed") || !strings.Contains(r.stdout, `en = "v2-en"`) {
		t.Fatalf("apply v2:\n%s", r)
	}
}

// A data source reads another configuration's outputs (llmops_state) and
// a model's digest (the local provider's model data source) during plan.
func TestE2EDataSources(t *testing.T) {
	w := newWorkspace(t, map[string]string{
		"platform/main.llmops.hcl": `
resource "null_value" "ep" {
  input = "https://platform.example/v1"
}
output "endpoint" {
  value = null_value.ep.output
}
`,
		"app/main.llmops.hcl": `
data "llmops_state" "platform" {
  path = "../platform"
}
data "model" "base" {
  source = "file://weights"
}
resource "null_value" "uses" {
  input = "${data.llmops_state.platform.outputs.endpoint} ${data.model.base.digest}"
}
output "uses" {
  value = null_value.uses.output
}
`,
		"app/weights/config.json": `{"layers": 2}`,
	})
	platform := *w
	platform.dir = filepath.Join(w.dir, "platform")
	platform.must(0, "init")
	platform.must(0, "apply", "-auto-approve")
	app := *w
	app.dir = filepath.Join(w.dir, "app")
	app.must(0, "init")
	lock, _ := os.ReadFile(filepath.Join(app.dir, ".llmops.lock.hcl"))
	if strings.Contains(string(lock), `provider "llmops"`) {
		t.Errorf("the built-in provider was locked:\n%s", lock)
	}
	r := app.must(0, "apply", "-auto-approve")
	if !regexp.MustCompile(`uses = "https://platform.example/v1 sha256:[0-9a-f]{64}"`).MatchString(r.stdout) {
		t.Fatalf("apply reading data sources:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(app.dir, ".llmops", "artifacts", "objects")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(app.dir, ".llmops", "artifacts", "objects", "sha256"))
		if len(entries) > 0 {
			t.Errorf("the model data source imported the model into the artifact store")
		}
	}
	r = app.must(0, "state", "list")
	if strings.Contains(r.stdout, "data.") {
		t.Errorf("a data source was recorded in the state:\n%s", r.stdout)
	}
	r = app.must(0, "plan", "-json")
	if !strings.Contains(r.stdout, `"mode":"data"`) && !strings.Contains(r.stdout, `"mode": "data"`) {
		t.Errorf("plan -json shows no data source read:\n%s", r.stdout)
	}
}

// A moved block moves an object into a module without replacing it; the
// plan says so, and history follows the object back to where it was.
func TestE2EMovedIntoModule(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "greeting" {
  input = "hello-en"
}
`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	id := strings.TrimSpace(w.must(0, "state", "show", "null_value.greeting").stdout)
	w.write(map[string]string{
		"main.llmops.hcl": `
module "bot" {
  source = "./modules/bot"
  lang   = "en"
}

moved {
  from = null_value.greeting
  to   = module.bot.null_value.greeting
}
`,
		"modules/bot/main.llmops.hcl": modulesBotHCL,
	})
	r := w.must(2, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "# null_value.greeting has moved to module.bot.null_value.greeting") || !strings.Contains(r.stdout, "0 to add, 0 to change, 0 to replace, 0 to destroy. 1 to move.") {
		t.Fatalf("plan of a move:\n%s", r)
	}
	w.must(0, "apply", "-auto-approve")
	if got := strings.TrimSpace(w.must(0, "state", "show", "module.bot.null_value.greeting").stdout); got != strings.Replace(id, "null_value.greeting", "module.bot.null_value.greeting", 1) {
		t.Errorf("the moved object changed:\nbefore %s\nafter  %s", id, got)
	}
	r = w.must(0, "history", "module.bot.null_value.greeting")
	if !strings.Contains(r.stdout, "was moved here from null_value.greeting") || !strings.Contains(r.stdout, "null_value.greeting ") {
		t.Fatalf("history of the moved object:\n%s", r)
	}
	if r = w.must(0, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after the move:\n%s", r)
	}
}
