package engine

import (
	"sync"
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/internal/panics"
)

// inflight tracks running operations and sends heartbeats for them.
type inflight struct {
	hooks    Hooks
	interval time.Duration
	mu       sync.Mutex
	ops      map[addrs.ResourceInstance]inflightOp
}

type inflightOp struct {
	action plans.Action
	start  time.Time
}

func newInflight(h Hooks, interval time.Duration) *inflight {
	return &inflight{hooks: h, interval: interval, ops: map[addrs.ResourceInstance]inflightOp{}}
}

func (f *inflight) begin(ri addrs.ResourceInstance, a plans.Action) time.Time {
	now := time.Now()
	f.mu.Lock()
	f.ops[ri] = inflightOp{action: a, start: now}
	f.mu.Unlock()
	return now
}

func (f *inflight) end(ri addrs.ResourceInstance) {
	f.mu.Lock()
	delete(f.ops, ri)
	f.mu.Unlock()
}

// start runs the heartbeat until the returned stop function is called.
func (f *inflight) start() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	panics.Go(func() {
		defer wg.Done()
		t := time.NewTicker(f.interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				f.mu.Lock()
				type beat struct {
					ri addrs.ResourceInstance
					op inflightOp
				}
				var beats []beat
				for ri, op := range f.ops {
					if now.Sub(op.start) >= f.interval {
						beats = append(beats, beat{ri, op})
					}
				}
				f.mu.Unlock()
				for _, b := range beats {
					f.hooks.Heartbeat(b.ri, b.op.action, now.Sub(b.op.start).Round(time.Second))
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
