package graph

import (
	"sort"
)

// Graph is a dependency graph: an edge from a to b means a depends on b
// (b runs first).
type Graph[N comparable] struct {
	nodes map[N]struct{}
	deps  map[N]map[N]struct{} // node -> its dependencies
	order []N                  // insertion order, for determinism
}

// New returns an empty graph.
func New[N comparable]() *Graph[N] {
	return &Graph[N]{nodes: map[N]struct{}{}, deps: map[N]map[N]struct{}{}}
}

// Add adds a node (idempotent).
func (g *Graph[N]) Add(n N) {
	if _, ok := g.nodes[n]; ok {
		return
	}
	g.nodes[n] = struct{}{}
	g.order = append(g.order, n)
}

// Has reports whether n is a node.
func (g *Graph[N]) Has(n N) bool { _, ok := g.nodes[n]; return ok }

// Connect records that from depends on to. Both are added if missing.
// Self-edges are ignored.
func (g *Graph[N]) Connect(from, to N) {
	if from == to {
		return
	}
	g.Add(from)
	g.Add(to)
	m := g.deps[from]
	if m == nil {
		m = map[N]struct{}{}
		g.deps[from] = m
	}
	m[to] = struct{}{}
}

// Nodes returns the nodes in insertion order.
func (g *Graph[N]) Nodes() []N { return append([]N(nil), g.order...) }

// Len is the number of nodes.
func (g *Graph[N]) Len() int { return len(g.order) }

// DependenciesOf returns the direct dependencies of n.
func (g *Graph[N]) DependenciesOf(n N) []N {
	out := make([]N, 0, len(g.deps[n]))
	for d := range g.deps[n] {
		out = append(out, d)
	}
	return out
}

// Dependents returns, for every node, its direct dependents.
func (g *Graph[N]) Dependents() map[N][]N {
	out := make(map[N][]N, len(g.nodes))
	for _, n := range g.order {
		for d := range g.deps[n] {
			out[d] = append(out[d], n)
		}
	}
	return out
}

// Reverse returns a graph with every edge reversed.
func (g *Graph[N]) Reverse() *Graph[N] {
	r := New[N]()
	for _, n := range g.order {
		r.Add(n)
	}
	for _, n := range g.order {
		for d := range g.deps[n] {
			r.Connect(d, n)
		}
	}
	return r
}

// Cycles returns every cycle (strongly connected component of more than
// one node, or a node depending on itself) as a list of nodes in cycle
// order, using less to start each cycle at its smallest node.
func (g *Graph[N]) Cycles(less func(a, b N) bool) [][]N {
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
					sccs = append(sccs, g.cycleOrder(scc, less))
				}
			}
		}
	}
	sort.Slice(sccs, func(i, j int) bool { return less(sccs[i][0], sccs[j][0]) })
	return sccs
}

func (g *Graph[N]) sortedDeps(n N, less func(a, b N) bool) []N {
	ds := g.DependenciesOf(n)
	sort.Slice(ds, func(i, j int) bool { return less(ds[i], ds[j]) })
	return ds
}

// cycleOrder walks the component from its smallest node along edges that
// stay inside it, so the result reads as a -> b -> c -> a.
func (g *Graph[N]) cycleOrder(scc []N, less func(a, b N) bool) []N {
	in := map[N]bool{}
	start := scc[0]
	for _, n := range scc {
		in[n] = true
		if less(n, start) {
			start = n
		}
	}
	out := []N{start}
	seen := map[N]bool{start: true}
	cur := start
	for len(out) < len(scc) {
		var nextN N
		found := false
		for _, d := range g.sortedDeps(cur, less) {
			if in[d] && !seen[d] {
				nextN, found = d, true
				break
			}
		}
		if !found {
			// The component is not a simple ring; list the rest in order.
			var rest []N
			for _, n := range scc {
				if !seen[n] {
					rest = append(rest, n)
				}
			}
			sort.Slice(rest, func(i, j int) bool { return less(rest[i], rest[j]) })
			return append(out, rest...)
		}
		out = append(out, nextN)
		seen[nextN] = true
		cur = nextN
	}
	return out
}
