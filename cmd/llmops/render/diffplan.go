package render

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
)

// DiffPlan turns the differences between two state versions into a plan's
// changes, which Diff renders and PlanJSON encodes (`llmops diff`, and the
// dashboard's /api/diff): created, destroyed, replaced (a new version of
// the address) or updated.
func DiffPlan(diffs []history.ObjectDiff) *plans.Plan {
	p := &plans.Plan{Mode: plans.NormalMode}
	for _, d := range diffs {
		ch := &plans.ResourceInstanceChange{Addr: d.Addr}
		switch d.Kind {
		case history.Added:
			ch.Action, ch.Before, ch.After = plans.Create, cty.NilVal, d.After.Value
			ch.Provider = d.After.Provider
		case history.Removed:
			ch.Action, ch.Before, ch.After = plans.Delete, d.Before.Value, cty.NilVal
			ch.Provider = d.Before.Provider
		default:
			ch.Action, ch.Before, ch.After = plans.Update, d.Before.Value, d.After.Value
			ch.Provider = d.After.Provider
			if d.Before.Version != d.After.Version {
				ch.Action = plans.DeleteThenCreate
			}
		}
		p.Changes = append(p.Changes, ch)
	}
	return p
}
