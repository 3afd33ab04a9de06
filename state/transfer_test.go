package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/llmops/llmops/addrs"
)

// fillRich writes a state with every kind of record: superseded, removed
// and deposed rows, a replaced-in-place intent, a version left in
// progress, outputs with a sealed value, and events with and without data.
func fillRich(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	sealed := []byte(`{"paths":[["token"]],"sealed":"AES-GCM:kid:` + string(bytes.Repeat([]byte{0xfe, 0x00, 0x7f}, 5)) + `"}`)
	w := begin(t, s, "apply")
	for i := range 20 {
		o := mkObj(fmt.Sprintf("null_value.r[%d]", i), fmt.Sprint(i))
		o.SensitivePaths = sealed
		o.Private = []byte{0, 1, 2, byte(i)}
		o.Dependencies = []addrs.Resource{{Type: "model", Name: "base"}}
		put(t, w, o)
	}
	put(t, w, mkObj(`dataset.d["eu west"]`, "eu"))
	must(t, w.SetOutputs(ctx, []*Output{
		{Name: "endpoint", ValueJSON: []byte(`"http://x"`), TypeJSON: []byte(`"string"`)},
		{Name: "key", ValueJSON: []byte(`{"sealed":"v1:abc"}`), TypeJSON: []byte(`"string"`), Sensitive: true},
	}))
	must(t, w.Finish(ctx, VersionComplete, Counts{Added: 21}))

	w = begin(t, s, "apply")
	must(t, w.Depose(ctx, ri("null_value.r[0]"), "k1"))
	intent := mkObj("null_value.r[0]", "")
	intent.Status = StatusCreating
	put(t, w, intent)
	o := mkObj("null_value.r[0]", "new")
	o.Version = 2
	o.CreateBeforeDestroy = true
	put(t, w, o)
	must(t, w.RemoveObject(ctx, ri("null_value.r[5]")))
	put(t, w, mkObj("null_value.r[6]", "six"))
	must(t, w.Finish(ctx, VersionPartial, Counts{Replaced: 1, Destroyed: 1, Changed: 1, Failed: 1}))

	w = begin(t, s, "apply") // left in progress with its deposed object
	must(t, w.Depose(ctx, ri("null_value.r[1]"), "k2"))
	put(t, w, mkObj("model.m", "m"))

	must(t, s.AppendEvent(ctx, Event{Kind: "monitor.breach", Addr: "monitor.m", Message: "p99 over 2s", Data: []byte(`{"p99":2.5}`)}))
	must(t, s.AppendEvent(ctx, Event{Kind: "rollback.pin", Addr: "deployment.prod", Message: "pinned to 1", Time: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)}))
}

// TestCopy copies a state from each backend to each backend, and back,
// and finds every record as it was: versions with their counts, statuses
// and outputs, every object row with its serials and sealed values, and
// every event with its ID.
func TestCopy(t *testing.T) {
	for _, from := range backends {
		for _, to := range backends {
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				ctx := context.Background()
				src := from.openNew(t)
				fillRich(t, src)
				want, err := src.(Transferer).Export(ctx)
				must(t, err)
				if len(want.Versions) != 3 || len(want.Objects) < 25 || len(want.Events) != 2 {
					t.Fatalf("the source has %d versions, %d object rows, %d events", len(want.Versions), len(want.Objects), len(want.Events))
				}

				dst := to.openNew(t)
				stats, err := Copy(ctx, dst, src)
				must(t, err)
				if stats.Versions != 3 || stats.Objects != len(want.Objects) || stats.Events != 2 || stats.Lineage != src.Lineage() {
					t.Errorf("stats %+v", stats)
				}
				got, err := dst.(Transferer).Export(ctx)
				must(t, err)
				sameRecords(t, got, want)
				if dst.Lineage() != src.Lineage() {
					t.Errorf("lineage %s, want %s", dst.Lineage(), src.Lineage())
				}
				// The copy is a working state: same snapshots, and it goes on.
				for serial := int64(1); serial <= 3; serial++ {
					a, b := snapshot(t, src, serial), snapshot(t, dst, serial)
					if !reflect.DeepEqual(values(a), values(b)) || !reflect.DeepEqual(deposed(a), deposed(b)) || !reflect.DeepEqual(a.Outputs, b.Outputs) {
						t.Errorf("serial %d differs after the copy", serial)
					}
				}
				w := begin(t, dst, "apply")
				if w.Serial() != 4 {
					t.Errorf("next serial %d", w.Serial())
				}
				put(t, w, mkObj("model.after", "x"))
				finish(t, w)

				// And back, into a third, empty state.
				back := from.openNew(t)
				_, err = Copy(ctx, back, dst)
				must(t, err)
				again, err := back.(Transferer).Export(ctx)
				must(t, err)
				want.Versions = append(want.Versions, again.Versions[3])
				want.Objects = append(want.Objects, again.Objects[len(again.Objects)-1])
				sameRecords(t, again, want)
			})
		}
	}
}

