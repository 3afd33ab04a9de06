package engine

import (
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
)

// Hooks receive progress from plan and apply. Calls may come from many
// goroutines at once; implementations serialise their own output.
type Hooks interface {
	PreRefresh(addr addrs.ResourceInstance)
	PostRefresh(addr addrs.ResourceInstance, err error)
	PreApply(addr addrs.ResourceInstance, action plans.Action)
	// PostApply reports the end of one instance's change; id is the
	// object's id attribute when it has one.
	PostApply(addr addrs.ResourceInstance, action plans.Action, elapsed time.Duration, id string, err error)
	// Heartbeat fires periodically for each operation still running.
	Heartbeat(addr addrs.ResourceInstance, action plans.Action, elapsed time.Duration)
	// Pending reports the status of a long operation being waited for.
	Pending(addr addrs.ResourceInstance, status, message string, elapsed time.Duration)
	// Skipped reports an instance not applied because a dependency failed.
	Skipped(addr addrs.ResourceInstance, because string)
}

// NoopHooks implements Hooks doing nothing; embed it to implement a subset.
type NoopHooks struct{}

func (NoopHooks) PreRefresh(addrs.ResourceInstance)             {}
func (NoopHooks) PostRefresh(addrs.ResourceInstance, error)     {}
func (NoopHooks) PreApply(addrs.ResourceInstance, plans.Action) {}
func (NoopHooks) PostApply(addrs.ResourceInstance, plans.Action, time.Duration, string, error) {
}
func (NoopHooks) Heartbeat(addrs.ResourceInstance, plans.Action, time.Duration) {}
func (NoopHooks) Pending(addrs.ResourceInstance, string, string, time.Duration) {}
func (NoopHooks) Skipped(addrs.ResourceInstance, string)                        {}
