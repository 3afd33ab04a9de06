package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestParseRef(t *testing.T) {
	cases := []struct {
		src, want string
		err       bool
	}{
		{src: "var.lr", want: "var.lr"},
		{src: "local.prefix", want: "local.prefix"},
		{src: "training_run.ft.output_model", want: "training_run.ft"},
		{src: "null_value.r[3].id", want: "null_value.r"},
		{src: "resource.null_value.r.id", want: "null_value.r"},
		{src: "count.index", want: "count.index"},
		{src: "each.value", want: "each.value"},
		{src: "path.root", want: "path.root"},
		{src: "var", err: true},
		{src: "self.id", err: true},
		{src: "nope.x", err: true},
		{src: `var["x"]`, err: true},
	}
	for _, c := range cases {
		expr, diags := hclsyntax.ParseExpression([]byte(c.src), "t", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", c.src, diags)
		}
		refs, diags := ExprReferences(expr)
		if c.err {
			if !diags.HasErrors() {
				t.Errorf("%s: want an error", c.src)
			}
			continue
		}
		if diags.HasErrors() || len(refs) != 1 || refs[0].Subject.String() != c.want {
			t.Errorf("%s: got %v %v, want %s", c.src, refs, diags, c.want)
		}
	}
}

type fakeData struct{}

func (fakeData) Variables() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("ft")})
}
func (fakeData) GetLocal(LocalRef, hcl.Range) (cty.Value, hcl.Diagnostics) {
	return cty.StringVal("local"), nil
}
func (fakeData) GetResource(ResourceRef, hcl.Range) (cty.Value, hcl.Diagnostics) {
	return cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("x1")}), nil
}
func (fakeData) GetModule(ref ModuleRef, _ hcl.Range) (cty.Value, hcl.Diagnostics) {
	out := cty.ObjectVal(map[string]cty.Value{"endpoint": cty.StringVal("http://" + ref.Name)})
	return cty.ObjectVal(map[string]cty.Value{"en": out}), nil
}

func TestEvalFunctions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "prompt.tmpl"), []byte("Hello ${name}, id ${id}!"), 0o644)
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("abc"), 0o644)
	s := &Scope{Data: fakeData{}, BaseDir: dir}
	cases := map[string]string{
		`templatefile("prompt.tmpl", { name = var.name, id = null_value.r.id })`: "Hello ft, id x1!",
		`file("data.txt")`:                     "abc",
		`filesha256("data.txt")`:               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		`jsonencode({ a = 1, b = [local.x] })`: `{"a":1,"b":["local"]}`,
		`jsondecode("{\"k\": \"v\"}").k`:       "v",
		`upper(format("%s-%d", var.name, 3))`:  "FT-3",
		`base64decode(base64encode("secret"))`: "secret",
		`try(jsondecode("nope"), "fallback")`:  "fallback",
		`module.bot["en"].endpoint`:            "http://bot",
		`"ws-${llmops.workspace}"`:             "ws-default",
	}
	for src, want := range cases {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "t", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", src, diags)
		}
		v, diags := s.EvalExpr(expr, cty.String)
		if diags.HasErrors() {
			t.Errorf("%s: %v", src, diags)
			continue
		}
		if v.AsString() != want {
			t.Errorf("%s = %q, want %q", src, v.AsString(), want)
		}
	}
	// A template may not refer to what it is not given.
	expr, _ := hclsyntax.ParseExpression([]byte(`templatefile("prompt.tmpl", { name = "x" })`), "t", hcl.InitialPos)
	if _, diags := s.EvalExpr(expr, cty.String); !diags.HasErrors() {
		t.Error("a template's missing variable must be an error")
	}
	// A template nested 100,000 deep is refused before it is parsed (the
	// parser would exhaust its stack: a fatal error, exit 2).
	deep := "text ${" + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "} {{{{ text"
	os.WriteFile(filepath.Join(dir, "deep.tmpl"), []byte(deep), 0o644)
	expr, _ = hclsyntax.ParseExpression([]byte(`templatefile("deep.tmpl", {})`), "t", hcl.InitialPos)
	if _, diags := s.EvalExpr(expr, cty.String); !diags.HasErrors() || !strings.Contains(diags.Error(), "nested too deeply") {
		t.Errorf("a deep template: %v", diags)
	}
}

func TestModuleRefs(t *testing.T) {
	cases := map[string]string{
		`module.bot`:                 "module.bot",
		`module.bot.endpoint`:        "module.bot.endpoint",
		`module.bot["en"].endpoint`:  "module.bot.endpoint",
		`module.bot[0].endpoint.url`: "module.bot.endpoint",
		`module.bot["en"]`:           "module.bot",
	}
	for src, want := range cases {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "t", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		refs, diags := ExprReferences(expr)
		if diags.HasErrors() || len(refs) != 1 {
			t.Fatalf("%s: %v %v", src, refs, diags)
		}
		if got := refs[0].Subject.String(); got != want {
			t.Errorf("%s: got %s, want %s", src, got, want)
		}
	}
}
