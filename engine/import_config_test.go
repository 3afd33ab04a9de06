package engine

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// The import request carries the resource's evaluated configuration (a
// credential set on it serves the read after the import), sensitive
// values included, unmarked as the provider sees every configuration.
func TestImportCarriesConfiguration(t *testing.T) {
	h := newHarness(t)
	a := `
resource "test_value" "a" {
  name  = "a"
  input = "x"
}
`
	h.write(map[string]string{"main.llmops.hcl": a})
	if _, _, diags := h.apply(PlanOptions{}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h.write(map[string]string{"main.llmops.hcl": a + `
variable "token" {
  default   = "s3cret"
  sensitive = true
}
resource "test_value" "b" {
  name   = "a"
  input  = "from-${test_value.a.name}"
  secret = var.token
}
`})
	e, diags := h.engine()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	at := addrs.ResourceInstance{Resource: addrs.Resource{Type: "test_value", Name: "b"}, Key: addrs.NoKey}
	if _, diags := e.Import(context.Background(), at, "a#1", ApplyOptions{Who: "test", Command: "import"}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(h.prov.importConfigs) != 1 {
		t.Fatalf("%d import requests, want 1", len(h.prov.importConfigs))
	}
	cfg := h.prov.importConfigs[0]
	if cfg == cty.NilVal || cfg.IsNull() {
		t.Fatal("the import request carried no configuration")
	}
	if got := cfg.GetAttr("secret"); !got.RawEquals(cty.StringVal("s3cret")) {
		t.Errorf("secret = %#v, want the configured credential", got)
	}
	if got := cfg.GetAttr("input"); !got.RawEquals(cty.StringVal("from-a")) {
		t.Errorf("input = %#v, want the configuration evaluated against the state", got)
	}
}
