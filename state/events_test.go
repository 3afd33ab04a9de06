package state

import (
	"bytes"
	"context"
	"fmt"
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
