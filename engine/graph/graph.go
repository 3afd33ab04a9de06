package graph

import (
	"sort"
)

// Graph is a dependency graph: an edge from a to b means a depends on b
// (b runs first). Nodes are numbered in insertion order and edges kept as
// those numbers, so that walking and checking a graph of thousands of
// nodes hashes each (possibly large) node value once, when it is added.
type Graph[N comparable] struct {
	index map[N]int32
	order []N       // insertion order, for determinism
	deps  [][]int32 // node -> its dependencies, distinct, in insertion order
	edges map[[2]int32]struct{}
}

// New returns an empty graph.
func New[N comparable]() *Graph[N] {
	return &Graph[N]{index: map[N]int32{}, edges: map[[2]int32]struct{}{}}
}

// Add adds a node (idempotent).
func (g *Graph[N]) Add(n N) { g.add(n) }

func (g *Graph[N]) add(n N) int32 {
	if i, ok := g.index[n]; ok {
		return i
	}
	i := int32(len(g.order))
	g.index[n] = i
	g.order = append(g.order, n)
	g.deps = append(g.deps, nil)
	return i
}

// Has reports whether n is a node.
func (g *Graph[N]) Has(n N) bool { _, ok := g.index[n]; return ok }

// Connect records that from depends on to. Both are added if missing.
// Self-edges are ignored.
func (g *Graph[N]) Connect(from, to N) {
	if from == to {
		return
	}
	f, t := g.add(from), g.add(to)
	e := [2]int32{f, t}
	if _, ok := g.edges[e]; ok {
		return
	}
	g.edges[e] = struct{}{}
	g.deps[f] = append(g.deps[f], t)
}

// Nodes returns the nodes in insertion order.
func (g *Graph[N]) Nodes() []N { return append([]N(nil), g.order...) }

// Len is the number of nodes.
func (g *Graph[N]) Len() int { return len(g.order) }

// DependenciesOf returns the direct dependencies of n, in the order they
// were connected.
func (g *Graph[N]) DependenciesOf(n N) []N {
	i, ok := g.index[n]
	if !ok {
		return []N{}
	}
	out := make([]N, len(g.deps[i]))
	for k, d := range g.deps[i] {
		out[k] = g.order[d]
	}
	return out
}

// dependents lists, for every node number, the numbers of its direct
// dependents, in insertion order.
func (g *Graph[N]) dependents() [][]int32 {
	out := make([][]int32, len(g.order))
	for i, ds := range g.deps {
		for _, d := range ds {
			out[d] = append(out[d], int32(i))
		}
	}
	return out
}

// Dependents returns, for every node, its direct dependents.
func (g *Graph[N]) Dependents() map[N][]N {
	out := make(map[N][]N, len(g.order))
	for d, ds := range g.dependents() {
		if len(ds) == 0 {
			continue
		}
		ns := make([]N, len(ds))
		for k, i := range ds {
			ns[k] = g.order[i]
		}
		out[g.order[d]] = ns
	}
	return out
}

// Reverse returns a graph with every edge reversed.
func (g *Graph[N]) Reverse() *Graph[N] {
	r := New[N]()
	for _, n := range g.order {
		r.Add(n)
	}
	for i, ds := range g.deps {
		for _, d := range ds {
			r.Connect(g.order[d], g.order[i])
		}
	}
	return r
}

// Cycles returns the cycles of the graph as lists of nodes in cycle
// order: in each, every node depends on the next and the last on the
// first, so a -> b -> c -> a names only edges that exist. Every node of
// every strongly connected component of more than one node is in at least
// one returned cycle (a component with several rings gives several
// cycles). Each cycle starts at its smallest node by less, and cycles are
// sorted by that node. (Self-edges are never recorded: Connect ignores
// them.)
func (g *Graph[N]) Cycles(less func(a, b N) bool) [][]N {
	if g.acyclic() {
		return nil
	}
	return g.tarjanCycles(less)
}

