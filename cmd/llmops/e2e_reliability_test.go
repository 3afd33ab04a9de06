package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestE2ECorruptStateIsDetectedAndRestored(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
variable "gen" { default = "1" }
resource "null_value" "r" {
  count = 5
  input = "${var.gen}-${count.index}"
}
`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.must(0, "apply", "-auto-approve", "-var", "gen=2") // takes a backup of serial 1 first
	backups, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "backups", "state-serial*.db"))
	if len(backups) != 1 {
		t.Fatalf("want one automatic backup, got %v", backups)
	}
	db := filepath.Join(w.dir, ".llmops", "state.db")
	// Truncate the database to half its size, as a crash of the disk might.
	st, _ := os.Stat(db)
	if err := os.Truncate(db, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	os.Remove(db + "-wal")
	os.Remove(db + "-shm")
	r := w.run("plan")
	if r.code != 1 || !strings.Contains(r.stderr, "corrupted") || !strings.Contains(r.stderr, backups[0]) || !strings.Contains(r.stderr, "llmops state restore") {
		t.Fatalf("a truncated state must be refused, naming the backup:\n%s", r)
	}
	r = w.must(0, "state", "restore")
	if !strings.Contains(r.stdout, "state serial 1") {
		t.Fatalf("restore:\n%s", r)
	}
	// Back at serial 1: the configuration (gen=1) matches it.
	r = w.must(0, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after restore:\n%s", r)
	}
	damaged, _ := filepath.Glob(db + ".damaged-*")
	if len(damaged) != 1 {
		t.Fatalf("the damaged file must be kept aside: %v", damaged)
	}
}

func TestE2ERotateKey(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
variable "token" {
  type      = string
  sensitive = true
}
resource "null_value" "s" { input = var.token }
output "token" {
  value     = var.token
  sensitive = true
}
`})
	oldKey := strings.TrimSpace(w.must(0, "state", "keygen").stdout)
	newKey := strings.TrimSpace(w.must(0, "state", "keygen").stdout)
	w.write(map[string]string{"new.key": newKey})
	w.env = append(w.env, "LLMOPS_VAR_token=tok-9876-secret")
	base := append([]string(nil), w.env...)
	w.env = append(base, "LLMOPS_STATE_KEY="+oldKey)
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.must(0, "apply", "-auto-approve", "-var", "token=ignored") // env wins: no change, but exercises reading
	r := w.must(0, "state", "rotate-key", "-new-key-file", filepath.Join(w.dir, "new.key"))
	if !strings.Contains(r.stdout, "Re-sealed") {
		t.Fatalf("rotate-key:\n%s", r)
	}
	// The old key no longer opens the state; the new one does.
	if r := w.run("plan"); r.code != 1 || !strings.Contains(r.stderr, "sealed with key") {
		t.Fatalf("plan with the old key after rotation:\n%s", r)
	}
	w.env = append(base, "LLMOPS_STATE_KEY="+newKey)
	w.must(0, "plan", "-detailed-exitcode")
	if got := strings.TrimSpace(w.must(0, "output", "-raw", "token").stdout); got != "tok-9876-secret" {
		t.Fatalf("output with the new key: %q", got)
	}
	// A wrong key is refused without changing anything.
	w.write(map[string]string{"bad.key": oldKey})
	if r := w.run("state", "rotate-key", "-new-key-file", filepath.Join(w.dir, "bad.key")); r.code != 0 {
		t.Fatalf("rotating back: %s", r)
	}
}

// A read-only state directory: the apply fails with a clear error before
// changing anything, and leaves no partial state version.
func TestE2EReadOnlyStateDirectory(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`})
	w.must(0, "init")
	w.must(0, "plan") // creates the state
	stateDir := filepath.Join(w.dir, ".llmops")
	os.Chmod(w.dir, 0o755)
	os.Chmod(stateDir, 0o555)
	os.Chmod(filepath.Join(stateDir, "state.db"), 0o444)
	t.Cleanup(func() { os.Chmod(stateDir, 0o755); os.Chmod(filepath.Join(stateDir, "state.db"), 0o644) })
	args := []string{"apply", "-auto-approve"}
	var r result
	if os.Geteuid() == 0 {
		// Root ignores file modes: run llmops as nobody.
		os.Chmod(filepath.Dir(w.dir), 0o755)
		r = w.runAs(65534, args...)
	} else {
		r = w.run(args...)
	}
	t.Logf("apply with a read-only state directory:\n%s", r.stderr)
	if r.code != 1 || !(strings.Contains(r.stderr, "read-only") || strings.Contains(r.stderr, "permission denied") || strings.Contains(r.stderr, "readonly")) {
		t.Fatalf("apply with a read-only state directory:\n%s", r)
	}
	os.Chmod(stateDir, 0o755)
	os.Chmod(filepath.Join(stateDir, "state.db"), 0o644)
	if r := w.must(0, "history"); strings.Contains(r.stdout, "apply") {
		t.Fatalf("a state version was recorded:\n%s", r.stdout)
	}
}

// A full disk under the state: the apply is refused before anything
// changes, with a clear error, and leaves no state version.
func TestE2EDiskFullRefusesApply(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "r" {
  count = 300
  input = "v${count.index}"
}
`})
	w.must(0, "init")
	stateDir := filepath.Join(w.dir, ".llmops")
	os.MkdirAll(stateDir, 0o755)
	if os.Geteuid() != 0 || exec.Command("mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", stateDir).Run() != nil {
		t.Skip("needs root and tmpfs to make a small filesystem for the state")
	}
	t.Cleanup(func() { exec.Command("umount", stateDir).Run() })
	// The provider binaries' cache (tens of MB) goes elsewhere, as a user
	// with a small .llmops filesystem would put it.
	w.env = append(w.env, "LLMOPS_PROVIDER_CACHE="+t.TempDir())
	w.must(0, "init") // logs live in .llmops too
	r := w.run("apply", "-auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "Not enough disk space for the state") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("apply on a full disk:\n%s", r)
	}
	if r := w.must(0, "history"); !strings.Contains(r.stdout, "No state versions yet") {
		t.Fatalf("a state version was recorded:\n%s", r.stdout)
	}
}
