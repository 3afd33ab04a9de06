package engine

import (
	"strings"
	"testing"

	"github.com/llmops/llmops/engine/configs"
)

// A validation message that interpolates a sensitive variable shows
// (sensitive) in its place; a plain variable's message is unchanged.
func TestValidationMessageHidesSensitiveValue(t *testing.T) {
	h := newHarness(t)
	h.write(map[string]string{"main.llmops.hcl": `
variable "k" {
  type      = string
  sensitive = true
  validation {
    condition     = substr(var.k, 0, 3) == "sk-"
    error_message = "The key ${var.k} must start with sk- (got ${upper(var.k)})."
  }
}
variable "p" {
  type = string
  validation {
    condition     = substr(var.p, 0, 3) == "sk-"
    error_message = "The name ${var.p} must start with sk-."
  }
}
`})
	cfg, diags := configs.LoadDir(h.dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, diags = CollectVariables(cfg, []VarSource{{Name: "k", Value: "hunter2-secret"}, {Name: "p", Value: "plain-name"}}, nil)
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	text := b.String()
	if !diags.HasErrors() || strings.Contains(strings.ToLower(text), "hunter2-secret") {
		t.Fatalf("the message shows the sensitive value: %s", text)
	}
	if !strings.Contains(text, "The key (sensitive) must start with sk- (got (sensitive)).") {
		t.Errorf("the message should read (sensitive) in place of the value: %s", text)
	}
	if !strings.Contains(text, "The name plain-name must start with sk-.") {
		t.Errorf("a plain variable's message must be unchanged: %s", text)
	}
}
