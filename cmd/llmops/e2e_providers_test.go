package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const fiftyNulls = `
resource "null_value" "r" {
  count = 50
  input = "v${count.index}"
}
`

// syncBuf is a concurrency-safe buffer for a background command's output.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (w *workspace) start(env []string, args ...string) (*exec.Cmd, *syncBuf) {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "llmops"), args...)
	cmd.Dir = w.dir
	cmd.Env = append(append([]string{}, w.env...), env...)
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	return cmd, out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var completeRE = regexp.MustCompile(`(?m)^(null_value\.r\[\d+\]): Creation complete`)

func completed(out string) []string {
	var got []string
	for _, m := range completeRE.FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	sort.Strings(got)
	return got
}

// childPIDs returns the pids whose parent is pid (Linux /proc).
func childPIDs(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 {
			if pp, _ := strconv.Atoi(f[1]); pp == pid {
				out = append(out, n)
			}
		}
	}
	return out
}

func listState(t *testing.T, w *workspace) []string {
	t.Helper()
	r := w.must(0, "state", "list")
	got := strings.Fields(r.stdout)
	sort.Strings(got)
	return got
}

// A provider killed with SIGKILL in the middle of an apply: llmops names
// the provider and the objects in flight, the state holds exactly what
// finished, and the next apply completes the rest.
func TestE2EProviderKilledMidApply(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": fiftyNulls})
	w.must(0, "init")
	cmd, out := w.start([]string{"LLMOPS_NULL_TEST_SLEEP=150ms"}, "apply", "-auto-approve", "-parallelism=4")
	waitFor(t, "ten creations", func() bool { return len(completed(out.String())) >= 10 })
	kids := childPIDs(cmd.Process.Pid)
	if len(kids) == 0 {
		t.Fatal("no provider process found")
	}
	for _, k := range kids {
		syscall.Kill(k, syscall.SIGKILL)
	}
	err := cmd.Wait()
	if err == nil {
		t.Fatalf("apply succeeded although its provider was killed:\n%s", out)
	}
	text := out.String()
	if !strings.Contains(strings.ToLower(text), "the provider null exited unexpectedly") {
		t.Fatalf("llmops did not name the dead provider:\n%s", text)
	}
	if !regexp.MustCompile(`null_value\.r\[\d+\] \(create\): `).MatchString(text) {
		t.Fatalf("llmops did not list the objects in flight:\n%s", text)
	}
	done := completed(text)
	if got := listState(t, w); strings.Join(got, " ") != strings.Join(done, " ") {
		t.Fatalf("state does not hold exactly what finished:\nstate:    %v\nfinished: %v", got, done)
	}
	r := w.must(0, "apply", "-auto-approve")
	want := 50 - len(done)
	if !strings.Contains(r.stdout, "Apply complete! Resources: "+strconv.Itoa(want)+" added") {
		t.Fatalf("second apply should add the %d missing objects:\n%s", want, r)
	}
	if n := len(listState(t, w)); n != 50 {
		t.Fatalf("state has %d objects after the second apply", n)
	}
	w.must(0, "plan", "-detailed-exitcode")
}

// A provider crashing by itself mid-apply is reported the same way.
func TestE2EProviderCrashMidApply(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": fiftyNulls})
	w.must(0, "init")
	w.env = append(w.env, "LLMOPS_NULL_TEST_CRASH_AFTER=20")
	r := w.run("apply", "-auto-approve", "-parallelism=1")
	if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr+r.stdout), "the provider null exited unexpectedly") {
		t.Fatalf("crash not reported:\n%s", r)
	}
	done := completed(r.stdout)
	if len(done) != 19 {
		t.Fatalf("with parallelism 1 and a crash on the 20th call, 19 must finish; got %d", len(done))
	}
	if got := listState(t, w); strings.Join(got, " ") != strings.Join(done, " ") {
		t.Fatalf("state %v != finished %v", got, done)
	}
	w.env = w.env[:len(w.env)-1]
	w.must(0, "apply", "-auto-approve")
	if n := len(listState(t, w)); n != 50 {
		t.Fatalf("state has %d objects", n)
	}
}

