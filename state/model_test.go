package state

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/llmops/llmops/addrs"
)

// TestRandomHistory applies random puts and removes over many versions,
// some left unfinished, then checks the latest snapshot against a model,
// that every snapshot agrees with the counts of Versions, and that each
// address's history has the expected, non-overlapping rows.
func TestRandomHistory(t *testing.T) { forEachBackend(t, testRandomHistory) }

func testRandomHistory(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	rng := rand.New(rand.NewPCG(1, 2))
	addrsPool := make([]string, 30)
	for i := range addrsPool {
		addrsPool[i] = fmt.Sprintf("null_value.r[%d]", i)
	}
	cur := map[string]string{}
	puts := map[string]int{} // rows expected in each address's history
	for v := 1; v <= 25; v++ {
		w := begin(t, s, "apply")
		written := map[string]bool{} // addresses with a row created by this version
		for range rng.IntN(15) {
			a := addrsPool[rng.IntN(len(addrsPool))]
			if rng.IntN(4) == 0 {
				must(t, w.RemoveObject(ctx, ri(a)))
				delete(cur, a)
				continue
			}
			value := fmt.Sprintf("%d-%d", v, rng.IntN(1000))
			put(t, w, mkObj(a, value))
			if _, live := cur[a]; !(live && written[a]) {
				puts[a]++ // a new row; otherwise replaced in place
			}
			written[a] = true
			cur[a] = val(value)
		}
		if rng.IntN(5) == 0 {
			continue // the writer "crashes": the version stays in progress
		}
		finish(t, w)
	}
	// Unfinished versions count like the others.
	vs, err := s.Versions(ctx)
	must(t, err)
	if len(vs) != 25 {
		t.Fatalf("%d versions", len(vs))
	}
	for _, v := range vs {
		snap := snapshot(t, s, v.Serial)
		if len(snap.Objects) != v.ObjectCount {
			t.Errorf("serial %d: %d objects, Versions says %d", v.Serial, len(snap.Objects), v.ObjectCount)
		}
		if !slices.IsSortedFunc(snap.Objects, func(a, b *Object) int { return compareAddr(a.Addr, b.Addr) }) {
			t.Errorf("serial %d: objects not ordered", v.Serial)
		}
	}
	if got := values(snapshot(t, s, 0)); !reflect.DeepEqual(got, cur) {
		t.Errorf("latest: got %v\nwant %v", got, cur)
	}
	for a, n := range puts {
		h, err := s.ObjectHistory(ctx, ri(a))
		must(t, err)
		if len(h) != n {
			t.Errorf("%s: %d history rows, want %d", a, len(h), n)
		}
		for i := 1; i < len(h); i++ {
			if h[i-1].RemovedSerial == 0 || h[i-1].RemovedSerial > h[i].Serial {
				t.Errorf("%s: row %d valid %d-%d overlaps row %d from %d", a, i-1, h[i-1].Serial, h[i-1].RemovedSerial, i, h[i].Serial)
			}
		}
	}
}

// TestRandomHistorySnapshots checks each older snapshot against a model
// kept at every serial.
func TestRandomHistorySnapshots(t *testing.T) { forEachBackend(t, testRandomHistorySnapshots) }

func testRandomHistorySnapshots(t *testing.T, b *testBackend) {
	ctx := context.Background()
	s := b.openNew(t)
	rng := rand.New(rand.NewPCG(3, 4))
	cur := map[string]string{}
	model := map[int64]map[string]string{}
	for range 20 {
		w := begin(t, s, "apply")
		for range rng.IntN(12) {
			a := fmt.Sprintf("model.m%d", rng.IntN(15))
			if rng.IntN(3) == 0 {
				must(t, w.RemoveObject(ctx, ri(a)))
				delete(cur, a)
			} else {
				value := fmt.Sprint(rng.IntN(1e6))
				put(t, w, mkObj(a, value))
				cur[a] = val(value)
			}
		}
		model[w.Serial()] = maps.Clone(cur)
		finish(t, w)
	}
	for serial, want := range model {
		if got := values(snapshot(t, s, serial)); !reflect.DeepEqual(got, want) {
			t.Errorf("serial %d: got %v\nwant %v", serial, got, want)
		}
	}
}

func TestCompareAddrAgreesWithLess(t *testing.T) {
	var as []addrs.ResourceInstance
	for _, r := range []addrs.Resource{{Type: "a", Name: "x"}, {Type: "a", Name: "y"}, {Type: "b", Name: "x"}} {
		for _, k := range []addrs.InstanceKey{addrs.NoKey, addrs.IntKey(0), addrs.IntKey(2), addrs.IntKey(10),
			addrs.StringKey(""), addrs.StringKey("10"), addrs.StringKey("2"), addrs.StringKey("b")} {
			as = append(as, r.Instance(k))
		}
	}
	for _, a := range as {
		for _, b := range as {
			want := 0
			if a.Less(b) {
				want = -1
			} else if b.Less(a) {
				want = 1
			}
			if got := compareAddr(a, b); got != want {
				t.Errorf("compareAddr(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
}
