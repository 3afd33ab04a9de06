package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileValues would run commands if any of them reached a shell.
var hostileValues = []string{
	`$(touch PWNED_DOLLAR)`,
	"`touch PWNED_BACKTICK`",
	`a; touch PWNED_SEMICOLON`,
	"line1\ntouch PWNED_NEWLINE",
	`'quoted' "double" \back\slash`,
	`&& touch PWNED_AND || true | cat > PWNED_PIPE`,
}

// TestE2EHostileValuesAreNotInterpreted passes values with quotes, $(),
// backticks, newlines and ; through every place a user value reaches a
// process of the local provider: command arguments, environment values
// and hyperparameters. The job records what it received; none of it may
// have been interpreted.
func TestE2EHostileValuesAreNotInterpreted(t *testing.T) {
	hcl := `
variable "hostile" {
  type = list(string)
}

model "base" {
  source = "file://base"
}

training_run "ft" {
  base_model = model.base.id
  # The script writes its arguments, one environment value and the
  # hyperparameters where the test reads them; "$@" passes arguments on
  # without evaluating them.
  command = concat(["sh", "-c", "printf '%s\\n---\\n' \"$@\" > \"$OUT/args\"; printf '%s' \"$HOSTILE\" > \"$OUT/env\"; printf '%s' \"$LLMOPS_HPARAMS\" > \"$OUT/hparams\"; mkdir -p \"$LLMOPS_OUTPUT_DIR/model\"; echo w > \"$LLMOPS_OUTPUT_DIR/model/w\"", "sh"], var.hostile)
  env             = { HOSTILE = join("|", var.hostile), OUT = path.root }
  hyperparameters = { note = join("|", var.hostile) }
}
`
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": hcl, "base/config.json": "{}"})
	vars := "hostile = [\n"
	for _, h := range hostileValues {
		vars += "  " + hclQuote(h) + ",\n"
	}
	vars += "]\n"
	w.write(map[string]string{"test.llmops.vars": vars})
	w.must(0, "init")
	r := w.must(0, "apply", "-auto-approve")
	_ = r
	args, err := os.ReadFile(filepath.Join(w.dir, "args"))
	if err != nil {
		t.Fatalf("the job did not record its arguments: %v\n%s", err, r)
	}
	got := strings.Split(strings.TrimSuffix(string(args), "\n---\n"), "\n---\n")
	if len(got) != len(hostileValues) {
		t.Fatalf("the job received %d arguments, want %d: %q", len(got), len(hostileValues), got)
	}
	for i, h := range hostileValues {
		if got[i] != h {
			t.Errorf("argument %d arrived as %q, want %q", i, got[i], h)
		}
	}
	env, _ := os.ReadFile(filepath.Join(w.dir, "env"))
	if string(env) != strings.Join(hostileValues, "|") {
		t.Errorf("environment value arrived as %q", env)
	}
	hp, _ := os.ReadFile(filepath.Join(w.dir, "hparams"))
	if !strings.Contains(string(hp), `$(touch PWNED_DOLLAR)`) || !strings.Contains(string(hp), "`touch PWNED_BACKTICK`") {
		t.Errorf("hyperparameters arrived as %s", hp)
	}
	matches, _ := filepath.Glob(filepath.Join(w.dir, "PWNED*"))
	if len(matches) > 0 {
		t.Fatalf("a value was interpreted by a shell: %v exist", matches)
	}
}

// hclQuote writes s as an HCL string literal.
func hclQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}

// HCL nested 100,000 levels deep (in the configuration, a variables file,
// a -var value or a file given to fmt) is refused with file:line:column
// and exit 1. Before, the parser exhausted its stack: "fatal error: stack
// overflow", exit 2, which plan -detailed-exitcode means "changes".
func TestE2EDeepNestingRefused(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": "variable \"v\" {\n  type    = any\n  default = null\n}\n\nlocals {\n  x = " + deep + "\n}\n"})
	for _, args := range [][]string{{"validate"}, {"plan", "-detailed-exitcode"}, {"fmt", "-check"}} {
		r := w.run(args...)
		if r.code != 1 || !strings.Contains(r.stderr, "Error: Configuration nested too deeply") || !strings.Contains(r.stderr, "main.llmops.hcl:7:") {
			t.Fatalf("%s: want exit 1 and the nesting error at main.llmops.hcl:7\n%.2000s", args[0], r)
		}
		if strings.Contains(r.stderr, "fatal error") || strings.Contains(r.stderr, "goroutine ") {
			t.Fatalf("%s crashed:\n%.2000s", args[0], r)
		}
	}
	w.write(map[string]string{"main.llmops.hcl": "variable \"v\" {\n  type    = list(any)\n  default = null\n}\n"})
	w.must(0, "init")
	// An argument is limited to 128 KiB: 20,000 levels for -var.
	deepArg := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	if r := w.run("plan", "-var", "v="+deepArg); r.code != 1 || !strings.Contains(r.stderr, "Configuration nested too deeply") {
		t.Fatalf("-var: want the nesting error\n%.2000s", r)
	}
	w.write(map[string]string{"deep.llmops.vars": "v = " + deep + "\n"})
	if r := w.run("plan"); r.code != 1 || !strings.Contains(r.stderr, "deep.llmops.vars:1:") {
		t.Fatalf("vars file: want the nesting error at deep.llmops.vars:1\n%.2000s", r)
	}
}
