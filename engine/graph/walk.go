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
	dependents := g.Dependents()
	remaining := make(map[N]int, len(g.order))
	for _, n := range g.order {
		remaining[n] = len(g.deps[n])
	}
	results := make(map[N]Result, len(g.order))
	var mu sync.Mutex
	var grp panics.Group
	var sem chan struct{}
	if parallelism > 0 {
		sem = make(chan struct{}, parallelism)
	}
	blockedBy := map[N]N{}

	var start func(n N)
	var finish func(n N, r Result)
	finish = func(n N, r Result) {
		// mu held by caller
		results[n] = r
		for _, d := range dependents[n] {
			if r != OK {
				if _, ok := blockedBy[d]; !ok {
					if cause, ok := blockedBy[n]; ok && r == Skipped {
						blockedBy[d] = cause
					} else {
						blockedBy[d] = n
					}
				}
			}
			remaining[d]--
			if remaining[d] == 0 {
				if _, blocked := blockedBy[d]; blocked {
					if skip != nil {
						skip(d, blockedBy[d])
					}
					finish(d, Skipped)
					continue
				}
				start(d)
			}
		}
	}
	start = func(n N) {
		grp.Go(func() {
			r := Skipped
			if acquire(ctx, sem) {
				if ctx.Err() == nil && !grp.Panicked() {
					r = Failed // unless visit returns
					grp.Run(func() { r = visit(ctx, n) })
				}
				if sem != nil {
					<-sem
				}
			}
			mu.Lock()
			defer mu.Unlock()
			finish(n, r)
		})
	}
	mu.Lock()
	for _, n := range g.order {
		if remaining[n] == 0 {
			start(n)
		}
	}
	mu.Unlock()
	grp.Wait()
	return results
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
