package state

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashHelper is the child process of TestSIGKILLDuringApply: it takes
// the lock, begins a version, records objects and waits to be killed.
func TestCrashHelper(t *testing.T) {
	locator := os.Getenv("LLMOPS_STATE_CRASH_HELPER")
	if locator == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	b, loc, err := backendFromLocator(locator)
	must(t, err)
	s, err := b.open(ctx, loc)
	must(t, err)
	_, _, err = s.Lock(ctx, LockInfo{Operation: "apply"}, 0)
	must(t, err)
	w := begin(t, s, "apply")
	for i := range 500 {
		put(t, w, mkObj(fmt.Sprintf("null_value.r[%d]", i), "crash"))
	}
	fmt.Println("READY")
	time.Sleep(time.Minute)
}

// A process killed in the middle of an apply loses nothing it recorded:
// the next open finds its objects, marks its version partial, and the
// next Lock takes over its lock with a warning. For PostgreSQL, the
// killed process's connection ends with it, and with it the lock.
func TestSIGKILLDuringApply(t *testing.T) { forEachBackend(t, testSIGKILLDuringApply) }

func testSIGKILLDuringApply(t *testing.T, b *testBackend) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := context.Background()
	loc := b.fresh(t)
	s, err := b.open(ctx, loc)
	must(t, err)
	w := begin(t, s, "apply")
	put(t, w, mkObj("model.before", "1"))
	must(t, w.SetOutputs(ctx, []*Output{{Name: "o", ValueJSON: []byte(`"v1"`)}}))
	finish(t, w)
	must(t, s.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "LLMOPS_STATE_CRASH_HELPER="+crashLocator(b, loc))
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "READY") {
				ok = true
				break
			}
		}
		ready <- ok
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatal("the helper did not get ready")
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the helper did not get ready in time")
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	// The server notices the end of the killed process's connection at
	// once, but not synchronously: open until the version is recovered.
	var vs []VersionInfo
	waitFor(t, "the next open to mark the killed apply's version partial", 30*time.Second, func() bool {
		if s != nil {
			s.Close()
		}
		s, err = b.open(ctx, loc)
		must(t, err)
		vs, err = s.Versions(ctx)
		must(t, err)
		return len(vs) == 2 && vs[1].Status != VersionInProgress
	})
	defer s.Close()
	if len(vs) != 2 || vs[1].Status != VersionPartial || vs[1].ObjectCount != 501 {
		t.Fatalf("versions after the crash: %+v", vs)
	}
	snap := snapshot(t, s, 0)
	if len(snap.Objects) != 501 || len(snap.Outputs) != 1 || string(snap.Outputs[0].ValueJSON) != `"v1"` {
		t.Fatalf("snapshot after the crash: %d objects, outputs %+v", len(snap.Objects), snap.Outputs)
	}
	_, warning, err := s.Lock(ctx, LockInfo{Operation: "apply"}, 0)
	if err != nil || !strings.Contains(warning, fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("Lock after the crash: %q %v", warning, err)
	}
}
