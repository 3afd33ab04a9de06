package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
)

type recordingHooks struct {
	NoopHooks
	mu    sync.Mutex
	pre   []string
	post  []string
	beats []string
}

func (h *recordingHooks) PreApply(a addrs.ResourceInstance, _ plans.Action) {
	h.mu.Lock()
	h.pre = append(h.pre, a.String())
	h.mu.Unlock()
}
func (h *recordingHooks) PostApply(a addrs.ResourceInstance, _ plans.Action, _ time.Duration, _ string, _ error) {
	h.mu.Lock()
	h.post = append(h.post, a.String())
	h.mu.Unlock()
}
func (h *recordingHooks) Heartbeat(a addrs.ResourceInstance, _ plans.Action, _ time.Duration) {
	h.mu.Lock()
	h.beats = append(h.beats, a.String())
	h.mu.Unlock()
}

// Every instance reports its start and end, and anything still running
// gets a heartbeat at each interval.
func TestProgressHooksAndHeartbeat(t *testing.T) {
	h := newHarness(t)
	h.prov.applyDelay = 120 * time.Millisecond
	h.write(map[string]string{"main.llmops.hcl": `resource "test_value" "slow" {
  count = 2
  input = count.index
}`})
	cfg, _ := configs.LoadDir(h.dir)
	rec := &recordingHooks{}
	e := New(Options{Config: cfg, Store: h.store, Providers: h.providers(), Hooks: rec, HeartbeatInterval: 30 * time.Millisecond})
	defer e.Close()
	p, diags := e.Plan(context.Background(), PlanOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if _, diags := e.Apply(context.Background(), p, ApplyOptions{}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(rec.pre) != 2 || len(rec.post) != 2 {
		t.Fatalf("start/end lines: %v %v", rec.pre, rec.post)
	}
	if len(rec.beats) < 2 {
		t.Fatalf("no heartbeat for operations running 4 intervals: %v", rec.beats)
	}
}
