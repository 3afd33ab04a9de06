package serving

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/llmops/llmops/plugins/sdk"
)

// Strategies.
const (
	StrategyBlueGreen = "blue_green"
	StrategyRolling   = "rolling"
	StrategyRecreate  = "recreate"
)

// manager carries out a deployment's changes through a backend.
type manager[S, R any] struct {
	b    Backend[S, R]
	site Site
}

func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// startReplicas starts one replica of spec at revision rev per index,
// records them unrouted, and waits until every one serves. On failure it
// stops them all and returns an error with the tail of the failing
// replica's log.
func (m *manager[S, R]) startReplicas(ctx context.Context, r *Record[S, R], spec *Spec[S], rev int64, idx []int) ([]Replica[R], error) {
	var started []Replica[R]
	fail := func(err error, x *Replica[R]) ([]Replica[R], error) {
		m.b.Stop(context.WithoutCancel(ctx), r, started, false)
		r.forget(started)
		_ = r.Save()
		tail := ""
		if x != nil {
			tail = m.b.LogTail(x)
		}
		return nil, fmt.Errorf("%w%s", err, tail)
	}
	for _, i := range idx {
		x, err := m.b.Start(ctx, r, spec, rev, i)
		if err != nil {
			if x.ID != "" {
				started = append(started, x)
				return fail(err, &x)
			}
			return fail(err, nil)
		}
		if x.Started.IsZero() {
			x.Started = time.Now().UTC()
		}
		started = append(started, x)
		r.Replicas = append(r.Replicas, x)
	}
	if err := r.Save(); err != nil {
		return fail(err, nil)
	}
	errs := make([]error, len(started))
	var wg sync.WaitGroup
	for i := range started {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = m.b.Wait(ctx, r, spec, &started[i])
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fail(err, &started[i])
		}
	}
	// The record gets what the replicas published (their URLs).
	r.update(started)
	return started, r.Save()
}

// retire takes replicas out of service once the gateway no longer routes
// to them: it waits until no request is in flight on them, stops them
// (removing their files), forgets them and saves the record.
func (m *manager[S, R]) retire(ctx context.Context, r *Record[S, R], reps []Replica[R]) {
	if len(reps) == 0 {
		return
	}
	r.drain(ctx, reps)
	m.b.Stop(context.WithoutCancel(ctx), r, reps, true)
	r.forget(reps)
	_ = r.Save()
}

// rollout moves the deployment to a new revision running spec, by the
// strategy. Until the new replicas are healthy, the old ones serve
// (except with recreate); a failure stops the new ones and leaves the old
// ones serving.
func (m *manager[S, R]) rollout(ctx context.Context, r *Record[S, R], spec *Spec[S], strategy, digest string) error {
	rev := max(r.MaxRevision, r.Revision) + 1
	r.MaxRevision = rev
	old := append([]Replica[R](nil), r.Replicas...)
	sdk.Logger(ctx).Info("rolling out a new revision", "deployment", r.ID, "revision", rev, "strategy", strategy, "replicas", spec.Replicas)
	finish := func() { r.Revision, r.Spec, r.ModelDigest = rev, *spec, digest }
	switch strategy {
	case StrategyRecreate:
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
	case StrategyRolling:
		byIndex := map[int][]Replica[R]{}
		n := spec.Replicas
		for _, x := range old {
			byIndex[x.Index] = append(byIndex[x.Index], x)
			n = max(n, x.Index+1)
		}
		for i := 0; i < n; i++ {
			var news []Replica[R]
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
		return r.Save()
	}
}

// repair restarts, in the current revision, the replicas that are gone or
// do not answer (all of them when the model's files changed, digest !=
// the recorded one), and a dead gateway. Blue/green again: the
// replacements are healthy before the broken ones are dropped; the
// broken ones' files stay (their logs say what happened) until the
// deployment is destroyed.
func (m *manager[S, R]) repair(ctx context.Context, r *Record[S, R], digest string) error {
	restartAll := digest != r.ModelDigest
	have := map[int]bool{}
	var bad []Replica[R]
	for _, x := range r.Replicas {
		x := x
		ok := !restartAll && x.Revision == r.Revision && x.Routed && x.Index < r.Spec.Replicas && !have[x.Index] && m.b.Up(ctx, r, &x)
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
		sdk.Logger(ctx).Info("restarting replicas", "deployment", r.ID, "revision", r.Revision, "replicas", missing)
		news, err := m.startReplicas(ctx, r, &r.Spec, r.Revision, missing)
		if err != nil {
			return fmt.Errorf("restarting replicas of revision %d: %w", r.Revision, err)
		}
		r.setRouted(news, bad)
	} else {
		r.setRouted(nil, bad)
	}
	r.ModelDigest = digest
	if err := m.applyRoutes(ctx, r); err != nil {
		return err
	}
	r.drain(ctx, bad)
	m.b.Stop(context.WithoutCancel(ctx), r, bad, false)
	r.forget(bad)
	return r.Save()
}

// stopAll stops the gateway (so no request starts) and every replica.
func (m *manager[S, R]) stopAll(ctx context.Context, r *Record[S, R]) {
	r.Gateway.Stop(12 * time.Second)
	m.b.Stop(ctx, r, r.Replicas, false)
}

// countHealthy counts the routed replicas of the current revision that
// run and answer their health check.
func (m *manager[S, R]) countHealthy(ctx context.Context, r *Record[S, R]) int {
	n := 0
	seen := map[int]bool{}
	for _, x := range r.Current() {
		x := x
		if !seen[x.Index] && m.b.Up(ctx, r, &x) {
			seen[x.Index] = true
			n++
		}
	}
	return n
}
