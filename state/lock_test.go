package state

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	must(t, cmd.Run())
	pid := cmd.Process.Pid
	if !processGone(pid) {
		t.Skipf("pid %d was reused at once", pid)
	}
	return pid
}

func TestLock(t *testing.T) { forEachBackend(t, testLock) }

func testLock(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	if h, err := s.CurrentLock(ctx); h != nil || err != nil {
		t.Fatalf("CurrentLock of a new store: %v %v", h, err)
	}
	id, warning, err := s.Lock(ctx, LockInfo{Who: "ann@box", Operation: "apply"}, 0)
	if err != nil || id == "" || warning != "" {
		t.Fatalf("Lock: %q %q %v", id, warning, err)
	}
	h, err := s.CurrentLock(ctx)
	must(t, err)
	host, _ := os.Hostname()
	if h == nil || h.ID != id || h.Who != "ann@box" || h.Host != host || h.PID != os.Getpid() ||
		h.Operation != "apply" || time.Since(h.Created) > time.Minute {
		t.Fatalf("CurrentLock: %+v", h)
	}

	// Held (by a live process: this one): a second Lock fails at once...
	start := time.Now()
	_, _, err = s.Lock(ctx, LockInfo{Operation: "plan"}, 0)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != *h {
		t.Fatalf("second Lock: %v, want LockedError with holder %+v", err, h)
	}
	if !strings.Contains(err.Error(), "ann@box") || !strings.Contains(err.Error(), id) {
		t.Errorf("message %q", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("timeout 0 waited %v", d)
	}
	// ...or after its timeout,
	start = time.Now()
	_, _, err = s.Lock(ctx, LockInfo{Operation: "plan"}, 400*time.Millisecond)
	if !errors.As(err, &le) {
		t.Fatalf("Lock with timeout: %v", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 2*time.Second {
		t.Errorf("timeout 400ms waited %v", d)
	}
	// ...or when its context ends.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start = time.Now()
	_, _, err = s.Lock(cctx, LockInfo{Operation: "plan"}, time.Minute)
	cancel()
	if !errors.As(err, &le) || time.Since(start) > 2*time.Second {
		t.Fatalf("Lock with a cancelled context: %v after %v", err, time.Since(start))
	}

	if err := s.Unlock(ctx, "not-the-id"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("Unlock with a wrong ID: %v", err)
	}
	must(t, s.Unlock(ctx, id))
	if err := s.Unlock(ctx, id); !errors.Is(err, ErrNotLocked) {
		t.Errorf("second Unlock: %v", err)
	}
	id2, _, err := s.Lock(ctx, LockInfo{Operation: "apply"}, 0)
	if err != nil || id2 == id {
		t.Fatalf("Lock after Unlock: %q %v", id2, err)
	}
	must(t, s.ForceUnlock(ctx, id2))
	if h, _ := s.CurrentLock(ctx); h != nil {
		t.Errorf("lock still held after ForceUnlock: %+v", h)
	}
}

// A waiting Lock gets the lock once the holder releases it.
func TestLockWaitsForRelease(t *testing.T) { forEachBackend(t, testLockWaitsForRelease) }

func testLockWaitsForRelease(t *testing.T, b *testBackend) {
	ctx := context.Background()
	loc := b.fresh(t)
	s := b.openAt(t, loc)
	other := b.openAt(t, loc) // another process
	id, _, err := other.Lock(ctx, LockInfo{Operation: "apply"}, 0)
	must(t, err)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = other.Unlock(ctx, id)
	}()
	start := time.Now()
	id2, _, err := s.Lock(ctx, LockInfo{Operation: "apply"}, 10*time.Second)
	if err != nil || id2 == "" {
		t.Fatalf("Lock: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("got the lock after %v", d)
	}
}

func TestLockTakeover(t *testing.T) { forEachBackend(t, testLockTakeover) }

func testLockTakeover(t *testing.T, b *testBackend) {
	ctx := context.Background()
	host, _ := os.Hostname()
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// live: the holder still runs (SQLite checks its pid on this host,
	// PostgreSQL whether its connection holds the advisory lock).
	cases := []struct {
		name     string
		holder   LockInfo
		live     bool
		takeover map[string]bool // by backend
	}{
		{"dead pid on this host", LockInfo{ID: "old", Who: "bob@" + host, Host: host, Operation: "apply"}, false,
			map[string]bool{"sqlite": true, "postgres": true}},
		{"dead pid on another host", LockInfo{ID: "old", Who: "bob@far", Host: "far-away-host", Operation: "apply"}, false,
			map[string]bool{"sqlite": false, "postgres": true}},
		{"live pid on this host", LockInfo{ID: "old", Who: "bob@" + host, Host: host, PID: os.Getppid(), Operation: "apply"}, true,
			map[string]bool{"sqlite": false, "postgres": false}},
		{"no pid", LockInfo{ID: "old", Who: "bob@" + host, Host: host, PID: 0, Operation: "apply"}, true,
			map[string]bool{"sqlite": false, "postgres": false}},
		{"live on another host", LockInfo{ID: "old", Who: "bob@far", Host: "far-away-host", Operation: "apply"}, true,
			map[string]bool{"sqlite": false, "postgres": false}},
		{"connection gone, pid alive on this host", LockInfo{ID: "old", Who: "bob@" + host, Host: host, PID: os.Getppid(), Operation: "apply"}, false,
			map[string]bool{"sqlite": false, "postgres": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := b.openNew(t)
			h := c.holder
			h.Created = created
			if h.PID == 0 && c.name != "no pid" {
				h.PID = deadPID(t)
			}
			b.fakeLock(t, s, h, c.live)
			id, warning, err := s.Lock(ctx, LockInfo{Operation: "plan"}, 0)
			if !c.takeover[b.name] {
				var le *LockedError
				if !errors.As(err, &le) || le.Holder != h {
					t.Fatalf("got %q %v, want LockedError with holder %+v", id, err, h)
				}
				if evs, _ := s.Events(ctx, 0); len(evs) != 0 {
					t.Errorf("events: %+v", evs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id == "" || id == "old" || !strings.Contains(warning, "bob@") || !strings.Contains(warning, b.takeover) {
				t.Errorf("id %q warning %q", id, warning)
			}
			if cur, _ := s.CurrentLock(ctx); cur == nil || cur.ID != id || cur.PID != os.Getpid() || cur.Operation != "plan" {
				t.Errorf("current lock %+v", cur)
			}
			evs, err := s.Events(ctx, 0)
			must(t, err)
			if len(evs) != 1 || evs[0].Kind != "lock.takeover" || evs[0].Message != warning {
				t.Fatalf("events %+v", evs)
			}
			var old LockInfo
			if err := json.Unmarshal(evs[0].Data, &old); err != nil || old != h {
				t.Errorf("event data %s: %+v (%v)", evs[0].Data, old, err)
			}
		})
	}
}
