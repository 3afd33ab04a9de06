package state

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmops/llmops/addrs"
)

var benchPad = strings.Repeat("v", 580)

// benchObj is an object of a realistic size (about 600 bytes of value).
func benchObj(i int, rev string) *Object {
	return &Object{
		Addr:           addrs.Resource{Type: "null_value", Name: "r"}.Instance(addrs.IntKey(i)),
		Provider:       addrs.ProviderConfig{Type: "null"},
		Status:         StatusReady,
		ValueJSON:      []byte(`{"v":"` + rev + benchPad + `"}`),
		TypeJSON:       []byte(`["object",{"v":"string"}]`),
		SensitivePaths: []byte(`[["token"]]`),
		Dependencies:   []addrs.Resource{{Type: "model", Name: "base"}},
		Version:        1,
	}
}

// BenchmarkPutObject: each op records a new object in its own transaction.
func BenchmarkPutObject(b *testing.B) { benchEachBackend(b, benchPutObject) }

func benchPutObject(b *testing.B, be *testBackend) {
	s := be.openNew(b)
	w := begin(b, s, "apply")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.PutObject(ctx, benchObj(i, "a")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutObjectSupersede: each op supersedes an object of an earlier
// version (end the old row, insert the new one).
func BenchmarkPutObjectSupersede(b *testing.B) { benchEachBackend(b, benchPutObjectSupersede) }

func benchPutObjectSupersede(b *testing.B, be *testBackend) {
	s := be.openNew(b)
	ctx := context.Background()
	w := begin(b, s, "apply")
	for i := 0; i < b.N; i++ {
		put(b, w, benchObj(i, "a"))
	}
	finish(b, w)
	w = begin(b, s, "apply")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.PutObject(ctx, benchObj(i, "b")); err != nil {
			b.Fatal(err)
		}
	}
}

// fill10k writes 10,000 objects in version 1 and then `versions` more
// versions, each superseding 50 objects.
func fill10k(b *testing.B, be *testBackend, versions int) Store {
	s := be.openNew(b)
	w := begin(b, s, "apply")
	for i := range 10000 {
		put(b, w, benchObj(i, "a"))
	}
	finish(b, w)
	for v := range versions {
		w := begin(b, s, "apply")
		for i := range 50 {
			put(b, w, benchObj((v*50+i)%10000, fmt.Sprint(v)))
		}
		finish(b, w)
	}
	return s
}

func BenchmarkSnapshot10k(b *testing.B) { benchEachBackend(b, benchSnapshot10k) }

func benchSnapshot10k(b *testing.B, be *testBackend) {
	for _, bc := range []struct {
		name     string
		versions int
		serial   int64
	}{
		{"latest", 0, 0},
		{"latest-after-200-versions", 200, 0},
		{"old-serial-after-200-versions", 200, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := fill10k(b, be, bc.versions)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				snap, err := s.Snapshot(context.Background(), bc.serial)
				if err != nil || len(snap.Objects) != 10000 {
					b.Fatalf("%v, %d objects", err, len(snap.Objects))
				}
			}
		})
	}
}

func BenchmarkVersions200x10k(b *testing.B) { benchEachBackend(b, benchVersions200x10k) }

func benchVersions200x10k(b *testing.B, be *testBackend) {
	s := fill10k(b, be, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		vs, err := s.Versions(context.Background())
		if err != nil || len(vs) != 201 || vs[200].ObjectCount != 10000 {
			b.Fatalf("%v, %d versions", err, len(vs))
		}
	}
}

// TestApply10kDuration checks the engine's budget: 10,000 objects, each in
// its own transaction, in a few seconds.
func TestApply10kDuration(t *testing.T) { forEachBackend(t, testApply10kDuration) }

func testApply10kDuration(t *testing.T, b *testBackend) {
	if testing.Short() {
		t.Skip("writes 10,000 objects")
	}
	s := b.openNew(t)
	w := begin(t, s, "apply")
	start := time.Now()
	for i := range 10000 {
		put(t, w, benchObj(i, "a"))
	}
	finish(t, w)
	d := time.Since(start)
	t.Logf("10,000 PutObject: %v (%v each)", d, d/10000)
	if d > 20*time.Second {
		t.Errorf("10,000 PutObject took %v", d)
	}
}

// BenchmarkNoOpPlanState is what a no-op plan asks of the state, as a new
// process would: open, lock, read the newest version (1,000 objects),
// unlock, close. Each phase's mean is reported too (ms/open, ...).
func BenchmarkNoOpPlanState(b *testing.B) { benchEachBackend(b, benchNoOpPlanState) }

func benchNoOpPlanState(b *testing.B, be *testBackend) {
	loc := be.fresh(b)
	s := be.openAt(b, loc)
	w := begin(b, s, "apply")
	for i := range 1000 {
		put(b, w, benchObj(i, "a"))
	}
	finish(b, w)
	ctx := context.Background()
	var phases [5]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		st, err := be.open(ctx, loc)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		id, _, err := st.Lock(ctx, LockInfo{Operation: "plan"}, 0)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		snap, err := st.Snapshot(ctx, 0)
		if err != nil || len(snap.Objects) != 1000 {
			b.Fatalf("%v, %d objects", err, len(snap.Objects))
		}
		t3 := time.Now()
		if err := st.Unlock(ctx, id); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		for j, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4)} {
			phases[j] += d
		}
	}
	for j, name := range []string{"open", "lock", "read", "unlock", "close"} {
		b.ReportMetric(float64(phases[j].Microseconds())/1000/float64(b.N), "ms/"+name)
	}
}
