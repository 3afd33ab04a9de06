package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
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
