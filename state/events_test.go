package state

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestEvents(t *testing.T) { forEachBackend(t, testEvents) }

func testEvents(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	for i := range 5 {
		ev := Event{Kind: "monitor.breach", Addr: "monitor.m", Message: fmt.Sprint("breach ", i)}
		if i == 4 {
			ev.Data = []byte(`{"p99":1.5}`)
		}
		if err := s.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendEvent(ctx, Event{}); err == nil {
		t.Error("an event without a kind was accepted")
	}
	all, err := s.Events(ctx, 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("%d events, %v", len(all), err)
	}
	last, _ := s.Events(ctx, 2)
	if len(last) != 2 || last[0].Message != "breach 3" || last[1].Message != "breach 4" ||
		!bytes.Equal(last[1].Data, []byte(`{"p99":1.5}`)) || last[0].ID >= last[1].ID ||
		last[1].Addr != "monitor.m" || time.Since(last[1].Time) > time.Minute {
		t.Errorf("last 2: %+v", last)
	}
}

func TestEventsOfKind(t *testing.T) { forEachBackend(t, testEventsOfKind) }

// testEventsOfKind: only the kinds asked for, oldest first, read while
// the store holds its lock (PostgreSQL reads on the lock's connection
// then).
func testEventsOfKind(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	for i, k := range []string{"rollback.pin", "apply.finish", "rollback.release", "moved", "rollback.pin"} {
		if err := s.AppendEvent(ctx, Event{Kind: k, Addr: fmt.Sprint("model.m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := s.Lock(ctx, LockInfo{Operation: "plan"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unlock(ctx, id)
	for _, tc := range []struct {
		kinds []string
		want  []string
	}{
		{[]string{"rollback.pin", "rollback.release"}, []string{"model.m0", "model.m2", "model.m4"}},
		{[]string{"moved"}, []string{"model.m3"}},
		{[]string{"nothing.of.this.kind"}, nil},
		{nil, nil},
	} {
		evs, err := s.EventsOfKind(ctx, tc.kinds...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, ev := range evs {
			got = append(got, ev.Addr)
			if i > 0 && ev.ID <= evs[i-1].ID {
				t.Errorf("%v: not oldest first: %+v", tc.kinds, evs)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("EventsOfKind(%v) = %v, want %v", tc.kinds, got, tc.want)
		}
	}
}

func TestBackup(t *testing.T) { forEachBackend(t, testBackup) }

func testBackup(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	w := begin(t, s, "apply")
	for i := range 100 {
		put(t, w, mkObj(fmt.Sprintf("null_value.r[%d]", i), fmt.Sprint(i)))
	}
	if err := w.SetOutputs(ctx, []*Output{{Name: "o", ValueJSON: []byte(`"v"`)}}); err != nil {
		t.Fatal(err)
	}
	finish(t, w)
	w = begin(t, s, "apply")
	put(t, w, mkObj("null_value.r[0]", "new")) // in progress while backing up

	dst := filepath.Join(t.TempDir(), "backups", "state.db.bak")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dst); err == nil {
		t.Error("Backup overwrote an existing file")
	}
	// Every backend backs up to a SQLite file.
	bk, err := OpenSQLite(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	if bk.Lineage() != s.Lineage() {
		t.Errorf("lineage %s, want %s", bk.Lineage(), s.Lineage())
	}
	for _, serial := range []int64{1, 2} {
		if got, want := values(snapshot(t, bk, serial)), values(snapshot(t, s, serial)); !reflect.DeepEqual(got, want) {
			t.Errorf("serial %d differs in the backup", serial)
		}
	}
	if snap := snapshot(t, bk, 1); len(snap.Outputs) != 1 {
		t.Errorf("backup outputs %+v", snap.Outputs)
	}
}

// A backup is its owner's alone (0600, in a 0700 directory), and one that
// was killed midway leaves nothing that lasts: its temporary file and
// journal are removed by the next backup.
func TestBackupIsPrivateAndLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	w := begin(t, s, "apply")
	put(t, w, mkObj("null_value.r", "v"))
	finish(t, w)
	dir := filepath.Join(t.TempDir(), "backups")
	os.MkdirAll(dir, 0o700)
	for _, leftover := range []string{".backup-123", ".backup-123-journal", "state-serial000001-x.db-journal"} {
		os.WriteFile(filepath.Join(dir, leftover), []byte("killed midway"), 0o644)
	}
	dst := filepath.Join(dir, "state-serial000001-y.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(dst) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("backups/ holds %v, want only the backup", names)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	fresh := filepath.Join(t.TempDir(), "new", "state.db.bak")
	if err := s.Backup(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Dir(fresh)); fi.Mode().Perm() != 0o700 {
		t.Errorf("backup directory mode %v, want 0700", fi.Mode().Perm())
	}
}
