package main

import (
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
