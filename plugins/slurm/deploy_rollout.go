package slurm

import (
	"context"
	"fmt"

	"github.com/llmops/llmops/plugins/sdk"
)

// Strategies.
const (
	strategyBlueGreen = "blue_green"
	strategyRolling   = "rolling"
	strategyRecreate  = "recreate"
)

func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// retire takes replicas out of the gateway's routes (already done by the
// caller), waits until no request is in flight on them, cancels their jobs
// and forgets them.
func (m *meta) retire(ctx context.Context, r *depRecord, reps []replicaRec) {
	if len(reps) == 0 {
		return
	}
	r.drain(ctx, reps)
	m.cancelReplicas(context.WithoutCancel(ctx), reps, true)
	r.forget(reps)
	_ = r.save()
}

// rollout moves the deployment to a new revision running spec, by the
// strategy. Until the new replicas are healthy, the old ones serve
// (except with recreate); a failure cancels the new jobs and leaves the
// old ones serving.
func (m *meta) rollout(ctx context.Context, r *depRecord, spec *depSpec, strategy string) error {
	rev := max(r.MaxRevision, r.Revision) + 1
	r.MaxRevision = rev
	old := append([]replicaRec(nil), r.Replicas...)
	sdk.Logger(ctx).Info("rolling out a new revision", "deployment", r.ID, "revision", rev, "strategy", strategy, "replicas", spec.Replicas)
	finish := func() { r.Revision, r.Spec = rev, *spec }
	switch strategy {
	case strategyRecreate:
		r.setRouted(nil, old)
		if err := m.applyRoutes(ctx, r); err != nil {
			return err
		}
		m.retire(ctx, r, old)
		news, err := m.startReplicas(ctx, r, spec, rev, indices(spec.Replicas))
		if err != nil {
			return fmt.Errorf("revision %d did not become healthy; with strategy recreate the previous revision was already stopped, so nothing serves: %w", rev, err)
		}
		r.setRouted(news, nil)
		finish()
		return m.applyRoutes(ctx, r)
	case strategyRolling:
		byIndex := map[int][]replicaRec{}
		n := spec.Replicas
		for _, x := range old {
			byIndex[x.Index] = append(byIndex[x.Index], x)
			n = max(n, x.Index+1)
		}
		for i := 0; i < n; i++ {
			var news []replicaRec
			if i < spec.Replicas {
				var err error
				if news, err = m.startReplicas(ctx, r, spec, rev, []int{i}); err != nil {
					return fmt.Errorf("revision %d: the rolling update stopped at replica %d of %d (replicas before it run the new revision, the others the previous one): %w", rev, i+1, spec.Replicas, err)
				}
			}
			r.setRouted(news, byIndex[i])
			if err := m.applyRoutes(ctx, r); err != nil {
				return err
			}
			m.retire(ctx, r, byIndex[i])
		}
		finish()
		return m.applyRoutes(ctx, r)
	default: // blue_green
		news, err := m.startReplicas(ctx, r, spec, rev, indices(spec.Replicas))
		if err != nil {
			return fmt.Errorf("revision %d did not become healthy, so the gateway was not switched: revision %d keeps serving: %w", rev, r.Revision, err)
		}
		r.setRouted(news, old)
		finish()
		if err := m.applyRoutes(ctx, r); err != nil {
			return err
		}
		m.retire(ctx, r, old)
		return r.save()
	}
}

// repair resubmits, in the current revision, the replicas whose job ended
// (time limit, scancel, node failure) or whose server stopped answering,
// and restarts a dead gateway. Blue/green again: the replacements are
// healthy before the broken ones are dropped.
func (m *meta) repair(ctx context.Context, r *depRecord) error {
	have := map[int]bool{}
	var bad []replicaRec
	for _, x := range r.Replicas {
		x := x
		ok := x.Revision == r.Revision && x.Routed && x.Index < r.Spec.Replicas && !have[x.Index] && m.replicaUp(ctx, &x, &r.Spec)
		if ok {
			have[x.Index] = true
		} else {
			bad = append(bad, x)
		}
	}
	var missing []int
	for i := 0; i < r.Spec.Replicas; i++ {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		sdk.Logger(ctx).Info("resubmitting replicas", "deployment", r.ID, "revision", r.Revision, "replicas", missing)
		news, err := m.startReplicas(ctx, r, &r.Spec, r.Revision, missing)
		if err != nil {
			return fmt.Errorf("resubmitting replicas of revision %d: %w", r.Revision, err)
		}
		r.setRouted(news, bad)
	} else {
		r.setRouted(nil, bad)
	}
	if err := m.applyRoutes(ctx, r); err != nil {
		return err
	}
	// The jobs of the replaced replicas are cancelled (if they still run);
	// their directories stay, with the log of what happened to them, until
	// the deployment is destroyed.
	r.drain(ctx, bad)
	m.cancelReplicas(context.WithoutCancel(ctx), bad, false)
	r.forget(bad)
	return r.save()
}
