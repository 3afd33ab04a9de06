package state

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmops/llmops/addrs"
)

// openTest opens a new SQLite state for t: for the tests of what only
// SQLite has (its file, its journal).
func openTest(t testing.TB) *SQLiteStore {
	t.Helper()
	return sqliteBackend.openNew(t).(*SQLiteStore)
}

func ri(s string) addrs.ResourceInstance {
	a, err := addrs.ParseResourceInstance(s)
	if err != nil {
		panic(err)
	}
	return a
}

// mkObj returns a ready object at addr whose value is {"v": val}.
func mkObj(addr, val string) *Object {
	return &Object{
		Addr:      ri(addr),
		Provider:  addrs.ProviderConfig{Type: "local"},
		Status:    StatusReady,
		ValueJSON: []byte(fmt.Sprintf(`{"v":%q}`, val)),
		TypeJSON:  []byte(`["object",{"v":"string"}]`),
		Version:   1,
	}
}

func begin(t testing.TB, s Store, cmd string) Writer {
	t.Helper()
	w, err := s.Begin(context.Background(), VersionInfo{Who: "ann@box", Command: cmd, ConfigDigest: "sha256:abc"})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func put(t testing.TB, w Writer, o *Object) {
	t.Helper()
	if err := w.PutObject(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

func finish(t testing.TB, w Writer) {
	t.Helper()
	if err := w.Finish(context.Background(), VersionComplete, Counts{Added: 1}); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t testing.TB, s Store, serial int64) *Snapshot {
	t.Helper()
	snap, err := s.Snapshot(context.Background(), serial)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// values maps each object's address to its value JSON.
func values(snap *Snapshot) map[string]string {
	m := map[string]string{}
	for _, o := range snap.Objects {
		m[o.Addr.String()] = string(o.ValueJSON)
	}
	return m
}

func val(v string) string { return fmt.Sprintf(`{"v":%q}`, v) }

// sameObject compares what the store keeps, treating empty and nil byte
// slices alike, and ignoring the read-only serial fields.
func sameObject(a, b *Object) bool {
	norm := func(o *Object) Object {
		c := *o
		for _, p := range []*[]byte{&c.ValueJSON, &c.TypeJSON, &c.Private, &c.SensitivePaths} {
			if len(*p) == 0 {
				*p = nil
			}
		}
		if len(c.Dependencies) == 0 {
			c.Dependencies = nil
		}
		c.Serial, c.RemovedSerial = 0, 0
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestRoundTrip(t *testing.T) { forEachBackend(t, testRoundTrip) }

func testRoundTrip(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	if n, err := s.LatestSerial(ctx); err != nil || n != 0 {
		t.Fatalf("LatestSerial of a new store = %d, %v", n, err)
	}
	if snap := snapshot(t, s, 0); snap.Serial != 0 || len(snap.Objects) != 0 || snap.Lineage != s.Lineage() {
		t.Fatalf("empty snapshot: %+v", snap)
	}
	full := &Object{
		Addr:                ri(`dataset.d["eu"]`),
		Provider:            addrs.ProviderConfig{Type: "slurm", Alias: "onprem"},
		Status:              StatusPending,
		SchemaVersion:       3,
		ValueJSON:           []byte(`{"name":"eu","rows":12}`),
		TypeJSON:            []byte(`["object",{"name":"string","rows":"number"}]`),
		Private:             []byte{0, 1, 2, 0xff},
		SensitivePaths:      []byte(`[["token"]]`),
		PendingHandle:       "job-42",
		PendingStatus:       "running 3/10",
		Dependencies:        []addrs.Resource{{Type: "model", Name: "base"}, {Type: "null_value", Name: "r"}},
		CreateBeforeDestroy: true,
		Version:             7,
	}
	cases := []*Object{
		full,
		mkObj("training_run.ft", "a"),
		mkObj("null_value.r[3]", "b"),
		mkObj("null_value.r[10]", "c"),
		{Addr: ri("model.empty"), Provider: addrs.ProviderConfig{Type: "local"}, Status: StatusCreating},
	}
	w := begin(t, s, "apply")
	if w.Serial() != 1 {
		t.Fatalf("first serial = %d", w.Serial())
	}
	for _, o := range cases {
		put(t, w, o)
	}
	outs := []*Output{
		{Name: "endpoint", ValueJSON: []byte(`"http://x"`), TypeJSON: []byte(`"string"`)},
		{Name: "key", ValueJSON: []byte(`"secret"`), TypeJSON: []byte(`"string"`), Sensitive: true},
	}
	if err := w.SetOutputs(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx, VersionComplete, Counts{Added: 5}); err != nil {
		t.Fatal(err)
	}

	for _, serial := range []int64{0, 1} {
		snap := snapshot(t, s, serial)
		if snap.Serial != 1 || snap.Lineage != s.Lineage() {
			t.Fatalf("snapshot %d: serial %d lineage %q", serial, snap.Serial, snap.Lineage)
		}
		// Ordered by address: dataset, model, null_value.r[3] before [10], training_run.
		want := []string{`dataset.d["eu"]`, "model.empty", "null_value.r[3]", "null_value.r[10]", "training_run.ft"}
		var got []string
		for _, o := range snap.Objects {
			got = append(got, o.Addr.String())
			if o.Serial != 1 || o.RemovedSerial != 0 {
				t.Errorf("%s: serials %d-%d", o.Addr, o.Serial, o.RemovedSerial)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order: got %q want %q", got, want)
		}
		for _, o := range cases {
			if g := snap.Object(o.Addr); g == nil || !sameObject(g, o) {
				t.Errorf("%s: got %+v\nwant %+v", o.Addr, g, o)
			}
		}
		if !reflect.DeepEqual(snap.Outputs, outs) {
			t.Errorf("outputs: got %+v want %+v", snap.Outputs, outs)
		}
	}
	vs, err := s.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Status != VersionComplete || vs[0].Counts.Added != 5 || vs[0].ObjectCount != 5 ||
		vs[0].Who != "ann@box" || vs[0].Command != "apply" || vs[0].ConfigDigest != "sha256:abc" ||
		time.Since(vs[0].CreatedAt) > time.Minute {
		t.Fatalf("versions: %+v", vs)
	}
	if _, err := s.Snapshot(ctx, 2); err == nil {
		t.Error("Snapshot of a serial that does not exist: no error")
	}
	if err := w.PutObject(ctx, mkObj("model.late", "x")); err == nil {
		t.Error("PutObject after Finish: no error")
	}
}

// TestHistory writes three versions (create, update/replace, remove) and
// checks that every older snapshot is exactly what was current then.
func TestHistory(t *testing.T) { forEachBackend(t, testHistory) }

func testHistory(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)

	w := begin(t, s, "apply")
	put(t, w, mkObj("model.a", "a1"))
	put(t, w, mkObj("model.b", "b1"))
	put(t, w, mkObj("model.c", "c1"))
	if err := w.SetOutputs(ctx, []*Output{{Name: "o", ValueJSON: []byte(`1`)}}); err != nil {
		t.Fatal(err)
	}
	finish(t, w)

	w = begin(t, s, "apply")
	put(t, w, mkObj("model.a", "a2")) // update in place
	b2 := mkObj("model.b", "b2")
	b2.Version = 2 // replaced
	put(t, w, b2)
	put(t, w, mkObj("model.d", "d2"))
	finish(t, w) // no SetOutputs: inherits version 1's

	w = begin(t, s, "destroy")
	if err := w.RemoveObject(ctx, ri("model.c")); err != nil {
		t.Fatal(err)
	}
	if err := w.RemoveObject(ctx, ri("model.never")); err != nil {
		t.Fatalf("removing an absent address: %v", err)
	}
	put(t, w, mkObj("model.d", "d3"))
	if err := w.SetOutputs(ctx, []*Output{{Name: "o", ValueJSON: []byte(`3`)}}); err != nil {
		t.Fatal(err)
	}
	finish(t, w)

	cases := []struct {
		serial int64
		want   map[string]string
		out    string
	}{
		{1, map[string]string{"model.a": val("a1"), "model.b": val("b1"), "model.c": val("c1")}, "1"},
		{2, map[string]string{"model.a": val("a2"), "model.b": val("b2"), "model.c": val("c1"), "model.d": val("d2")}, "1"},
		{3, map[string]string{"model.a": val("a2"), "model.b": val("b2"), "model.d": val("d3")}, "3"},
		{0, map[string]string{"model.a": val("a2"), "model.b": val("b2"), "model.d": val("d3")}, "3"},
	}
	for _, c := range cases {
		snap := snapshot(t, s, c.serial)
		if got := values(snap); !reflect.DeepEqual(got, c.want) {
			t.Errorf("serial %d: got %v want %v", c.serial, got, c.want)
		}
		if len(snap.Outputs) != 1 || string(snap.Outputs[0].ValueJSON) != c.out {
			t.Errorf("serial %d: outputs %+v, want o=%s", c.serial, snap.Outputs, c.out)
		}
	}
	if v := snapshot(t, s, 2).Object(ri("model.b")).Version; v != 2 {
		t.Errorf("model.b version at 2 = %d", v)
	}

	hist := []struct {
		addr string
		want [][3]any // value, serial, removed serial
	}{
		{"model.a", [][3]any{{val("a1"), int64(1), int64(2)}, {val("a2"), int64(2), int64(0)}}},
		{"model.c", [][3]any{{val("c1"), int64(1), int64(3)}}},
		{"model.d", [][3]any{{val("d2"), int64(2), int64(3)}, {val("d3"), int64(3), int64(0)}}},
		{"model.never", nil},
	}
	for _, h := range hist {
		objs, err := s.ObjectHistory(ctx, ri(h.addr))
		if err != nil {
			t.Fatal(err)
		}
		var got [][3]any
		for _, o := range objs {
			got = append(got, [3]any{string(o.ValueJSON), o.Serial, o.RemovedSerial})
		}
		if !reflect.DeepEqual(got, h.want) {
			t.Errorf("history of %s: got %v want %v", h.addr, got, h.want)
		}
	}

	vs, err := s.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, v := range vs {
		counts = append(counts, v.ObjectCount)
	}
	if !reflect.DeepEqual(counts, []int{3, 4, 3}) || vs[2].Command != "destroy" {
		t.Errorf("versions: object counts %v, %+v", counts, vs)
	}
}

func TestSameSerialPutReplaces(t *testing.T) { forEachBackend(t, testSameSerialPutReplaces) }

func testSameSerialPutReplaces(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	w := begin(t, s, "apply")
	put(t, w, mkObj("model.a", "old"))
	finish(t, w)

	w = begin(t, s, "apply")
	intent := mkObj("model.a", "intent")
	intent.Status = StatusCreating
	put(t, w, intent)
	put(t, w, mkObj("model.a", "result"))
	put(t, w, mkObj("model.b", "intent"))
	put(t, w, mkObj("model.b", "result"))
	// Created then removed in the same version: never current.
	put(t, w, mkObj("model.gone", "x"))
	if err := w.RemoveObject(ctx, ri("model.gone")); err != nil {
		t.Fatal(err)
	}
	finish(t, w)

	snap := snapshot(t, s, 2)
	want := map[string]string{"model.a": val("result"), "model.b": val("result")}
	if got := values(snap); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if st := snap.Object(ri("model.a")).Status; st != StatusReady {
		t.Errorf("status %s", st)
	}
	for addr, n := range map[string]int{"model.a": 2, "model.b": 1, "model.gone": 1} {
		h, err := s.ObjectHistory(ctx, ri(addr))
		if err != nil || len(h) != n {
			t.Errorf("history of %s: %d rows (%v), want %d", addr, len(h), err, n)
		}
	}
	vs, _ := s.Versions(ctx)
	if vs[1].ObjectCount != 2 {
		t.Errorf("object count %d", vs[1].ObjectCount)
	}
}

func TestConcurrentPutObject(t *testing.T) { forEachBackend(t, testConcurrentPutObject) }

func testConcurrentPutObject(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	w := begin(t, s, "apply")
	const goroutines, each = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				addr := fmt.Sprintf("null_value.r%d[%d]", g, i)
				if err := w.PutObject(ctx, mkObj(addr, "x")); err != nil {
					errs <- err
					return
				}
				// Every goroutine also writes one shared address.
				if err := w.PutObject(ctx, mkObj("model.shared", fmt.Sprint(g))); err != nil {
					errs <- err
					return
				}
			}
			// And readers run meanwhile.
			if _, err := s.Snapshot(ctx, 0); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	finish(t, w)
	snap := snapshot(t, s, 0)
	if len(snap.Objects) != goroutines*each+1 {
		t.Fatalf("%d objects, want %d", len(snap.Objects), goroutines*each+1)
	}
	if h, _ := s.ObjectHistory(ctx, ri("model.shared")); len(h) != 1 {
		t.Errorf("model.shared has %d rows, want 1 (replaced in place)", len(h))
	}
}

// Two stores on one state (two processes, or two machines for
// PostgreSQL) see each other's writes and agree on serials.
func TestTwoStoresOneState(t *testing.T) { forEachBackend(t, testTwoStoresOneState) }

func testTwoStoresOneState(t *testing.T, be *testBackend) {
	loc := be.fresh(t)
	a := be.openAt(t, loc)
	b := be.openAt(t, loc)
	if a.Lineage() != b.Lineage() {
		t.Fatalf("lineages differ: %s %s", a.Lineage(), b.Lineage())
	}
	w := begin(t, a, "apply")
	// An intent record written by one is what the other's plan sees
	// while the apply runs (or after it died).
	intent := mkObj("model.a", "")
	intent.Status = StatusCreating
	put(t, w, intent)
	if o := snapshot(t, b, 0).Object(ri("model.a")); o == nil || o.Status != StatusCreating {
		t.Fatalf("b does not see a's intent record: %+v", o)
	}
	put(t, w, mkObj("model.a", "1"))
	if got := values(snapshot(t, b, 0)); got["model.a"] != val("1") {
		t.Fatalf("b does not see a's write: %v", got)
	}
	finish(t, w)
	w2 := begin(t, b, "apply")
	if w2.Serial() != 2 {
		t.Fatalf("second store's serial %d", w2.Serial())
	}
	// Both write one address at once: each write is whole, the last wins.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, w := range []Writer{begin(t, a, "apply"), begin(t, b, "apply")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if err := w.PutObject(context.Background(), mkObj(fmt.Sprintf("model.m%d", j), fmt.Sprint(i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !strings.Contains(err.Error(), "is stale") {
			t.Fatal(err)
		}
	}
	snap := snapshot(t, a, 0)
	for j := range 20 {
		if h, _ := a.ObjectHistory(context.Background(), ri(fmt.Sprintf("model.m%d", j))); len(h) == 0 || len(h) > 2 {
			t.Errorf("model.m%d has %d rows", j, len(h))
		}
	}
	if len(snap.Objects) != 21 {
		t.Errorf("%d objects, want 21: %v", len(snap.Objects), values(snap))
	}
}

func TestStaleWriter(t *testing.T) { forEachBackend(t, testStaleWriter) }

func testStaleWriter(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	w1 := begin(t, s, "apply")
	w2 := begin(t, s, "apply")
	put(t, w2, mkObj("model.a", "2"))
	if err := w1.PutObject(ctx, mkObj("model.a", "1")); err == nil {
		t.Error("an older version overwrote a newer one's object")
	}
	if err := w1.Finish(ctx, VersionInProgress, Counts{}); err == nil {
		t.Error("Finish accepted in_progress")
	}
	// The failed transaction was rolled back: the store goes on.
	put(t, w1, mkObj("model.b", "1"))
	finish(t, w1)
	if got := values(snapshot(t, s, 2)); len(got) != 2 || got["model.a"] != val("2") {
		t.Errorf("after a failed write: %v", got)
	}

	// A cancelled context fails Begin and leaves no transaction open, but
	// a writer records what it is given even while being interrupted.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Begin(cctx, VersionInfo{}); err == nil {
		t.Error("Begin with a cancelled context succeeded")
	}
	if err := w2.PutObject(cctx, mkObj("model.c", "3")); err != nil {
		t.Errorf("PutObject with a cancelled context: %v", err)
	}
	if err := w2.Finish(cctx, VersionComplete, Counts{}); err != nil {
		t.Errorf("Finish with a cancelled context: %v", err)
	}
	if got := values(snapshot(t, s, 0)); got["model.c"] != val("3") {
		t.Errorf("latest: %v", got)
	}
}
