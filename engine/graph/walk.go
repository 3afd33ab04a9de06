package graph

import (
	"context"
	"sync"

	"github.com/llmops/llmops/internal/panics"
)

// Result of visiting one node.
type Result int

const (
	OK      Result = iota
	Failed         // the node failed; its dependents are skipped
	Skipped        // set by the walker for dependents of a failed node
)

// WalkFunc visits one node. It is called only after every dependency
// returned OK.
type WalkFunc[N comparable] func(ctx context.Context, n N) Result

// SkipFunc is told about each node skipped because a dependency failed.
type SkipFunc[N comparable] func(n N, because N)

// Walk visits every node after its dependencies, running at most
// parallelism visits at once (parallelism <= 0 means unbounded). A failed
// node's dependents are not visited; skip (optional) is told of each. Once
// ctx is done no new node starts. It returns the result of every node.
// The graph must be acyclic (check Cycles first).
//
// A panic in visit (or skip) does not crash the process from the walk's
// goroutine: no new node starts, the visits in flight finish, and Walk
// panics with it (*panics.Error, with the stack where it happened) in the
// caller's goroutine, whose defers then run (the CLI's release the state
// lock) before the command reports it.
func (g *Graph[N]) Walk(ctx context.Context, parallelism int, visit WalkFunc[N], skip SkipFunc[N]) map[N]Result {
	dependents := g.dependents()
	remaining := make([]int32, len(g.order))
	for i, ds := range g.deps {
		remaining[i] = int32(len(ds))
	}
	results := make([]Result, len(g.order))
	// blockedBy is, for a node to skip, the failed node that caused it
	// (-1: none).
	blockedBy := make([]int32, len(g.order))
	for i := range blockedBy {
		blockedBy[i] = -1
	}
	var mu sync.Mutex
	var grp panics.Group
	var sem chan struct{}
	if parallelism > 0 {
		sem = make(chan struct{}, parallelism)
	}

	var start func(i int32)
	var finish func(i int32, r Result)
	finish = func(i int32, r Result) {
		// mu held by caller
		results[i] = r
		for _, d := range dependents[i] {
			if r != OK && blockedBy[d] < 0 {
				if cause := blockedBy[i]; cause >= 0 && r == Skipped {
					blockedBy[d] = cause
				} else {
					blockedBy[d] = i
				}
			}
			remaining[d]--
			if remaining[d] == 0 {
				if blockedBy[d] >= 0 {
					if skip != nil {
						skip(g.order[d], g.order[blockedBy[d]])
					}
					finish(d, Skipped)
					continue
				}
				start(d)
			}
		}
	}
	start = func(i int32) {
		grp.Go(func() {
			r := Skipped
			if acquire(ctx, sem) {
				if ctx.Err() == nil && !grp.Panicked() {
					r = Failed // unless visit returns
					grp.Run(func() { r = visit(ctx, g.order[i]) })
				}
				if sem != nil {
					<-sem
				}
			}
			mu.Lock()
			defer mu.Unlock()
			finish(i, r)
		})
	}
	mu.Lock()
	for i := range g.order {
		if remaining[i] == 0 {
			start(int32(i))
		}
	}
	mu.Unlock()
	grp.Wait()
	out := make(map[N]Result, len(g.order))
	for i, r := range results {
		out[g.order[i]] = r
	}
	return out
}

func acquire(ctx context.Context, sem chan struct{}) bool {
	if ctx.Err() != nil {
		return false
	}
	if sem == nil {
		return true
	}
	select {
	case sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}
