package state

import (
	"context"
	"testing"
)

// A version left in progress by a writer that is gone becomes partial at
// the next open; one whose writer still holds the lock does not.
func TestOpenMarksCrashedVersionPartial(t *testing.T) {
	forEachBackend(t, testOpenMarksCrashedVersionPartial)
}

func testOpenMarksCrashedVersionPartial(t *testing.T, b *testBackend) {
	ctx := context.Background()
	loc := b.fresh(t)
	s, err := b.open(ctx, loc)
	must(t, err)
	w := begin(t, s, "apply")
	put(t, w, mkObj("model.a", "1"))
	finish(t, w)
	w = begin(t, s, "apply") // the writer "crashes": never finished
	put(t, w, mkObj("model.b", "2"))

	// While this (live) process holds the lock, another open leaves it.
	id, _, err := s.Lock(ctx, LockInfo{Operation: "apply"}, 0)
	must(t, err)
	o, err := b.open(ctx, loc)
	must(t, err)
	if vs, _ := o.Versions(ctx); vs[1].Status != VersionInProgress {
		t.Errorf("live writer's version became %s", vs[1].Status)
	}
	o.Close()
	must(t, s.Unlock(ctx, id))
	s.Close()

	s, err = b.open(ctx, loc)
	must(t, err)
	defer s.Close()
	vs, err := s.Versions(ctx)
	must(t, err)
	if len(vs) != 2 || vs[0].Status != VersionComplete || vs[1].Status != VersionPartial || vs[1].ObjectCount != 2 {
		t.Fatalf("versions after reopen: %+v", vs)
	}
	if got := values(snapshot(t, s, 0)); len(got) != 2 {
		t.Errorf("objects of the crashed version: %v", got)
	}
	if w := begin(t, s, "apply"); w.Serial() != 3 {
		t.Errorf("next serial %d", w.Serial())
	}
}

func TestUseAfterClose(t *testing.T) { forEachBackend(t, testUseAfterClose) }

func testUseAfterClose(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s, err := b.open(ctx, b.fresh(t))
	must(t, err)
	w := begin(t, s, "apply")
	must(t, s.Close())
	if err := w.PutObject(ctx, mkObj("model.a", "1")); err == nil {
		t.Error("PutObject after Close succeeded")
	}
	if _, err := s.Snapshot(ctx, 0); err == nil {
		t.Error("Snapshot after Close succeeded")
	}
	if _, _, err := s.Lock(ctx, LockInfo{}, 0); err == nil {
		t.Error("Lock after Close succeeded")
	}
}
