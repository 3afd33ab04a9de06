package main

import (
	"strings"
	"testing"
)

// A dataset whose file gets a malformed row fails the plan, naming the
// data file and line and the source attribute's place in the
// configuration, and apply changes nothing: before, the plan passed and
// the apply replaced the dataset's dependents before failing on the row.
func TestE2EDatasetBadRowFailsPlan(t *testing.T) {
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl": `
dataset "tickets" {
  source = "file://data/tickets.jsonl"
}

resource "null_value" "uses" {
  input            = "trained on ${dataset.tickets.id}"
  triggers_replace = dataset.tickets.id
}
`,
		"data/tickets.jsonl": "{\"q\": \"a\"}\n{\"q\": \"b\"}\n",
	})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	before := w.must(0, "state", "show", "null_value.uses").stdout

	w.write(map[string]string{"data/tickets.jsonl": "{\"q\": \"a\"}\n\n{\"q\": \"b\"\n{\"q\": \"c\"}\n"})
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
		r := w.run(append(args, "-no-color")...)
		if r.code != 1 {
			t.Fatalf("%s: want exit 1\n%s", args[0], r)
		}
		for _, want := range []string{"Error: Invalid dataset row", "on main.llmops.hcl:3:", "data/tickets.jsonl:3: not valid JSON", "fix or remove the row at line 3"} {
			if !strings.Contains(r.stderr, want) {
				t.Fatalf("%s: the error lacks %q\n%s", args[0], want, r)
			}
		}
		if strings.Contains(r.stdout, "Destroying") || strings.Contains(r.stdout, "Creating") {
			t.Fatalf("%s changed something:\n%s", args[0], r)
		}
	}
	if after := w.must(0, "state", "show", "null_value.uses").stdout; after != before {
		t.Fatalf("the dependent changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if r := w.must(0, "history"); strings.Count(strings.TrimSpace(r.stdout), "\n") != 1 {
		t.Fatalf("a new state version was written:\n%s", r.stdout)
	}
}
