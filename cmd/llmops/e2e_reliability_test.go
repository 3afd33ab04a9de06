package main

import (
	"os"
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
