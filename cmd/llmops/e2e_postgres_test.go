package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmops/llmops/internal/testenv"
)

// The end-to-end tests of the PostgreSQL backend: two working directories
// (two "machines": nothing shared but the server) on one schema.

const pgStateKey = "LLMOPS_STATE_KEY=6zBTWM5G6mi51I6v9+XecbdiLLZpb/rPhW83a5P0Xhk="

func backendBlock(schema string) string {
	return "\nllmops {\n  backend \"postgres\" {\n    schema = \"" + schema + "\"\n  }\n}\n"
}

// pgMachine is a working directory whose llmops reaches the server
// through the libpq environment (DATABASE_URL), as a teammate's would.
func pgMachine(t *testing.T, url string, files map[string]string) *workspace {
	t.Helper()
	w := newWorkspace(t, files)
	w.env = append(w.env, testenv.PostgresEnv(url)...)
	return w
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// prompted is an apply started without -auto-approve, waiting at its
// approval prompt (holding the state lock).
type prompted struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
}

func (w *workspace) startPrompted(args ...string) *prompted {
	w.t.Helper()
	p := &prompted{out: &syncBuffer{}}
	p.cmd = exec.Command(filepath.Join(binDir, "llmops"), args...)
	p.cmd.Dir, p.cmd.Env = w.dir, w.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		w.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.out.String(), "Enter a value:") {
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			w.t.Fatalf("llmops %s did not reach its approval prompt:\n%s", strings.Join(args, " "), p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// answer answers the prompt and waits for the process to end.
func (p *prompted) answer(t *testing.T, line string) (int, string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
	p.stdin.Close()
	err := p.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, p.out.String()
}

func startLLMOps(w *workspace, args ...string) (*exec.Cmd, *syncBuffer) {
	w.t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(filepath.Join(binDir, "llmops"), args...)
	cmd.Dir, cmd.Env = w.dir, w.env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	return cmd, out
}

const teamHCL = `
variable "api_key" {
  type      = string
  sensitive = true
}
variable "gen" {
  default = "g1"
}
resource "null_value" "base" {
  input = { name = "base", gen = var.gen }
}
resource "null_value" "worker" {
  count = 3
  input = { id = count.index, parent = null_value.base.output.name }
}
resource "null_value" "secret" {
  input = { key = var.api_key, user = "svc" }
}
output "base" {
  value = null_value.base.output.name
}
`

const teamSecret = "sk-team-secret-5f2d8c0e9a71"

// Two machines on one PostgreSQL state: what one applies the other plans
// as no change; an apply waiting at its prompt on one blocks the other,
// naming the holder, until it ends (-lock-timeout waits for it); a lock
// can be forced away, and dies with a killed holder; history, diff and
// rollback work from the second machine; the secret never reaches the
// server, nor any output, in clear.
func TestE2EPostgresTwoMachines(t *testing.T) {
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	files := map[string]string{"main.llmops.hcl": teamHCL + backendBlock(schema)}
	a, b := pgMachine(t, url, files), pgMachine(t, url, files)
	for _, w := range []*workspace{a, b} {
		w.env = append(w.env, pgStateKey, "LLMOPS_VAR_api_key="+teamSecret)
	}
	var outputs strings.Builder
	must := func(w *workspace, code int, args ...string) result {
		t.Helper()
		r := w.must(code, args...)
		outputs.WriteString(r.stdout + r.stderr)
		return r
	}

	r := must(a, 0, "init")
	if !strings.Contains(r.stdout, `- state: PostgreSQL schema "`+schema+`"`) || !strings.Contains(r.stdout, "(created)") {
		t.Fatalf("init on the first machine:\n%s", r)
	}
	must(a, 0, "apply", "-auto-approve") // serial 1
	r = must(b, 0, "init")
	if !strings.Contains(r.stdout, "(up to date)") {
		t.Fatalf("init on the second machine:\n%s", r)
	}
	if r = must(b, 0, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("the second machine should see the first one's apply:\n%s", r)
	}

	// An apply waiting at its prompt holds the lock.
	for _, w := range []*workspace{a, b} {
		w.env = append(w.env, "LLMOPS_VAR_gen=g2")
	}
	p := a.startPrompted("apply")
	providersInheritNoCredentials(t, p.cmd.Process.Pid)
	r = b.run("plan")
	outputs.WriteString(r.stdout + r.stderr)
	who, _ := who()
	if r.code != 1 || !strings.Contains(r.stderr, "Error acquiring the state lock") || !strings.Contains(r.stderr, "locked by "+who) ||
		!strings.Contains(r.stderr, `for "apply"`) || !strings.Contains(r.stderr, "force-unlock") {
		t.Fatalf("a plan while the other machine waits at its prompt should fail naming the holder:\n%s", r)
	}
	waiting, wout := startLLMOps(b, "plan", "-lock-timeout=2m", "-detailed-exitcode")
	waitForSession(t, url, "llmops lock: plan by %") // it is waiting for the lock
	code, out := p.answer(t, "yes")
	outputs.WriteString(out)
	// base changes; the workers, planned as updates while base's output was
	// unknown, turn out unchanged once it is applied: not counted.
	if code != 0 || !strings.Contains(out, "Apply complete! Resources: 0 added, 1 changed") {
		t.Fatalf("the first machine's apply:\n%s", out)
	}
	if err := waiting.Wait(); err != nil || !strings.Contains(wout.String(), "No changes.") {
		t.Fatalf("the plan waiting with -lock-timeout should run once the apply ends (%v):\n%s", err, wout)
	}
	outputs.WriteString(wout.String())

	// force-unlock from the second machine.
	for _, w := range []*workspace{a, b} {
		w.env = append(w.env, "LLMOPS_VAR_gen=g3")
	}
	p = a.startPrompted("apply")
	r = b.run("plan")
	id := lockID(t, r.stderr)
	r = must(b, 0, "force-unlock", "-force", id)
	if !strings.Contains(r.stdout, "The state lock "+id+" was removed.") {
		t.Fatalf("force-unlock:\n%s", r)
	}
	must(b, 2, "plan", "-detailed-exitcode")
	code, out = p.answer(t, "no")
	if code != 1 || !strings.Contains(out, "could not release the state lock") {
		t.Fatalf("the forced-out apply should say it lost its lock:\n%s", out)
	}

	// A killed holder's lock dies with its connection.
	p = a.startPrompted("apply")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	r = must(b, 2, "plan", "-detailed-exitcode", "-lock-timeout=1m")
	if !strings.Contains(r.stderr, "Took over a stale state lock") || !strings.Contains(r.stderr, "connection to the database has ended") {
		t.Fatalf("the plan after the holder was killed should take the lock over:\n%s", r)
	}
	must(b, 0, "apply", "-auto-approve") // serial 3

	// history, diff and rollback from the second machine.
	r = must(b, 0, "history")
	if lines := strings.Count(strings.TrimSpace(r.stdout), "\n"); lines != 3 {
		t.Fatalf("history should list 3 versions:\n%s", r)
	}
	r = must(b, 0, "diff", "1", "2")
	if !strings.Contains(r.stdout, `~ gen  = "g1" -> "g2"`) {
		t.Fatalf("diff 1 2:\n%s", r)
	}
	must(b, 0, "rollback", "null_value.base", "--to", "1", "-auto-approve") // serial 4
	r = must(a, 0, "show")
	if !strings.Contains(r.stdout, `gen  = "g1"`) {
		t.Fatalf("the first machine should see the rollback:\n%s", r)
	}
	r = must(a, 0, "history")
	if !strings.Contains(r.stdout, "rollback null_value.base --to 1") {
		t.Fatalf("history on the first machine:\n%s", r)
	}
	if strings.Contains(outputs.String(), teamSecret) {
		t.Fatal("an output shows the secret")
	}
	if pw := passwordOf(url); pw != "" && strings.Contains(outputs.String(), pw) {
		t.Fatal("an output shows the database password")
	}
	serverHoldsNoSecret(t, url, schema, teamSecret)
}

// waitForSession waits until the server has a session whose
// application_name is like name: a lock being taken or held.
func waitForSession(t *testing.T, url, name string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session %q on the server after a minute", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// providersInheritNoCredentials checks that the provider processes of the
// llmops process pid (alive while it waits at its prompt) did not inherit
// the state's credentials from its environment.
func providersInheritNoCredentials(t *testing.T, pid int) {
	t.Helper()
	own, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		t.Skipf("cannot read the environment of processes here: %v", err)
	}
	if !bytes.Contains(own, []byte("\x00DATABASE_URL=")) && !bytes.HasPrefix(own, []byte("DATABASE_URL=")) {
		t.Fatal("llmops itself runs without DATABASE_URL: the check below would prove nothing")
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := 0
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(b), ") ")
		if f := strings.Fields(rest); !ok || len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		env, err := os.ReadFile(filepath.Join(filepath.Dir(st), "environ"))
		if err != nil {
			continue
		}
		children++
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, []byte("DATABASE_URL=")) || bytes.HasPrefix(kv, []byte("PGPASSWORD=")) {
				t.Errorf("provider process %s inherited %s", filepath.Dir(st), bytes.SplitN(kv, []byte("="), 2)[0])
			}
		}
	}
	if children == 0 {
		t.Fatal("found no provider process of the waiting apply")
	}
}

