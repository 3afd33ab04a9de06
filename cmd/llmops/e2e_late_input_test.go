package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An env value with a NUL byte is refused by validate (and plan), naming
// the file, the line and the variable, never its value: it used to fail
// only at apply, when the job started.
func TestE2ENULInEnvRefusedAtValidate(t *testing.T) {
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl": `
variable "k" {
  type      = string
  sensitive = true
}
dataset "d" {
  source = "file://data.jsonl"
  transform {
    command = ["sh", "-c", "cp \"$LLMOPS_INPUT_PATH\" \"$LLMOPS_OUTPUT_DIR/data.jsonl\""]
    env     = { TOKEN = "${var.k}\u0000tail" }
  }
}
`,
		"data.jsonl": "{\"text\": \"a\"}\n",
	})
	w.env = append(w.env, "LLMOPS_VAR_k=nul-secret-value", "LLMOPS_STATE_KEY="+testStateKey)
	w.must(0, "init")
	for _, cmd := range [][]string{{"validate"}, {"plan"}} {
		r := w.run(cmd...)
		if r.code != 1 || !strings.Contains(r.stderr, "NUL byte") || !strings.Contains(r.stderr, "TOKEN") || !strings.Contains(r.stderr, "main.llmops.hcl:") {
			t.Errorf("llmops %s: want the NUL refused with file, line and name:\n%s", cmd[0], r)
		}
		if strings.Contains(r.stdout+r.stderr, "nul-secret-value") {
			t.Errorf("llmops %s shows the value:\n%s", cmd[0], r)
		}
	}
	if runs, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "artifacts", "runs", "local", "*", "*")); len(runs) != 0 {
		t.Errorf("a job was started: %v", runs)
	}
}

// A damaged object record (not a damaged file) says which backup to
// restore and how, as a damaged file does.
func TestE2EDamagedObjectRecordSaysHowToRestore(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("needs the sqlite3 command (Debian: apt-get install sqlite3)")
	}
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.write(map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 2 }`})
	w.must(0, "apply", "-auto-approve") // takes a backup first
	db := filepath.Join(w.dir, ".llmops", "state.db")
	if out, err := exec.Command("sqlite3", db, `UPDATE objects SET value_json = X'7b2262726f6b' WHERE serial_removed IS NULL`).CombinedOutput(); err != nil {
		t.Fatalf("damaging the record: %v %s", err, out)
	}
	backups, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "backups", "state-serial*.db"))
	if len(backups) == 0 {
		t.Fatal("no backup")
	}
	for _, cmd := range [][]string{{"plan"}, {"show"}} {
		r := w.run(cmd...)
		if r.code != 1 || !strings.Contains(r.stderr, "null_value.r") || !strings.Contains(r.stderr, "llmops state restore") || !strings.Contains(r.stderr, filepath.Base(backups[len(backups)-1])) {
			t.Errorf("llmops %s on a damaged record:\n%s", cmd[0], r)
		}
	}
	w.must(0, "state", "restore")
	w.must(0, "plan")
}

// `state rotate-key` killed at any moment leaves a state that opens with
// the old key or with the new one (never a mix), and running the same
// rotation again completes it.
func TestE2ERotateKeyKilledMidwayIsRecoverable(t *testing.T) {
	var hcl strings.Builder
	hcl.WriteString("variable \"token\" {\n  type      = string\n  sensitive = true\n}\n")
	hcl.WriteString("resource \"null_value\" \"s\" {\n  count = 60\n  input = \"${var.token}-${count.index}\"\n}\n")
	hcl.WriteString("output \"token\" {\n  value     = var.token\n  sensitive = true\n}\n")
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": hcl.String()})
	oldKey := strings.TrimSpace(w.must(0, "state", "keygen").stdout)
	newKeyFile := filepath.Join(w.dir, "new.key")
	w.must(0, "state", "keygen", "-out", newKeyFile)
	nk, _ := os.ReadFile(newKeyFile)
	newKey := strings.TrimSpace(string(nk))
	base := append([]string(nil), w.env...)
	base = append(base, "LLMOPS_VAR_token=rot-secret-5555")
	withKey := func(k string) { w.env = append(append([]string(nil), base...), "LLMOPS_STATE_KEY="+k) }
	withKey(oldKey)
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	stateDir := filepath.Join(w.dir, ".llmops")
	pristine := filepath.Join(t.TempDir(), "state.db")
	copyTestFile(t, filepath.Join(stateDir, "state.db"), pristine)

	opens := func(k string) bool {
		withKey(k)
		r := w.run("output", "-raw", "token")
		return r.code == 0 && r.stdout == "rot-secret-5555"
	}
	killedMidway := 0
	for i := 0; i < 20; i++ {
		for _, f := range []string{"state.db", "state.db-wal", "state.db-shm"} {
			os.Remove(filepath.Join(stateDir, f))
		}
		copyTestFile(t, pristine, filepath.Join(stateDir, "state.db"))
		withKey(oldKey)
		cmd := exec.Command(filepath.Join(binDir, "llmops"), "state", "rotate-key", "-new-key-file", newKeyFile)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = w.dir, w.env, io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Duration(i*3) * time.Millisecond):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err != nil {
				killedMidway++
			}
		}
		old, nw := opens(oldKey), opens(newKey)
		if old == nw {
			t.Fatalf("kill %d: the state opens with the old key: %v, with the new key: %v; want exactly one", i, old, nw)
		}
		// The same rotation again completes it, whatever the kill left.
		withKey(oldKey)
		if r := w.run("state", "rotate-key", "-new-key-file", newKeyFile); r.code != 0 {
			t.Fatalf("kill %d: rotating again:\n%s", i, r)
		}
		if !opens(newKey) || opens(oldKey) {
			t.Fatalf("kill %d: after rotating again the state should open with the new key only", i)
		}
	}
	t.Logf("%d of 20 rotations were killed before they finished", killedMidway)
	if killedMidway == 0 {
		t.Error("no rotation was killed midway: the test did not exercise the kill")
	}
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
