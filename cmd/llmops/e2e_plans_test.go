package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPlanGolden renders plans through the CLI and compares them with the
// golden plan.txt of each scenario in testdata/plans: the configuration in
// the scenario's applied/ directory (when there is one) is applied first,
// then the scenario's own configuration replaces it and `llmops plan
// -no-color` prints what plan.txt holds, with the workspace's path written
// as $WORKDIR and random ids as $ID. Variables for the environment (a
// state key, LLMOPS_VAR_x) are in the scenario's env file, one NAME=VALUE
// per line. The plan's exit code (with -detailed-exitcode) is the first
// line of exitcode when the file exists, else 2. `go test -run
// TestPlanGolden -update` rewrites the golden files.
func TestPlanGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/plans/*")
	if len(dirs) == 0 {
		t.Fatal("no scenarios found")
	}
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, nil)
			if b, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
				w.env = append(w.env, strings.Fields(string(b))...)
			}
			if applied := configFiles(t, filepath.Join(dir, "applied")); len(applied) > 0 {
				w.write(applied)
				w.must(0, "init", "-no-color")
				w.must(0, "apply", "-auto-approve", "-no-color")
				for name := range applied {
					os.Remove(filepath.Join(w.dir, name))
				}
			}
			w.write(configFiles(t, dir))
			w.must(0, "init", "-no-color")
			want := 2
			if b, err := os.ReadFile(filepath.Join(dir, "exitcode")); err == nil {
				want = int(strings.TrimSpace(string(b))[0] - '0')
			}
			r := w.must(want, "plan", "-no-color", "-detailed-exitcode")
			got := randomID.ReplaceAllString(strings.ReplaceAll(r.stdout, w.dir, "$WORKDIR"), `"$$ID"`)
			golden := filepath.Join(dir, "plan.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no plan.txt (run go test -run TestPlanGolden -update): %v", err)
			}
			if got != string(exp) {
				t.Fatalf("the rendered plan differs from %s\n--- want\n%s\n--- got\n%s", golden, exp, got)
			}
		})
	}
}

// randomID is the null provider's random id of an object, which the golden
// files show as "$ID".
var randomID = regexp.MustCompile(`"[0-9a-f]{16}"`)

// configFiles reads the *.llmops.hcl and *.llmops.vars files of dir.
func configFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".llmops.hcl") || strings.HasSuffix(e.Name(), ".llmops.vars") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = string(b)
		}
	}
	return files
}

// A tainted replacement (a training run whose job failed) does not show an
// output that is null, never recorded, as "~ hp = null -> null".
func TestE2ETaintedReplacementOutputs(t *testing.T) {
	cfg := func(command string) string {
		return `
model "base" {
  source = "file://weights"
}
training_run "ft" {
  base_model = model.base.id
  command    = ["sh", "-c", "` + command + `"]
}
output "model" {
  value = training_run.ft.output_model
}
output "hp" {
  value = training_run.ft.hyperparameters
}
`
	}
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl":     cfg("mkdir -p $LLMOPS_OUTPUT_DIR/model && echo {} > $LLMOPS_OUTPUT_DIR/model/config.json"),
		"weights/config.json": `{}`,
	})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.write(map[string]string{"main.llmops.hcl": cfg("echo boom >&2; exit 1")})
	w.must(1, "apply", "-auto-approve")
	r := w.must(2, "plan", "-no-color", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "it is tainted") || !strings.Contains(r.stdout, "Changes to Outputs:") {
		t.Fatalf("want a tainted replacement changing the model output:\n%s", r)
	}
	if strings.Contains(r.stdout, "null -> null") || strings.Contains(r.stdout, " hp ") {
		t.Errorf("the null output hp shows as a change:\n%s", r)
	}
}
