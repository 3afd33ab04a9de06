package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// `llmops providers schema`: Terraform's JSON shape with every attribute's
// type and description, the readable form, and an error for a word that
// is no subcommand (it used to be ignored).
func TestE2EProvidersSchema(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "x" {
  input = "hi"
}
`})
	w.must(0, "init")
	r := w.must(0, "providers", "schema", "-json")
	var doc struct {
		FormatVersion   string `json:"format_version"`
		ProviderSchemas map[string]struct {
			Provider        map[string]any `json:"provider"`
			ResourceSchemas map[string]struct {
				Version int64 `json:"version"`
				Block   struct {
					Attributes map[string]struct {
						Type        any    `json:"type"`
						Description string `json:"description"`
						Optional    bool   `json:"optional"`
						Computed    bool   `json:"computed"`
						ForceNew    bool   `json:"force_new"`
					} `json:"attributes"`
				} `json:"block"`
			} `json:"resource_schemas"`
		} `json:"provider_schemas"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("providers schema -json: %v\n%s", err, r)
	}
	if doc.FormatVersion == "" {
		t.Errorf("no format_version:\n%s", r.stdout)
	}
	nv, ok := doc.ProviderSchemas["null"].ResourceSchemas["null_value"]
	if !ok {
		t.Fatalf("no provider_schemas.null.resource_schemas.null_value:\n%s", r.stdout)
	}
	tr := nv.Block.Attributes["triggers_replace"]
	if tr.Type != "dynamic" || !tr.Optional || !tr.ForceNew || tr.Description == "" {
		t.Errorf("triggers_replace = %+v, want an optional dynamic attribute forcing replacement, with a description", tr)
	}
	for name, a := range nv.Block.Attributes {
		if a.Description == "" {
			t.Errorf("null_value.%s has no description", name)
		}
	}

	text := w.must(0, "providers", "schema", "null_job").stdout
	for _, want := range []string{"provider null v", `resource "null_job"`, "duration  string, required, forces replacement"} {
		if !strings.Contains(text, want) {
			t.Errorf("providers schema null_job: no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "null_value") {
		t.Errorf("providers schema null_job printed other types:\n%s", text)
	}
	bad := w.must(1, "providers", "schema", "nope")
	if !strings.Contains(bad.stderr, `No resource type or data source "nope"`) {
		t.Errorf("unknown type: %s", bad)
	}
	bad = w.must(1, "providers", "scheme")
	if !strings.Contains(bad.stderr, `Unknown providers subcommand "scheme"`) || !strings.Contains(bad.stderr, "lock, schema") {
		t.Errorf("unknown subcommand: %s", bad)
	}
}

// `output NAME` when the state holds no outputs says so plainly, rather
// than "Outputs: ." with an empty list.
func TestE2EOutputNameWithoutOutputs(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "x" {
  input = "hi"
}
`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	r := w.must(1, "output", "endpoint")
	if !strings.Contains(r.stderr, "The state has no outputs at all") || strings.Contains(r.stderr, "Outputs: .") {
		t.Errorf("output NAME without outputs:\n%s", r)
	}
}

// A provider's warning (an unused prompt variable) comes back from
// validate, plan and apply: it is printed once per command, and says the
// placeholder syntax.
func TestE2EWarningPrintedOnce(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
prompt "p" {
  template  = "Hi {name}"
  variables = ["name"]
}
`})
	w.must(0, "init")
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
		r := w.must(0, args...)
		if n := strings.Count(r.stderr, "Unused prompt variables"); n != 1 {
			t.Errorf("llmops %s printed the warning %d times, want once:\n%s", args[0], n, r)
		}
		if !strings.Contains(r.stderr, "{{name}}") {
			t.Errorf("the warning does not say the placeholder syntax:\n%s", r)
		}
	}
}

// Data sources are in the schema: data_source_schemas in the JSON (the
// local provider's and the built-in llmops_state), `data "TYPE"` in the
// text form, and a data source can be named like a resource type.
func TestE2EProvidersSchemaDataSources(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
data "model" "base" {
  source = "file://weights"
}
data "llmops_state" "platform" {
  path = "../platform"
}
`})
	w.must(0, "init")
	r := w.must(0, "providers", "schema", "-json")
	var doc struct {
		ProviderSchemas map[string]struct {
			DataSourceSchemas map[string]struct {
				Block struct {
					Description string `json:"description"`
					Attributes  map[string]struct {
						Required bool `json:"required"`
						Computed bool `json:"computed"`
					} `json:"attributes"`
				} `json:"block"`
			} `json:"data_source_schemas"`
		} `json:"provider_schemas"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("providers schema -json: %v\n%s", err, r)
	}
	m := doc.ProviderSchemas["local"].DataSourceSchemas["model"]
	if !m.Block.Attributes["source"].Required || !m.Block.Attributes["digest"].Computed || m.Block.Description == "" {
		t.Errorf("data_source_schemas.model = %+v, want a required source, a computed digest and a description\n%s", m, r.stdout)
	}
	if _, ok := doc.ProviderSchemas["llmops"].DataSourceSchemas["llmops_state"].Block.Attributes["outputs"]; !ok {
		t.Errorf("no provider_schemas.llmops.data_source_schemas.llmops_state with outputs:\n%s", r.stdout)
	}
	text := w.must(0, "providers", "schema", "model").stdout
	for _, want := range []string{`resource "model"`, `data "model"`, "digest  string, computed"} {
		if !strings.Contains(text, want) {
			t.Errorf("providers schema model: no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, `data "dataset"`) {
		t.Errorf("providers schema model printed another data source:\n%s", text)
	}
}
