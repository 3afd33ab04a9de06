package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func rep(s string, n int) string { return strings.Repeat(s, n) }

// CheckNesting refuses deep nesting, wherever it is, with the position
// where the depth passes MaxNesting, and ignores what only looks like
// nesting (inside strings, comments, heredocs, escapes).
func TestCheckNesting(t *testing.T) {
	n := MaxNesting
	cases := []struct {
		name string
		src  string
		at   string // line:column of the error, "" when accepted
	}{
		{"100000 brackets", "a = " + rep("[", 100000) + rep("]", 100000) + "\n", "1:261"},
		{"at the limit", "a = " + rep("[", n) + rep("]", n) + "\n", ""},
		{"one past the limit", "a = " + rep("[", n+1) + rep("]", n+1) + "\n", "1:261"},
		{"parentheses and calls", "a = " + rep("f(", n+1) + "1" + rep(")", n+1) + "\n", "1:518"},
		{"blocks", rep("b {\n", n+1) + rep("}\n", n+1), "257:3"},
		{"unary run", "a = " + rep("!", n+1) + "true\n", "1:261"},
		{"unary with spaces", "a = " + rep("- ", n+1) + "1\n", "1:517"},
		{"conditional chain", "a = " + rep("x ? 1 : ", n+1) + "2\n", "1:2055"},
		{"conditionals on separate lines are not nested", rep("a = x ? 1 : 2\n", 2*n), ""},
		{"nested templates", "a = " + rep(`"${`, n) + "1" + rep(`}"`, n) + "\n", "1:389"},
		{"template directives", "a = \"" + rep("%{ if x }", n) + "\"\n", "1:2292"},
		{"closed directives are not nested", "a = \"" + rep("%{ if x }y%{ endif }", 2*n) + "\"\n", ""},
		{"heredoc interpolations", "a = <<EOT\n" + rep("${[", n) + "\nEOT\n", "2:384"},
		{"brackets in a string", `a = "` + rep("[", 1000) + `"` + "\n", ""},
		{"escaped quote then brackets in the string", `a = "\"` + rep("{", 1000) + `"` + "\n", ""},
		{"escaped interpolation", `a = "` + rep("$${", 1000) + `"` + "\n", ""},
		{"brackets in comments", "# " + rep("(", 1000) + "\n// " + rep("[", 1000) + "\n/* " + rep("{", 1000) + " */\na = 1\n", ""},
		{"brackets in a heredoc", "a = <<-EOT\n  " + rep("[", 1000) + "\n  EOT\nb = [1]\n", ""},
		{"closers in a string do not hide nesting", "a = " + rep("[", n/2) + `"` + rep("]", n) + `"` + rep("[", n/2+1) + "1" + rep("]", n+1) + "\n", "1:519"},
		{"column counts characters", "a = \"é\"\nb = " + rep("[", n+1) + "\n", "2:261"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diags := CheckNesting([]byte(c.src), "deep.llmops.hcl")
			if c.at == "" {
				if diags.HasErrors() {
					t.Fatalf("refused: %s", diags.Error())
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != "Configuration nested too deeply" {
				t.Fatalf("want one nesting error, got %v", diags)
			}
			got := diags[0].Subject
			if pos := fmt.Sprintf("%d:%d", got.Start.Line, got.Start.Column); got.Filename != "deep.llmops.hcl" || pos != c.at {
				t.Fatalf("error at %s:%s, want %s", got.Filename, pos, c.at)
			}
		})
	}
}

// A template file starts as text: braces in it are not nesting, its
// interpolations and directives are.
func TestCheckTemplateNesting(t *testing.T) {
	if d := CheckTemplateNesting([]byte(rep("{", 1000)+" \" ${x} \\"), "t.tmpl"); d.HasErrors() {
		t.Fatalf("text refused: %v", d)
	}
	// The template and its interpolation are two levels: the 255th
	// bracket, at column 257, is one too many.
	d := CheckTemplateNesting([]byte("line\n${"+rep("[", MaxNesting)+"1"+rep("]", MaxNesting)+"}"), "t.tmpl")
	if !d.HasErrors() || d[0].Subject.Start.Line != 2 || d[0].Subject.Start.Column != MaxNesting+1 {
		t.Fatalf("want the nesting error at t.tmpl:2:%d, got %v", MaxNesting+1, d)
	}
}

// The loader refuses a file nested 100,000 deep before parsing it: the
// parser would exhaust the stack (a fatal error, exit 2), so this test
// crashed before the check existed.
func TestLoadRefusesDeepNesting(t *testing.T) {
	src := "locals {\n  a = " + rep("[", 100000) + rep("]", 100000) + "\n}\n"
	cfg, diags := LoadSources("/tmp/x", map[string][]byte{"main.llmops.hcl": []byte(src)})
	if !diags.HasErrors() || diags[0].Summary != "Configuration nested too deeply" || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("want the nesting error on line 2, got %v", diags)
	}
	if cfg == nil || cfg.Sources["main.llmops.hcl"] == nil {
		t.Fatal("the source must be kept, to show the line")
	}
}

// No configuration in the repository (examples, scenario folders) comes
// near the limit.
func TestCheckNestingAcceptsRealConfigurations(t *testing.T) {
	var files []string
	for _, pat := range []string{"../../examples/*/*.llmops.hcl", "../../cmd/llmops/testdata/*/*/*.llmops.hcl", "testdata/*/*/*.llmops.hcl"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d configurations", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f, "too_deep/deep") {
			continue // the scenario that is too deep on purpose
		}
		if d := CheckNesting(src, f); d.HasErrors() {
			t.Errorf("%s refused: %s", f, d.Error())
		}
	}
}

// The check costs little beside parsing: the benchmark's 10,000-resource
// configuration (about 1 MB).
func BenchmarkCheckNesting(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "resource \"null_value\" \"r%d\" {\n  input = { name = \"r%d\", parent = null_value.r%d.output.name, lr = 0.0002, epochs = 3 }\n}\n\n", i, i, i+10)
	}
	src := []byte(sb.String())
	b.Run("check", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			CheckNesting(src, "x")
		}
	})
	b.Run("parse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			hclsyntax.ParseConfig(src, "x", hcl.InitialPos)
		}
	})
}
