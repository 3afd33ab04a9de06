package graph

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops/llmops/internal/panics"
)

func less(a, b string) bool { return a < b }

func TestCycles(t *testing.T) {
	cases := []struct {
		name  string
		edges [][2]string
		want  []string
	}{
		{"none", [][2]string{{"a", "b"}, {"b", "c"}}, nil},
		{"ring", [][2]string{{"a", "b"}, {"b", "c"}, {"c", "a"}, {"d", "a"}}, []string{"a b c"}},
		{"two", [][2]string{{"a", "b"}, {"b", "a"}, {"x", "y"}, {"y", "z"}, {"z", "x"}}, []string{"a b", "x y z"}},
		{"start smallest", [][2]string{{"m", "k"}, {"k", "z"}, {"z", "m"}}, []string{"k z m"}},
		// Not a ring: a walk a -> b -> c has no edge c -> a. The old
		// answer "a b c" named that edge; the shortest real cycles through
		// a and then c are a -> b -> a and b -> c -> b.
		{"chord", [][2]string{{"a", "b"}, {"b", "c"}, {"c", "b"}, {"b", "a"}}, []string{"a b", "b c"}},
		// Two rings sharing a: both are named, each with real edges.
		{"figure eight", [][2]string{{"a", "b"}, {"b", "a"}, {"a", "c"}, {"c", "a"}}, []string{"a b", "a c"}},
		// A shortcut: the shortest cycle through a skips b; b gets its own.
		{"shortcut", [][2]string{{"a", "b"}, {"b", "c"}, {"c", "a"}, {"a", "c"}}, []string{"a b c", "a c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := New[string]()
			for _, e := range c.edges {
				g.Connect(e[0], e[1])
			}
			var got []string
			for _, cyc := range g.Cycles(less) {
				got = append(got, strings.Join(cyc, " "))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
}

// Every cycle Cycles returns is made of edges that exist (each node
// depends on the next, the last on the first), and together the cycles
// name every node that is on some cycle. Checked on random graphs against
// a brute-force reachability test.
func TestCyclesAreRealPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 500; iter++ {
		n := 2 + rng.IntN(9)
		g := New[int]()
		edges := map[[2]int]bool{}
		for i := 0; i < n; i++ {
			g.Add(i)
		}
		for k := rng.IntN(n * 3); k > 0; k-- {
			a, b := rng.IntN(n), rng.IntN(n)
			if a != b {
				g.Connect(a, b)
				edges[[2]int{a, b}] = true
			}
		}
		cycles := g.Cycles(func(a, b int) bool { return a < b })
		named := map[int]bool{}
		for _, c := range cycles {
			if len(c) < 2 {
				t.Fatalf("graph %v: cycle %v is shorter than two nodes", edges, c)
			}
			for i, x := range c {
				y := c[(i+1)%len(c)]
				if !edges[[2]int{x, y}] {
					t.Fatalf("graph %v: cycle %v names the edge %d -> %d, which does not exist", edges, c, x, y)
				}
				named[x] = true
			}
		}
		reach := func(from, to int) bool {
			seen := map[int]bool{}
			stack := []int{from}
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, d := range g.DependenciesOf(x) {
					if d == to {
						return true
					}
					if !seen[d] {
						seen[d] = true
						stack = append(stack, d)
					}
				}
			}
			return false
		}
		for i := 0; i < n; i++ {
			if onCycle := reach(i, i); onCycle != named[i] {
				t.Fatalf("graph %v: node %d on a cycle: %v, named by Cycles: %v (cycles %v)", edges, i, onCycle, named[i], cycles)
			}
		}
	}
}

func TestWalkOrderAndFailure(t *testing.T) {
	g := New[string]()
	// a <- b <- c ; a <- d ; e independent; f depends on c and e
	g.Connect("b", "a")
	g.Connect("c", "b")
	g.Connect("d", "a")
	g.Add("e")
	g.Connect("f", "c")
	g.Connect("f", "e")
	var mu sync.Mutex
	var order []string
	skipped := map[string]string{}
	res := g.Walk(context.Background(), 2, func(_ context.Context, n string) Result {
		mu.Lock()
		order = append(order, n)
		mu.Unlock()
		if n == "b" {
			return Failed
		}
		return OK
	}, func(n, because string) { skipped[n] = because })
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if pos["a"] > pos["b"] || pos["a"] > pos["d"] {
		t.Fatalf("dependency ran after dependent: %v", order)
	}
	if res["b"] != Failed || res["c"] != Skipped || res["f"] != Skipped {
		t.Fatalf("results: %v", res)
	}
	if res["d"] != OK || res["e"] != OK {
		t.Fatalf("independent nodes must run: %v", res)
	}
	if skipped["c"] != "b" || skipped["f"] != "b" {
		t.Fatalf("skip causes: %v", skipped)
	}
}

func TestWalkParallelismBound(t *testing.T) {
	g := New[int]()
	for i := 0; i < 50; i++ {
		g.Add(i)
	}
	var cur, peak int32
	g.Walk(context.Background(), 3, func(_ context.Context, n int) Result {
		c := atomic.AddInt32(&cur, 1)
		for {
			p := atomic.LoadInt32(&peak)
			if c <= p || atomic.CompareAndSwapInt32(&peak, p, c) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		atomic.AddInt32(&cur, -1)
		return OK
	}, nil)
	if peak > 3 || peak < 2 {
		t.Fatalf("peak concurrency %d, want 2..3", peak)
	}
}

func TestWalkCancel(t *testing.T) {
	g := New[int]()
	for i := 1; i < 100; i++ {
		g.Connect(i, i-1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var n int32
	res := g.Walk(ctx, 1, func(_ context.Context, i int) Result {
		if atomic.AddInt32(&n, 1) == 5 {
			cancel()
		}
		return OK
	}, nil)
	if n != 5 {
		t.Fatalf("visited %d nodes after cancel, want 5", n)
	}
	if res[99] != Skipped {
		t.Fatalf("last node: %v", res[99])
	}
}

func BenchmarkWalkChains(b *testing.B) {
	g := New[int]()
	for i := 0; i < 10000; i++ {
		g.Add(i)
		if i >= 10 {
			g.Connect(i, i-10)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Walk(context.Background(), 10, func(context.Context, int) Result { return OK }, nil)
	}
}

// A panic in a visit does not crash the process from the walk's
// goroutine: the visits in flight finish, nothing new starts, and Walk
// panics in its caller with the panic and the stack of the visit.
func TestWalkPanicRaisedInCaller(t *testing.T) {
	g := New[string]()
	g.Connect("after", "bad") // after depends on bad
	g.Add("slow")
	inFlight := make(chan struct{})
	var slowDone, afterRan atomic.Bool
	var got *panics.Error
	func() {
		defer func() { got = panics.From(recover()) }()
		g.Walk(context.Background(), 0, func(_ context.Context, n string) Result {
			switch n {
			case "bad":
				<-inFlight // slow has started
				panic("visit of bad went wrong")
			case "slow":
				close(inFlight)
				time.Sleep(20 * time.Millisecond)
				slowDone.Store(true)
			case "after":
				afterRan.Store(true)
			}
			return OK
		}, nil)
	}()
	if got == nil || got.Value != "visit of bad went wrong" {
		t.Fatalf("Walk did not raise the visit's panic: %#v", got)
	}
	if !strings.Contains(string(got.Stack), "TestWalkPanicRaisedInCaller") {
		t.Fatalf("the stack is not the visit's:\n%s", got.Stack)
	}
	if !slowDone.Load() {
		t.Fatal("Walk returned before the visit in flight finished")
	}
	if afterRan.Load() {
		t.Fatal("a dependent of the panicking node was visited")
	}
}

// The acyclic fast path agrees with Tarjan's algorithm on random graphs,
// with and without cycles.
func TestAcyclicAgreesWithTarjan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	less := func(a, b int) bool { return a < b }
	for trial := range 500 {
		g := New[int]()
		n := 1 + rng.IntN(30)
		for i := range n {
			g.Add(i)
		}
		edges := rng.IntN(2 * n)
		for range edges {
			a, b := rng.IntN(n), rng.IntN(n)
			if trial%2 == 0 && a <= b {
				continue // half the trials only have edges to smaller nodes: acyclic
			}
			g.Connect(a, b)
		}
		want := len(g.tarjanCycles(less)) == 0
		if got := g.acyclic(); got != want {
			t.Fatalf("trial %d: acyclic() = %v, Tarjan found cycles: %v (%v)", trial, got, !want, g.tarjanCycles(less))
		}
		if trial%2 == 0 && !want {
			t.Fatalf("trial %d: a graph with edges only to smaller nodes has cycles %v", trial, g.tarjanCycles(less))
		}
	}
}
