package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What llmops writes is its owner's alone: .llmops/ 0700, the state,
// backups, logs, key files and job logs 0600, and no journal left in
// backups/; a key file others can read is warned about, as ssh does.
func TestE2EPermissions(t *testing.T) {
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl": `
resource "null_value" "r" { input = var.n }
variable "n" {
  type    = number
  default = 1
}
dataset "d" {
  source = "file://data.jsonl"
  transform {
    command = ["sh", "-c", "echo transforming; cp \"$LLMOPS_INPUT_PATH\" \"$LLMOPS_OUTPUT_DIR/data.jsonl\""]
  }
}
`,
		"data.jsonl": "{\"text\": \"a\"}\n",
	})
	keyFile := filepath.Join(w.dir, "state.key")
	w.must(0, "state", "keygen", "-out", keyFile)
	if r := w.run("state", "keygen", "-out", keyFile); r.code == 0 || !strings.Contains(r.stderr, "exists already") {
		t.Errorf("keygen overwrote an existing key file:\n%s", r)
	}
	w.env = append(w.env, "LLMOPS_STATE_KEY_FILE="+keyFile)
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.must(0, "apply", "-auto-approve", "-var", "n=2") // a second apply takes a backup
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	for p, want := range map[string]os.FileMode{
		keyFile: 0o600, filepath.Join(w.dir, ".llmops"): 0o700, filepath.Join(w.dir, ".llmops", "state.db"): 0o600,
		filepath.Join(w.dir, ".llmops", "backups"): 0o700,
	} {
		if got := mode(p); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
	backups, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "backups", "*"))
	if len(backups) == 0 {
		t.Fatal("no backup was taken")
	}
	for _, b := range backups {
		if strings.HasSuffix(b, "-journal") || strings.HasPrefix(filepath.Base(b), ".") {
			t.Errorf("left over in backups/: %s", b)
		} else if got := mode(b); got != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", b, got)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "logs", "*.log"))
	jobLogs, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "artifacts", "runs", "local", "dataset", "*", "job.log"))
	if len(logs) == 0 || len(jobLogs) == 0 {
		t.Fatalf("logs %v, job logs %v", logs, jobLogs)
	}
	for _, p := range append(logs, jobLogs...) {
		if got := mode(p); got != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", p, got)
		}
	}
	// A key file others can read: warned about.
	os.Chmod(keyFile, 0o644)
	r := w.must(0, "plan")
	if !strings.Contains(r.stderr, "The state key file is readable by others") || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("no warning for a 0644 key file:\n%s", r)
	}
	os.Chmod(keyFile, 0o600)
	if r := w.must(0, "plan"); strings.Contains(r.stderr, "readable by others") {
		t.Errorf("a warning for a 0600 key file:\n%s", r)
	}
	// An older .llmops made 0755 is tightened.
	os.Chmod(filepath.Join(w.dir, ".llmops"), 0o755)
	w.must(0, "plan")
	if got := mode(filepath.Join(w.dir, ".llmops")); got != 0o700 {
		t.Errorf(".llmops left %04o", got)
	}
}
