package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/values"
)

type secretData struct{ fakeData }

const theSecret = "hunter2-not-a-number"

func (secretData) Variables() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"k":    cty.StringVal(theSecret).Mark(values.Sensitive),
		"name": cty.StringVal("ft"),
	})
}

// A function that fails on a sensitive argument says why without quoting
// it; the same call on a plain value still quotes it (what makes errors
// useful).
func TestFunctionErrorsHideSensitiveArguments(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.tmpl"), []byte("${tonumber(k)}"), 0o644)
	s := &Scope{Data: secretData{}, BaseDir: dir}
	for src, want := range map[string]string{
		`tonumber(var.k)`:                        "(sensitive)",
		`tobool(var.k)`:                          "(sensitive)",
		`file(var.k)`:                            "(sensitive)",
		`file("${var.k}/x.txt")`:                 "(sensitive)",
		`templatefile(var.k, {})`:                "(sensitive)",
		`templatefile("t.tmpl", { k = var.k })`:  "(sensitive)",
		`timeadd("2026-01-01T00:00:00Z", var.k)`: "(sensitive)",
		`timeadd(var.k, "1h")`:                   "(sensitive)",
		`parseint(var.k, 10)`:                    "(sensitive)",
		`jsondecode(var.k)`:                      "",
		`base64decode(var.k)`:                    "",
	} {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "t", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", src, diags)
		}
		_, diags = s.EvalExpr(expr, cty.DynamicPseudoType)
		if !diags.HasErrors() {
			t.Errorf("%s: want an error", src)
			continue
		}
		text := diags.Error()
		if strings.Contains(text, theSecret) || strings.Contains(text, "hunter2") {
			t.Errorf("%s: the error quotes the secret: %s", src, text)
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s: the error lacks %q: %s", src, want, text)
		}
	}
	// Plain values are still quoted.
	plain := &Scope{Data: fakeData{}, BaseDir: dir}
	expr, _ := hclsyntax.ParseExpression([]byte(`tonumber(var.name)`), "t", hcl.InitialPos)
	if _, diags := plain.EvalExpr(expr, cty.DynamicPseudoType); !diags.HasErrors() || !strings.Contains(diags.Error(), `"ft"`) {
		t.Errorf("an error on a plain value should quote it: %v", diags)
	}
	// The result of a successful call on a sensitive value stays marked.
	expr, _ = hclsyntax.ParseExpression([]byte(`upper(var.k)`), "t", hcl.InitialPos)
	if v, diags := s.EvalExpr(expr, cty.String); diags.HasErrors() || !values.IsSensitive(v) {
		t.Errorf("upper(var.k) = %#v, %v: want a sensitive value", v, diags)
	}
}
