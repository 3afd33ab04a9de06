package state

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/llmops/llmops/addrs"
)

// deposed maps "addr key" to the value of each deposed object.
func deposed(snap *Snapshot) map[string]string {
	m := map[string]string{}
	for _, o := range snap.Deposed {
		m[o.Addr.String()+" "+o.Deposed] = string(o.ValueJSON)
	}
	return m
}

// A create_before_destroy replacement deposes the old object, records the
// new one, then forgets the old one once destroyed; every step is a
// version of its own and history is unaffected.
func TestDeposeAndRemove(t *testing.T) { forEachBackend(t, testDeposeAndRemove) }

func testDeposeAndRemove(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	w := begin(t, s, "apply")
	put(t, w, mkObj("null_value.a", "old"))
	put(t, w, mkObj("null_value.b", "b"))
	finish(t, w)

	w = begin(t, s, "apply")
	if err := w.Depose(ctx, ri("null_value.a"), "k1"); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, s, 0)
	if v := values(snap); v["null_value.a"] != "" || v["null_value.b"] != val("b") {
		t.Fatalf("after Depose the current objects are %v", v)
	}
	if d := deposed(snap); len(d) != 1 || d["null_value.a k1"] != val("old") {
		t.Fatalf("after Depose the deposed objects are %v", d)
	}
	if o := snap.Deposed[0]; o.Status != StatusReady || o.Provider.Type != "local" || o.Version != 1 {
		t.Fatalf("the deposed copy lost fields: %+v", o)
	}
	put(t, w, mkObj("null_value.a", "new"))
	snap = snapshot(t, s, 0)
	if v := values(snap); v["null_value.a"] != val("new") || len(snap.Deposed) != 1 {
		t.Fatalf("with the replacement: %v, deposed %v", v, deposed(snap))
	}
	if err := w.RemoveDeposed(ctx, ri("null_value.a"), "k1"); err != nil {
		t.Fatal(err)
	}
	finish(t, w)
	snap = snapshot(t, s, 0)
	if len(snap.Deposed) != 0 || values(snap)["null_value.a"] != val("new") {
		t.Fatalf("after RemoveDeposed: %v, deposed %v", values(snap), deposed(snap))
	}
	// The first version is untouched; history has the two real objects.
	if v := values(snapshot(t, s, 1)); v["null_value.a"] != val("old") {
		t.Fatalf("version 1: %v", v)
	}
	h, err := s.ObjectHistory(ctx, ri("null_value.a"))
	if err != nil || len(h) != 2 || string(h[0].ValueJSON) != val("old") || string(h[1].ValueJSON) != val("new") || h[0].Deposed != "" {
		t.Fatalf("history: %v %+v", err, h)
	}
	vs, err := s.Versions(ctx)
	if err != nil || len(vs) != 2 || vs[0].ObjectCount != 2 || vs[1].ObjectCount != 2 { // the deposed copy came and went in version 2
		t.Fatalf("versions: %v %+v", err, vs)
	}
	// Deposing an address without an object does nothing.
	w = begin(t, s, "apply")
	if err := w.Depose(ctx, ri("null_value.zz"), "k2"); err != nil {
		t.Fatal(err)
	}
	if err := w.Depose(ctx, ri("null_value.a"), ""); err == nil {
		t.Fatal("an empty deposed key was accepted")
	}
	finish(t, w)
	if snap := snapshot(t, s, 0); len(snap.Deposed) != 0 || len(snap.Objects) != 2 {
		t.Fatalf("after deposing nothing: %v %v", values(snap), deposed(snap))
	}
}

// A replacement whose create made nothing restores the deposed object,
// ending the create's intent, in one step.
func TestRestoreDeposed(t *testing.T) { forEachBackend(t, testRestoreDeposed) }

func testRestoreDeposed(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	w := begin(t, s, "apply")
	put(t, w, mkObj("null_value.a", "old"))
	finish(t, w)
	w = begin(t, s, "apply")
	if err := w.Depose(ctx, ri("null_value.a"), "k1"); err != nil {
		t.Fatal(err)
	}
	intent := mkObj("null_value.a", "")
	intent.Status = StatusCreating
	put(t, w, intent)
	if err := w.RestoreDeposed(ctx, ri("null_value.a"), "k1"); err != nil {
		t.Fatal(err)
	}
	finish(t, w)
	snap := snapshot(t, s, 0)
	if len(snap.Objects) != 1 || string(snap.Objects[0].ValueJSON) != val("old") || snap.Objects[0].Status != StatusReady || len(snap.Deposed) != 0 {
		t.Fatalf("after RestoreDeposed: %v deposed %v", values(snap), deposed(snap))
	}
}

// A state written before deposed objects existed (schema 1) is migrated
// when opened, its objects intact.
func TestMigrateToDeposed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	w := begin(t, s, "apply")
	put(t, w, mkObj("null_value.a", "a"))
	finish(t, w)
	s.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE objects DROP COLUMN module`, `ALTER TABLE objects DROP COLUMN deposed`, `UPDATE meta SET value = '1' WHERE key = 'schema_version'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := values(snapshot(t, s, 0)); v["null_value.a"] != val("a") {
		t.Fatalf("after migration: %v", v)
	}
	w = begin(t, s, "apply")
	if err := w.Depose(ctx, ri("null_value.a"), "k1"); err != nil {
		t.Fatal(err)
	}
	finish(t, w)
	if d := deposed(snapshot(t, s, 0)); d["null_value.a k1"] != val("a") {
		t.Fatalf("deposed after migration: %v", d)
	}
}

// Objects in module instances keep their module path and their
// dependencies across a write and a read, and a state written before
// module paths existed (schema 2) is migrated with its objects intact.
func TestModuleAddresses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	w := begin(t, s, "apply")
	put(t, w, mkObj("null_value.a", "a"))
	finish(t, w)
	s.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE objects DROP COLUMN module`, `UPDATE meta SET value = '2' WHERE key = 'schema_version'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	if s, err = OpenSQLite(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w = begin(t, s, "apply")
	o := mkObj(`module.bot["en"].null_value.b[1]`, "b")
	o.Dependencies = []addrs.Resource{{Type: "null_value", Name: "a"}, {Module: o.Addr.Resource.Module.Module().UnkeyedInstance(), Type: "null_value", Name: "c"}}
	put(t, w, o)
	finish(t, w)
	snap := snapshot(t, s, 0)
	got := map[string]*Object{}
	for _, o := range snap.Objects {
		got[o.Addr.String()] = o
	}
	b := got[`module.bot["en"].null_value.b[1]`]
	if b == nil || got["null_value.a"] == nil {
		t.Fatalf("objects after migration and write: %v", values(snap))
	}
	if b.Addr != o.Addr {
		t.Errorf("address read back as %#v, want %#v", b.Addr, o.Addr)
	}
	if len(b.Dependencies) != 2 || b.Dependencies[1].String() != "module.bot.null_value.c" || b.Dependencies[0].String() != "null_value.a" {
		t.Errorf("dependencies read back as %v", b.Dependencies)
	}
	rows, err := s.ObjectHistory(ctx, o.Addr)
	if err != nil || len(rows) != 1 {
		t.Errorf("history of %s: %v %v", o.Addr, rows, err)
	}
}
