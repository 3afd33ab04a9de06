package local

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// Strategies.
const (
	strategyBlueGreen = "blue_green"
	strategyRolling   = "rolling"
	strategyRecreate  = "recreate"
)

// startReplicas starts replicas of spec at revision rev (one per index),
// records them unrouted, and waits until every one is healthy. On failure
// it stops them all and returns an error with the tail of the failing
// replica's log.
func (m *meta) startReplicas(ctx context.Context, r *depRecord, spec *depSpec, rev int64, indices []int) ([]replicaRec, error) {
	var started []replicaRec
	fail := func(err error, log string) ([]replicaRec, error) {
		r.stopReplicas(started)
		_ = r.save()
		tail := ""
		if log != "" {
			tail = replicaLogTail(log)
		}
		return nil, fmt.Errorf("%w%s", err, tail)
	}
	for _, i := range indices {
		x, err := startReplica(r.dir, m.workDir, r.ID, spec, m.passthrough, r.secrets, rev, i)
		if err != nil {
			return fail(err, x.Log)
		}
		started = append(started, x)
		r.Replicas = append(r.Replicas, x)
	}
	if err := r.save(); err != nil {
		return fail(err, "")
	}
	errs := make([]error, len(started))
	var wg sync.WaitGroup
	for i := range started {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = waitHealthy(ctx, &started[i], spec.healthPath(), spec.healthTimeout())
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fail(err, started[i].Log)
		}
	}
	return started, nil
}

func replicaLogTail(path string) string {
	lines, err := jobs.Tail(path, 20)
	if err != nil || len(lines) == 0 {
		return fmt.Sprintf("\n\nThe replica's log (%s) is empty.", path)
	}
	return fmt.Sprintf("\n\nLast lines of the replica's log (%s):\n  %s", path, strings.Join(lines, "\n  "))
}

// setRouted routes the replicas in on and unroutes those in off.
func (r *depRecord) setRouted(on, off []replicaRec) {
	for i := range r.Replicas {
		x := &r.Replicas[i]
		for _, y := range on {
			if x.PID == y.PID && x.PStart == y.PStart {
				x.Routed = true
			}
		}
		for _, y := range off {
			if x.PID == y.PID && x.PStart == y.PStart {
				x.Routed = false
			}
		}
	}
}

func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// rollout moves the deployment to a new revision running spec, by the
// strategy. Until the new replicas are healthy, the old ones serve
// (except with recreate); a failure leaves them serving.
func (m *meta) rollout(ctx context.Context, r *depRecord, spec *depSpec, strategy, digest string) error {
	rev := max(r.MaxRevision, r.Revision) + 1
	r.MaxRevision = rev
	old := append([]replicaRec(nil), r.Replicas...)
	log := sdk.Logger(ctx)
	log.Info("rolling out a new revision", "deployment", r.ID, "revision", rev, "strategy", strategy, "replicas", spec.Replicas)
	finish := func() {
		r.Revision, r.Spec, r.ModelDigest = rev, *spec, digest
	}
	switch strategy {
	case strategyRecreate:
		r.setRouted(nil, old)
		if err := m.applyRoutes(ctx, r); err != nil {
			return err
		}
		r.drain(ctx, old)
		r.stopReplicas(old)
		news, err := m.startReplicas(ctx, r, spec, rev, indices(spec.Replicas))
		if err != nil {
			_ = r.save()
			return fmt.Errorf("revision %d did not become healthy; with strategy recreate the previous revision was already stopped, so nothing serves: %w", rev, err)
		}
		r.setRouted(news, nil)
		finish()
		return m.applyRoutes(ctx, r)
	case strategyRolling:
		byIndex := map[int][]replicaRec{}
		for _, x := range old {
			byIndex[x.Index] = append(byIndex[x.Index], x)
		}
		n := spec.Replicas
		for _, x := range old {
			n = max(n, x.Index+1)
		}
		for i := 0; i < n; i++ {
			var news []replicaRec
			if i < spec.Replicas {
				var err error
				news, err = m.startReplicas(ctx, r, spec, rev, []int{i})
				if err != nil {
					return fmt.Errorf("revision %d: the rolling update stopped at replica %d of %d (replicas before it run the new revision, the others the previous one): %w", rev, i+1, spec.Replicas, err)
				}
			}
			r.setRouted(news, byIndex[i])
			if err := m.applyRoutes(ctx, r); err != nil {
				return err
			}
			r.drain(ctx, byIndex[i])
			r.stopReplicas(byIndex[i])
			_ = r.save()
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
		r.drain(ctx, old)
		r.stopReplicas(old)
		return r.save()
	}
}

// repair restarts what died in the current revision: a dead gateway, and
// replicas that are gone or unhealthy (all of them when the model's files
// changed), blue/green: the replacements are healthy before the broken ones
// are dropped.
func (m *meta) repair(ctx context.Context, r *depRecord, digest string) error {
	restartAll := digest != r.ModelDigest
	have := map[int]bool{}
	var bad []replicaRec
	for _, x := range r.Replicas {
		x := x
		ok := !restartAll && x.Revision == r.Revision && x.Routed && x.Index < r.Spec.Replicas && !have[x.Index] && x.alive() && healthy(ctx, &x, r.Spec.healthPath())
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
	r.stopReplicas(bad)
	return r.save()
}
