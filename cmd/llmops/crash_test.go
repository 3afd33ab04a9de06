package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/internal/testenv"
	"github.com/llmops/llmops/state"
)

// crashHelperEnv makes the test binary run as llmops with a command,
// `crash`, that takes the state lock and then panics where its argument
// says: in the command's goroutine ("main"), in a visit of a graph walk
// ("walk"), or in a goroutine nobody waits for ("goroutine").
const crashHelperEnv = "LLMOPS_TEST_CRASH_HELPER"

func crashHelper(mode string, args []string) int {
	commands["crash"] = command{"panic for the crash tests", func(m *meta, _ []string) int {
		ctx := context.Background()
		st, ok := m.openState(ctx)
		if !ok {
			return exitError
		}
		defer st.Close()
		m.useLock = true // as the -lock flag's default
		unlock, ok := m.lock(ctx, st, "crash")
		if !ok {
			return exitError
		}
		defer unlock()
		switch mode {
		case "main":
			panic("deliberate panic in the command")
		case "walk":
			g := graph.New[int]()
			g.Connect(2, 1)
			g.Walk(ctx, 2, func(_ context.Context, n int) graph.Result {
				if n == 1 {
					panic("deliberate panic in a walk visit")
				}
				return graph.OK
			}, nil)
		case "goroutine":
			panics.Go(func() { panic("deliberate panic in a goroutine") })
			time.Sleep(time.Minute) // the handler exits long before
		}
		return exitOK
	}}
	return run(args, os.Stdin, os.Stdout, os.Stderr)
}

// A panic anywhere in llmops exits 1 (never 2, which plan
// -detailed-exitcode uses for "changes"), says where the stack trace was
// written, writes it there, and leaves the state lock released. Before,
// each of these crashed with Go's trace and exit 2, with the lock held.
func TestCrashExitsOneAndReleasesLock(t *testing.T) {
	for _, c := range []struct{ mode, msg, frame string }{
		{"main", "deliberate panic in the command", "llmops.crashHelper.func1("},
		{"walk", "deliberate panic in a walk visit", "llmops.crashHelper.func1.1("},
		{"goroutine", "deliberate panic in a goroutine", "llmops.crashHelper.func1.2("},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "crash")
			cmd.Dir = dir
			cmd.Env = testenv.Clean(crashHelperEnv+"="+c.mode, "NO_COLOR=1")
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			ee, _ := err.(*exec.ExitError)
			if ee == nil || ee.ExitCode() != 1 {
				t.Fatalf("want exit 1, got %v:\n%s", err, out.String())
			}
			if strings.Contains(out.String(), "goroutine ") {
				t.Fatalf("Go's own crash trace was printed:\n%s", out.String())
			}
			re := regexp.MustCompile(`Error: llmops crashed: ` + regexp.QuoteMeta(c.msg) + `\n\nThis is a bug in llmops\. Its stack trace is in (\.llmops/logs/\S+\.log); please report it with that file\.\nThe state lock was released\.`)
			m := re.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("the error does not say what crashed and where its stack is:\n%s", out.String())
			}
			log, err := os.ReadFile(filepath.Join(dir, m[1]))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(log), "panic: "+c.msg) || !strings.Contains(string(log), c.frame) {
				t.Fatalf("the log lacks the panic or the frame %s:\n%s", c.frame, log)
			}
			st, err := state.OpenSQLite(ctx, filepath.Join(dir, ".llmops", "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			id, warning, err := st.Lock(ctx, state.LockInfo{Who: "test", Operation: "check", PID: os.Getpid(), Created: time.Now().UTC()}, 0)
			if err != nil || warning != "" {
				t.Fatalf("the lock was not released: err %v, warning %q", err, warning)
			}
			st.Unlock(ctx, id)
		})
	}
}
