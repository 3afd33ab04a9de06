package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// A provider binary swapped between the moment llmops hashes it and the
// moment it starts it never runs: llmops runs the copy it hashed (in
// .llmops/providers/<sha256>/). The impostor here is a script that leaves
// a mark when it runs; a plan either works with the locked provider or is
// refused, and the mark never appears.
func TestE2ESwappedProviderNeverRuns(t *testing.T) {
	w := newWorkspace(t, map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`})
	plugDir := filepath.Join(w.dir, ".llmops", "plugins")
	os.MkdirAll(plugDir, 0o755)
	src, err := os.ReadFile(filepath.Join(binDir, "llmops-provider-null"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(plugDir, "llmops-provider-null")
	locked, impostor := bin+".locked", bin+".impostor"
	mark := filepath.Join(w.dir, "impostor-ran")
	if err := os.WriteFile(locked, src, 0o755); err != nil {
		t.Fatal(err)
	}
	// The same size as the real binary would not matter: the hash differs.
	if err := os.WriteFile(impostor, []byte("#!/bin/sh\ntouch '"+mark+"'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Each swap is a hard link renamed into place: instant and atomic.
	place := func(from string) {
		tmp := bin + ".tmp"
		os.Remove(tmp)
		if err := os.Link(from, tmp); err == nil {
			os.Rename(tmp, bin)
		}
	}
	place(locked)
	w.must(0, "init")

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Mostly the locked binary, so that many runs hash it, with the
		// impostor in place for moments in between.
		for ctx.Err() == nil {
			place(impostor)
			time.Sleep(2 * time.Millisecond)
			place(locked)
			time.Sleep(8 * time.Millisecond)
		}
	}()
	worked, refused := 0, 0
	for i := 0; i < 40; i++ {
		r := w.run("plan", "-detailed-exitcode")
		switch {
		case r.code == 2:
			worked++
		case r.code == 1 && strings.Contains(r.stderr, "does not match"):
			refused++
		default:
			t.Errorf("run %d: neither the locked provider nor a refusal:\n%s", i, r)
		}
		if _, err := os.Stat(mark); err == nil {
			stop()
			wg.Wait()
			t.Fatalf("run %d ran the swapped-in binary, which the lock file does not record", i)
		}
	}
	stop()
	wg.Wait()
	t.Logf("40 plans while the binary was swapped: %d ran the locked provider, %d refused the impostor", worked, refused)
	if worked == 0 {
		t.Error("no plan ran: the test did not exercise the race")
	}
	// The copy that runs is private and named by its hash.
	sum := sha256.Sum256(src)
	if _, err := os.Stat(filepath.Join(w.dir, ".llmops", "providers", hex.EncodeToString(sum[:]), "llmops-provider-null")); err != nil {
		t.Errorf("the locked binary is not in the provider cache under its hash: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(w.dir, ".llmops", "providers")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the provider cache is %v (%v), want 0700", fi.Mode().Perm(), err)
	}
}

// The lock file records no absolute path and a hash per platform; a
// teammate's checkout with the same binaries plans without `init`;
// `providers lock` adds the binaries found for other platforms; an old
// lock file's single hash still works.
func TestE2ELockFileIsPortable(t *testing.T) {
	cfg := map[string]string{"main.llmops.hcl": `resource "null_value" "r" { input = 1 }`}
	a := newWorkspace(t, cfg)
	a.must(0, "init")
	lockPath := filepath.Join(a.dir, ".llmops.lock.hcl")
	lock, _ := os.ReadFile(lockPath)
	src, _ := os.ReadFile(filepath.Join(binDir, "llmops-provider-null"))
	sum := sha256.Sum256(src)
	here := runtime.GOOS + "_" + runtime.GOARCH
	if !strings.Contains(string(lock), `hashes  = ["`+here+`:sha256:`+hex.EncodeToString(sum[:])+`"]`) {
		t.Errorf("the lock file lacks this platform's hash:\n%s", lock)
	}
	if strings.Contains(string(lock), binDir) || strings.Contains(string(lock), a.dir) || strings.Contains(string(lock), "path") {
		t.Errorf("the lock file records an absolute path:\n%s", lock)
	}
	// Another platform's build beside it.
	other := filepath.Join(a.dir, ".llmops", "plugins", "plan9_arm")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "llmops-provider-null"), []byte("a plan9 build"), 0o755)
	r := a.must(0, "providers", "lock")
	otherSum := sha256.Sum256([]byte("a plan9 build"))
	lock, _ = os.ReadFile(lockPath)
	if !strings.Contains(string(lock), "plan9_arm:sha256:"+hex.EncodeToString(otherSum[:])) || !strings.Contains(string(lock), here+":sha256:") {
		t.Errorf("providers lock did not add the other platform:\n%s\n%s", r, lock)
	}
	// A teammate's checkout: the configuration and the lock file, no init.
	b := newWorkspace(t, cfg)
	os.WriteFile(filepath.Join(b.dir, ".llmops.lock.hcl"), lock, 0o644)
	b.must(2, "plan", "-detailed-exitcode")
	// A lock file written by an older llmops.
	c := newWorkspace(t, cfg)
	old := "provider \"null\" {\n  version = \"0.1.0\"\n  hash    = \"sha256:" + hex.EncodeToString(sum[:]) + "\"\n  path    = \"/somewhere/llmops-provider-null\"\n}\n"
	os.WriteFile(filepath.Join(c.dir, ".llmops.lock.hcl"), []byte(old), 0o644)
	c.must(2, "plan", "-detailed-exitcode")
	// Locked for another platform only: refused, saying what to do.
	d := newWorkspace(t, cfg)
	os.WriteFile(filepath.Join(d.dir, ".llmops.lock.hcl"), []byte("provider \"null\" {\n  version = \"0.1.0\"\n  hashes  = [\"plan9_arm:sha256:"+hex.EncodeToString(otherSum[:])+"\"]\n}\n"), 0o644)
	if r := d.run("plan"); r.code != 1 || !strings.Contains(r.stderr, "llmops providers lock") {
		t.Errorf("a lock file without this platform:\n%s", r)
	}
}