// lockID reads the lock ID from a lock error.
func lockID(t *testing.T, stderr string) string {
	t.Helper()
	_, rest, ok := strings.Cut(stderr, "Lock ID: ")
	if !ok {
		t.Fatalf("no lock ID in:\n%s", stderr)
	}
	return strings.Fields(rest)[0]
}

func passwordOf(url string) string {
	_, rest, ok := strings.Cut(url, "://")
	if !ok {
		return ""
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

// serverHoldsNoSecret reads every value the schema's tables hold and
// fails if secret is among them in clear.
func serverHoldsNoSecret(t *testing.T, url, schema, secret string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var blobs [][]byte
	for _, q := range []string{
		`SELECT coalesce(value_json, ''), coalesce(type_json, ''), coalesce(private, ''), coalesce(sensitive_paths, ''), convert_to(pending_status, 'UTF8') FROM %s.objects`,
		`SELECT convert_to(coalesce(outputs_json, ''), 'UTF8'), convert_to(counts_json, 'UTF8'), convert_to(command, 'UTF8'), ''::bytea, ''::bytea FROM %s.versions`,
		`SELECT coalesce(data, ''), convert_to(message, 'UTF8'), ''::bytea, ''::bytea, ''::bytea FROM %s.events`,
	} {
		rows, err := conn.Query(ctx, strings.Replace(q, "%s", pgx.Identifier{schema}.Sanitize(), 1))
		if err != nil {
			t.Fatal(err)
		}
		var c [5][]byte
		_, err = pgx.ForEachRow(rows, []any{&c[0], &c[1], &c[2], &c[3], &c[4]}, func() error {
			for _, b := range c {
				blobs = append(blobs, append([]byte(nil), b...))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(blobs) == 0 {
		t.Fatal("read nothing from the server")
	}
	for _, b := range blobs {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("the server holds the secret in clear: %q", b)
		}
		// Outputs keep their values base64-encoded in JSON.
		var outs []struct{ Value []byte }
		if json.Unmarshal(b, &outs) == nil {
			for _, o := range outs {
				if bytes.Contains(o.Value, []byte(secret)) {
					t.Fatalf("an output on the server holds the secret in clear: %q", o.Value)
				}
			}
		}
	}
}

// A SQLite state with several versions, a rollback pin and sealed values
// moves to PostgreSQL with init -migrate-state, every version kept; a
// non-empty destination is refused; and it moves back when the backend
// block goes away.
func TestE2EPostgresMigrateState(t *testing.T) {
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	w := pgMachine(t, url, map[string]string{"main.llmops.hcl": teamHCL})
	w.env = append(w.env, pgStateKey, "LLMOPS_VAR_api_key="+teamSecret)
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")                                    // 1
	w.must(0, "apply", "-auto-approve", "-var", "gen=g2")                  // 2
	w.must(0, "apply", "-auto-approve", "-var", "gen=g3")                  // 3
	w.must(0, "rollback", "null_value.base", "--to", "1", "-auto-approve") // 4, and a pin
	record := func() string {
		t.Helper()
		var b strings.Builder
		for _, args := range [][]string{{"history", "-json"}, {"events", "-json", "-n", "0"}, {"show", "-json"}, {"show", "-version", "2"}, {"output", "-json"}} {
			b.WriteString(w.must(0, args...).stdout)
		}
		return b.String()
	}
	before := record()
	if !strings.Contains(before, `"serial": 4`) {
		t.Fatalf("the SQLite state should have 4 versions:\n%s", before)
	}

	w.write(map[string]string{"main.llmops.hcl": teamHCL + backendBlock(schema)})
	r := w.must(1, "plan")
	if !strings.Contains(r.stderr, "A local state was not migrated") || !strings.Contains(r.stderr, "init -migrate-state") {
		t.Fatalf("a plan before the migration should refuse:\n%s", r)
	}
	r = w.must(1, "plan", "-state", ".llmops/state.db")
	if !strings.Contains(r.stderr, "-state cannot be used with a state backend") {
		t.Fatalf("-state with a backend should be refused:\n%s", r)
	}
	r = w.must(0, "init", "-migrate-state")
	if !strings.Contains(r.stdout, "Copied 4 versions,") || !strings.Contains(r.stdout, "moved to") {
		t.Fatalf("init -migrate-state:\n%s", r)
	}
	if after := record(); after != before {
		t.Fatalf("the state differs after the migration:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if r = w.must(0, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after the migration (the rollback pin must have moved too):\n%s", r)
	}
	serverHoldsNoSecret(t, url, schema, teamSecret)

	// Another local state cannot be copied over it.
	other := pgMachine(t, url, map[string]string{"main.llmops.hcl": teamHCL})
	other.env = w.env
	other.must(0, "init")
	other.must(0, "apply", "-auto-approve")
	other.write(map[string]string{"main.llmops.hcl": teamHCL + backendBlock(schema)})
	r = other.must(1, "init", "-migrate-state")
	if !strings.Contains(r.stderr, "The destination state is not empty") {
		t.Fatalf("a migration into a used schema should be refused:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(other.dir, ".llmops", "state.db")); err != nil {
		t.Fatalf("the refused migration moved its source: %v", err)
	}

	// And back to a local file.
	w.must(0, "rollback", "--release", "null_value.base")
	w.must(0, "apply", "-auto-approve", "-var", "gen=g4") // 5, on PostgreSQL
	before = record()
	w.write(map[string]string{"main.llmops.hcl": teamHCL})
	r = w.must(1, "plan")
	if !strings.Contains(r.stderr, "The state backend changed") {
		t.Fatalf("a plan without the backend block should refuse:\n%s", r)
	}
	r = w.must(0, "init", "-migrate-state")
	if !strings.Contains(r.stdout, "Copied 5 versions,") {
		t.Fatalf("init -migrate-state back:\n%s", r)
	}
	if after := record(); after != before {
		t.Fatalf("the state differs after migrating back:\n--- before\n%s\n--- after\n%s", before, after)
	}
	w.must(0, "plan", "-detailed-exitcode", "-var", "gen=g4")
}

// A local state that records nothing (made by a command such as show) is
// no reason to refuse the backend: there is nothing to migrate.
func TestE2EPostgresEmptyLocalStateIsNoObstacle(t *testing.T) {
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	w := pgMachine(t, url, map[string]string{"main.llmops.hcl": "resource \"null_value\" \"a\" {\n  input = 1\n}\n"})
	w.must(0, "show") // creates an empty .llmops/state.db
	if _, err := os.Stat(filepath.Join(w.dir, ".llmops", "state.db")); err != nil {
		t.Fatalf("show made no local state: %v", err)
	}
	w.write(map[string]string{"main.llmops.hcl": "resource \"null_value\" \"a\" {\n  input = 1\n}\n" + backendBlock(schema)})
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	if r := w.must(0, "history"); !strings.Contains(r.stdout, "apply -auto-approve") {
		t.Fatalf("history:\n%s", r)
	}
}

// Configuration and flag errors of the backend need no server.
func TestE2EPostgresBackendErrors(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "a" {
  input = 1
}
` + backendBlock("offline_state")})
	w.env = append(w.env, "DATABASE_URL=postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
	r := w.must(1, "plan", "-state", "x.db")
	if !strings.Contains(r.stderr, "-state cannot be used with a state backend") || !strings.Contains(r.stderr, "main.llmops.hcl:6") {
		t.Fatalf("-state with a backend:\n%s", r)
	}
	r = w.must(1, "show")
	if !strings.Contains(r.stderr, "Cannot open the state") || !strings.Contains(r.stderr, "DATABASE_URL, or PGHOST") ||
		!strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("an unreachable server:\n%s", r)
	}
	r = w.must(1, "state", "restore")
	if !strings.Contains(r.stderr, "pg_restore") {
		t.Fatalf("state restore with a backend:\n%s", r)
	}
}