// tarjanCycles is Cycles without the acyclic fast path.
func (g *Graph[N]) tarjanCycles(less func(a, b N) bool) [][]N {
	// Tarjan's algorithm, iterative to survive deep chains.
	index := map[N]int{}
	low := map[N]int{}
	onStack := map[N]bool{}
	var stack []N
	var sccs [][]N
	next := 0
	type frame struct {
		n    N
		deps []N
		i    int
	}
	for _, start := range g.order {
		if _, seen := index[start]; seen {
			continue
		}
		work := []*frame{{n: start, deps: g.sortedDeps(start, less)}}
		index[start], low[start] = next, next
		next++
		stack = append(stack, start)
		onStack[start] = true
		for len(work) > 0 {
			f := work[len(work)-1]
			if f.i < len(f.deps) {
				d := f.deps[f.i]
				f.i++
				if _, seen := index[d]; !seen {
					index[d], low[d] = next, next
					next++
					stack = append(stack, d)
					onStack[d] = true
					work = append(work, &frame{n: d, deps: g.sortedDeps(d, less)})
				} else if onStack[d] && index[d] < low[f.n] {
					low[f.n] = index[d]
				}
				continue
			}
			work = work[:len(work)-1]
			if len(work) > 0 {
				p := work[len(work)-1]
				if low[f.n] < low[p.n] {
					low[p.n] = low[f.n]
				}
			}
			if low[f.n] == index[f.n] {
				var scc []N
				for {
					top := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[top] = false
					scc = append(scc, top)
					if top == f.n {
						break
					}
				}
				if len(scc) > 1 {
					sccs = append(sccs, g.cycleOrder(scc, less)...)
				}
			}
		}
	}
	sort.SliceStable(sccs, func(i, j int) bool {
		a, b := sccs[i], sccs[j]
		for k := 0; k < len(a) && k < len(b); k++ {
			if less(a[k], b[k]) {
				return true
			}
			if less(b[k], a[k]) {
				return false
			}
		}
		return len(a) < len(b)
	})
	return sccs
}

// acyclic reports whether the graph has no cycle, by removing nodes
// without dependencies until none is left (Kahn's algorithm): linear, and
// without the sorting Cycles does to name cycles deterministically, which
// is most of its cost on a large graph that has none.
func (g *Graph[N]) acyclic() bool {
	remaining := make([]int32, len(g.order))
	var ready []int32
	for i, ds := range g.deps {
		remaining[i] = int32(len(ds))
		if len(ds) == 0 {
			ready = append(ready, int32(i))
		}
	}
	dependents := g.dependents()
	done := 0
	for len(ready) > 0 {
		i := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		done++
		for _, j := range dependents[i] {
			if remaining[j]--; remaining[j] == 0 {
				ready = append(ready, j)
			}
		}
	}
	return done == len(g.order)
}

func (g *Graph[N]) sortedDeps(n N, less func(a, b N) bool) []N {
	ds := g.DependenciesOf(n)
	sort.Slice(ds, func(i, j int) bool { return less(ds[i], ds[j]) })
	return ds
}

// cycleOrder turns a strongly connected component into cycles that
// exist: each consecutive pair of a returned cycle, and its last node back
// to its first, is an edge of the graph. A component that is one ring
// gives one cycle; one with chords or several rings gives the shortest
// cycle through its smallest node, then through the smallest node not yet
// named, and so on, so that every node of the component is named and no
// edge is made up.
func (g *Graph[N]) cycleOrder(scc []N, less func(a, b N) bool) [][]N {
	in := make(map[N]bool, len(scc))
	for _, n := range scc {
		in[n] = true
	}
	sorted := append([]N(nil), scc...)
	sort.Slice(sorted, func(i, j int) bool { return less(sorted[i], sorted[j]) })
	named := map[N]bool{}
	var out [][]N
	for _, n := range sorted {
		if named[n] {
			continue
		}
		cyc := g.shortestCycle(n, in, less)
		first := 0
		for i, c := range cyc {
			named[c] = true
			if less(c, cyc[first]) {
				first = i
			}
		}
		rotated := make([]N, 0, len(cyc))
		out = append(out, append(append(rotated, cyc[first:]...), cyc[:first]...))
	}
	return out
}

// shortestCycle finds, by a breadth-first search that stays inside the
// component, the shortest path from start back to itself. Dependencies
// are tried in sorted order, so the answer is the same on every run. In a
// strongly connected component such a path always exists.
func (g *Graph[N]) shortestCycle(start N, in map[N]bool, less func(a, b N) bool) []N {
	prev := map[N]N{}
	seen := map[N]bool{start: true}
	queue := []N{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, d := range g.sortedDeps(cur, less) {
			if !in[d] {
				continue
			}
			if d == start {
				var path []N
				for n := cur; n != start; n = prev[n] {
					path = append(path, n)
				}
				path = append(path, start)
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			if !seen[d] {
				seen[d] = true
				prev[d] = cur
				queue = append(queue, d)
			}
		}
	}
	return []N{start} // not reached for a component of more than one node
}
