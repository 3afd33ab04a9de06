package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A provider rebuilt after `llmops init` no longer matches the lock file;
// a dev override (LLMOPS_DEV_OVERRIDES, or dev_overrides in the CLI
// configuration file) runs it from where it is built without `init
// -upgrade`, with a warning on every command.
func TestE2EDevOverrides(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "x" {
  input = "hi"
}
`})
	w.must(0, "init")
	// "Rebuild" the provider: the same program, other bytes.
	dev := filepath.Join(t.TempDir(), "dev")
	os.MkdirAll(dev, 0o755)
	b, err := os.ReadFile(filepath.Join(binDir, "llmops-provider-null"))
	if err != nil {
		t.Fatal(err)
	}
	built := filepath.Join(dev, "llmops-provider-null")
	if err := os.WriteFile(built, append(b, []byte("rebuilt")...), 0o755); err != nil {
		t.Fatal(err)
	}
	base := w.env
	w.env = append(base, "LLMOPS_PLUGIN_PATH="+dev)
	r := w.must(1, "plan")
	if !strings.Contains(r.stderr, "does not match the lock file") {
		t.Fatalf("a rebuilt provider without an override:\n%s", r)
	}

	w.env = append(base, "LLMOPS_DEV_OVERRIDES=null="+built)
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}, {"state", "list"}} {
		r = w.must(0, args...)
		if n := strings.Count(r.stderr, "Provider development overrides are in effect"); n != 1 {
			t.Errorf("llmops %s: the warning is printed %d times, want once:\n%s", args[0], n, r)
		}
		if !strings.Contains(r.stderr, "null in "+built) || !strings.Contains(r.stderr, "LLMOPS_DEV_OVERRIDES") {
			t.Errorf("llmops %s: the warning does not name the override and where it is set:\n%s", args[0], r)
		}
	}
	if r = w.must(0, "version"); strings.Contains(r.stderr, "overrides") {
		t.Errorf("version warns:\n%s", r)
	}

	// The same from a CLI configuration file, in Terraform's form, naming
	// the directory.
	rc := filepath.Join(t.TempDir(), "llmopsrc")
	os.WriteFile(rc, []byte("provider_installation {\n  dev_overrides {\n    \"null\" = \""+dev+"\"\n  }\n}\n"), 0o644)
	w.env = append(base, "LLMOPS_CLI_CONFIG_FILE="+rc)
	r = w.must(0, "plan")
	if !strings.Contains(r.stderr, "Provider development overrides are in effect") || !strings.Contains(r.stderr, "(from "+rc+")") {
		t.Errorf("plan with the file's override:\n%s", r)
	}
	r = w.must(0, "init")
	if !strings.Contains(r.stdout, "provider null: dev override "+built) {
		t.Errorf("init with an override:\n%s", r)
	}

	// A wrong path is an error naming it.
	w.env = append(base, "LLMOPS_DEV_OVERRIDES=null=/nonexistent/llmops-provider-null")
	r = w.must(1, "plan")
	if !strings.Contains(r.stderr, "/nonexistent/llmops-provider-null, which does not exist") {
		t.Errorf("a wrong override:\n%s", r)
	}
}
