package configs

import (
	"testing"
)

// FuzzLoad feeds arbitrary text to the loader: it must return
// diagnostics, never panic, and every error must point into the file.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		`resource "null_value" "r" { input = 1 }`,
		`variable "x" { type = number default = 3 validation { condition = var.x > 0 error_message = "no" } }`,
		`model "base" { source = "file://m" }` + "\n" + `training_run "ft" { base_model = model.base.id placement { candidates = [local] } }`,
		`locals { a = b }` + "\n" + `output "o" { value = local.a sensitive = true }`,
		`provider "local" { alias = "gpu" }` + "\n" + `dataset "d" { provider = local.gpu count = 2 }`,
		`resource "x" "y" {`, `}}}`, "\x00\xff", `lifecycle { prevent_destroy = true }`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		cfg, diags := LoadSources("/tmp/fuzz", map[string][]byte{"main.llmops.hcl": []byte(src)})
		if cfg == nil && !diags.HasErrors() {
			t.Fatal("no configuration and no error")
		}
		for _, d := range diags {
			if d.Subject != nil && d.Subject.Filename != "main.llmops.hcl" {
				t.Fatalf("diagnostic points at %q", d.Subject.Filename)
			}
		}
	})
}