// A hanging provider: the first Ctrl-C asks it to stop, waits for the
// calls in flight, records what finished and exits non-zero.
func TestE2EInterruptHangingProvider(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "fast" {
  input = "f"
}
resource "null_value" "hang" {
  input = null_value.fast.id
}
`})
	w.must(0, "init")
	// Only the second object hangs: the first call returns at once.
	cmd, out := w.start([]string{"LLMOPS_NULL_TEST_SLEEP=1h"}, "apply", "-auto-approve", "-parallelism=1")
	waitFor(t, "the apply to start", func() bool { return strings.Contains(out.String(), "Creating...") })
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatalf("interrupted apply exited 0:\n%s", out)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("llmops did not stop after SIGINT:\n%s", out)
	}
	if !strings.Contains(out.String(), "Interrupt received") {
		t.Fatalf("no interrupt message:\n%s", out)
	}
	// The state is consistent and usable: a plain apply finishes.
	r := w.must(0, "apply", "-auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply after interrupt:\n%s", r)
	}
	if n := len(listState(t, w)); n != 2 {
		t.Fatalf("state has %d objects", n)
	}
}

// After Ctrl-C the summary says the apply was interrupted, and not also
// that it completed: with a long operation left running (pending) and no
// change failed, it used to print "Error: Apply interrupted" and then
// "Apply complete! Resources: 2 added".
func TestE2EInterruptSummary(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "first" {
  input = "f"
}
resource "null_job" "long" {
  duration = "1h"
}
`})
	w.must(0, "init")
	cmd, out := w.start(nil, "apply", "-auto-approve", "-no-color")
	waitFor(t, "the job to be waited for", func() bool {
		return strings.Contains(out.String(), "null_job.long: ") && strings.Contains(out.String(), "null_value.first: Creation complete")
	})
	cmd.Process.Signal(os.Interrupt)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatalf("interrupted apply exited 0:\n%s", out)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("llmops did not stop within 60s of SIGINT:\n%s", out)
	}
	got := out.String()
	if strings.Contains(got, "Apply complete!") {
		t.Fatalf("an interrupted apply says it completed:\n%s", got)
	}
	if !strings.Contains(got, "Apply interrupted. Resources: 2 added, 0 changed, 0 replaced, 0 destroyed before it stopped.") {
		t.Fatalf("the summary does not say the apply was interrupted:\n%s", got)
	}
	if !strings.Contains(got, "1 long operation(s) still running: null_job.long") {
		t.Fatalf("the job left running is not named:\n%s", got)
	}
}

// A second Ctrl-C exits at once, leaving a state a plain rerun gets past.
func TestE2ESecondInterruptExitsAtOnce(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `
resource "null_value" "hang" {
  count = 2
  input = count.index
}
`})
	w.must(0, "init")
	cmd, out := w.start([]string{"LLMOPS_NULL_TEST_SLEEP=1h"}, "apply", "-auto-approve")
	waitFor(t, "the apply to start", func() bool { return strings.Contains(out.String(), "Creating...") })
	// A provider that ignores StopProvider: block the stop by sending the
	// second signal right after the first.
	cmd.Process.Signal(os.Interrupt)
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case <-errc:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("llmops did not exit after a second SIGINT:\n%s", out)
	}
	for _, k := range childPIDs(cmd.Process.Pid) {
		syscall.Kill(k, syscall.SIGKILL)
	}
	r := w.must(0, "apply", "-auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply after a hard exit:\n%s", r)
	}
}

func TestE2EProtocolVersionMismatch(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`})
	w.must(0, "init")
	w.env = append(w.env, "LLMOPS_NULL_TEST_PROTOCOL=2")
	r := w.run("plan")
	if r.code != 1 || !strings.Contains(r.stderr, "speaks plugin protocol 2; this llmops speaks protocol 1") {
		t.Fatalf("want a message naming both protocol versions:\n%s", r)
	}
}

func TestE2ETamperedProviderRefused(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`})
	plugDir := filepath.Join(w.dir, ".llmops", "plugins")
	os.MkdirAll(plugDir, 0o755)
	src, _ := os.ReadFile(filepath.Join(binDir, "llmops-provider-null"))
	bin := filepath.Join(plugDir, "llmops-provider-null")
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	w.must(0, "init")
	w.must(2, "plan", "-detailed-exitcode")
	// Tamper: one more byte at the end of the binary.
	f, _ := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0})
	f.Close()
	r := w.run("plan")
	if r.code != 1 || !strings.Contains(r.stderr, "llmops init -upgrade") || !strings.Contains(r.stderr, "null") {
		t.Fatalf("tampered provider not refused with the lock-file message:\n%s", r)
	}
	if !regexp.MustCompile(`[0-9a-f]{64}[\s\S]*[0-9a-f]{64}`).MatchString(r.stderr) {
		t.Fatalf("the message must name both hashes:\n%s", r.stderr)
	}
	w.must(0, "init", "-upgrade")
	w.must(2, "plan", "-detailed-exitcode")
}