func sameRecords(t *testing.T, got, want *Records) {
	t.Helper()
	if got.Lineage != want.Lineage {
		t.Errorf("lineage %s, want %s", got.Lineage, want.Lineage)
	}
	if !reflect.DeepEqual(got.Versions, want.Versions) {
		t.Errorf("versions differ:\n got %+v\nwant %+v", got.Versions, want.Versions)
	}
	if len(got.Objects) != len(want.Objects) {
		t.Fatalf("%d object rows, want %d", len(got.Objects), len(want.Objects))
	}
	for i := range want.Objects {
		g, w := got.Objects[i], want.Objects[i]
		if !sameObject(g, w) || g.Serial != w.Serial || g.RemovedSerial != w.RemovedSerial {
			t.Errorf("object row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if !reflect.DeepEqual(got.Events, want.Events) {
		t.Errorf("events differ:\n got %+v\nwant %+v", got.Events, want.Events)
	}
}

// Copying into a state that has a version or an event is refused, and
// leaves it as it was.
func TestCopyRefusesNonEmptyDestination(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *testBackend) {
		ctx := context.Background()
		src := sqliteBackend.openNew(t)
		fillRich(t, src)
		for _, prep := range []struct {
			name string
			fill func(s Store)
		}{
			{"a version", func(s Store) { finish(t, begin(t, s, "apply")) }},
			{"an event", func(s Store) { must(t, s.AppendEvent(ctx, Event{Kind: "x"})) }},
		} {
			dst := b.openNew(t)
			prep.fill(dst)
			before, err := dst.(Transferer).Export(ctx)
			must(t, err)
			if _, err := Copy(ctx, dst, src); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("%s: Copy into a state with %s: %v", b.name, prep.name, err)
			}
			after, err := dst.(Transferer).Export(ctx)
			must(t, err)
			sameRecords(t, after, before)
			if dst.Lineage() == src.Lineage() {
				t.Errorf("the refused copy changed the lineage")
			}
		}
	})
}

// RewriteSecrets re-seals every sensitive blob and output, in every
// version, all at once or not at all.
func TestRewriteSecrets(t *testing.T) { forEachBackend(t, testRewriteSecrets) }

func testRewriteSecrets(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	fillRich(t, s)
	rw := s.(SecretsRewriter)
	fail := errors.New("wrong key")
	if _, err := rw.RewriteSecrets(ctx, func(b []byte) ([]byte, error) { return nil, fail },
		func(*Output) error { return nil }); !errors.Is(err, fail) {
		t.Fatalf("a failing rewrite: %v", err)
	}
	before, err := s.(Transferer).Export(ctx)
	must(t, err)
	n, err := rw.RewriteSecrets(ctx,
		func(b []byte) ([]byte, error) { return append([]byte("resealed:"), b...), nil },
		func(o *Output) error {
			if o.Sensitive {
				o.ValueJSON = []byte(`{"sealed":"v2"}`)
			}
			return nil
		})
	must(t, err)
	after, err := s.(Transferer).Export(ctx)
	must(t, err)
	rows := 0
	for i, o := range after.Objects {
		old := before.Objects[i].SensitivePaths
		switch {
		case len(old) == 0 && len(o.SensitivePaths) != 0:
			t.Errorf("row %d gained sensitive paths", i)
		case len(old) > 0 && string(o.SensitivePaths) != "resealed:"+string(old):
			t.Errorf("row %d not re-sealed: %q", i, o.SensitivePaths)
		case len(old) > 0:
			rows++
		}
	}
	if rows == 0 || n != rows+1 { // the object rows and version 1's outputs
		t.Errorf("rewrote %d records, %d object rows", n, rows)
	}
	if outs := snapshot(t, s, 1).Outputs; string(outs[1].ValueJSON) != `{"sealed":"v2"}` || string(outs[0].ValueJSON) != `"http://x"` {
		t.Errorf("outputs %+v", outs)
	}
}
