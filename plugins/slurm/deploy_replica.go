package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/plugins/sdk/serving"
)

// defaultServeMinutes is a serving job's time limit when
// resources.max_duration is unset: a day.
const defaultServeMinutes = 24 * 60

// submitReplica prepares a replica directory and its script, and submits
// the job. The replica is not routed.
func (m *meta) submitReplica(ctx context.Context, r *depRecord, spec *depSpec, rev int64, index int) (replica, error) {
	r.Seq++
	shared := m.sharedDir(r.ID)
	var x replica
	x.Index, x.Revision = index, rev
	x.Ext.Dir = filepath.Join(shared, fmt.Sprintf("r%d-%d.%d", rev, index, r.Seq))
	if err := os.MkdirAll(shared, 0o755); err != nil {
		return x, err
	}
	if err := os.Mkdir(x.Ext.Dir, 0o755); err != nil {
		return x, err
	}
	if err := m.owned(x.Ext.Dir); err != nil {
		return x, err
	}
	// Secrets travel in the submission's environment, never in the script:
	// the replica's token too.
	var err error
	if x.Token, err = gateway.NewReplicaToken(); err != nil {
		return x, err
	}
	secrets := sdk.Secrets(ctx)
	subEnv := map[string]string{}
	for k, v := range m.baseEnv {
		subEnv[k] = v
	}
	subEnv[gateway.ReplicaTokenEnv] = x.Token
	env := map[string]string{}
	for k, v := range spec.Env {
		if secrets.Contains(v) {
			subEnv[k] = v
		} else {
			env[k] = v
		}
	}
	argv := append([]string(nil), spec.Command...)
	var secretArgs []int
	for i, a := range argv {
		if secrets.Contains(a) {
			subEnv[secretArgVar(i)] = a
			argv[i] = scrub.Mask
			secretArgs = append(secretArgs, i)
		}
	}
	script, err := renderServeScript(&serveParams{
		Deployment: r.ID, Revision: rev, Replica: index, Argv: argv, SecretArgs: secretArgs, WorkDir: m.jobDir, Dir: x.Ext.Dir,
		ModelPath: spec.ModelPath, Env: env, PortLow: spec.Ext.PortLow, PortHigh: spec.Ext.PortHigh,
	})
	if err != nil {
		return x, err
	}
	path := filepath.Join(x.Ext.Dir, scriptFile)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return x, err
	}
	res := spec.Ext.Res
	if res.Minutes <= 0 {
		res.Minutes = defaultServeMinutes
	}
	sub := &submission{
		Name: fmt.Sprintf("llmops-%s-r%d-%d", r.ID, rev, index), Script: script, Path: path, Dir: x.Ext.Dir, Output: x.Ext.logPath(), Env: subEnv,
		Part: res.Partition, Account: res.Account, QOS: res.QOS, Nodes: 1,
		CPUs: res.CPUs, MemMB: res.MemMB, Minutes: res.Minutes, Gres: res.gres(),
	}
	id, err := m.submit(ctx, sub)
	if err != nil {
		return x, fmt.Errorf("submitting replica %d of revision %d to Slurm: %w", index, rev, err)
	}
	x.ID, x.Ext.JobID, x.Ext.Submitted = id, id, time.Now().UTC()
	_ = os.WriteFile(filepath.Join(x.Ext.Dir, "job.id"), []byte(id+"\n"), 0o644)
	return x, nil
}

// waitReplica follows a replica's job until its server answers its health
// check: the job may queue for spec's queue timeout, then its server has
// the health timeout from the moment the job runs.
func (m *meta) waitReplica(ctx context.Context, x *replica, spec *depSpec) error {
	log := sdk.Logger(ctx)
	queueDeadline := time.Now().Add(spec.Ext.queueTimeout())
	var healthDeadline, nextPoll time.Time
	what := fmt.Sprintf("replica %d of revision %d (Slurm job %s)", x.Index, x.Revision, x.Ext.JobID)
	lastState := ""
	for {
		if now := time.Now(); !now.Before(nextPoll) {
			nextPoll = now.Add(time.Second)
			ji, err := m.sched.Job(ctx, x.Ext.JobID)
			switch {
			case errors.Is(err, errJobUnknown):
				return fmt.Errorf("%s is unknown to Slurm", what)
			case err != nil:
				log.Warn("cannot reach Slurm", "error", err)
			default:
				if ji.State != lastState {
					log.Info("replica job", "slurm_job", x.Ext.JobID, "state", ji.State, "reason", ji.Reason, "nodes", ji.Nodes)
					lastState = ji.State
				}
				switch classify(ji.State) {
				case phaseQueued:
					if now.After(queueDeadline) {
						reason := ""
						if ji.Reason != "" && ji.Reason != "None" {
							reason = " (" + ji.Reason + ")"
						}
						return fmt.Errorf("%s is still queued%s after the queue timeout (%s)", what, reason, spec.Ext.queueTimeout())
					}
				case phaseRunning:
					if healthDeadline.IsZero() {
						healthDeadline = now.Add(spec.HealthTimeoutOrDefault())
						x.Ext.Node = ji.Nodes
					}
				default:
					why := describeFailure(classify(ji.State))
					if t := exitText(ji); t != "" {
						why += " (" + t + ")"
					}
					return fmt.Errorf("%s %s before it answered its health check", what, why)
				}
			}
		}
		if !healthDeadline.IsZero() {
			if x.Ext.Port == 0 {
				if err := readEndpoint(&x.Ext); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("%s: %w", what, err)
				}
				if x.Ext.Port != 0 {
					x.URL = "http://" + x.Ext.hostPort()
				}
			}
			if x.Ext.Port != 0 && serving.Healthy(ctx, x.URL+spec.HealthPathOrDefault()) {
				log.Info("replica healthy", "slurm_job", x.Ext.JobID, "endpoint", x.URL)
				return nil
			}
			if time.Now().After(healthDeadline) {
				if x.Ext.Port == 0 {
					return fmt.Errorf("%s runs on %s but published no endpoint (%s) within the health timeout (%s)", what, x.Ext.Node, filepath.Join(x.Ext.Dir, endpointFile), spec.HealthTimeoutOrDefault())
				}
				return fmt.Errorf("%s did not answer GET %s%s with 2xx within the health timeout (%s)", what, x.URL, spec.HealthPathOrDefault(), spec.HealthTimeoutOrDefault())
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// readEndpoint reads the endpoint a replica's script published.
func readEndpoint(x *replicaRec) error {
	b, err := os.ReadFile(filepath.Join(x.Dir, endpointFile))
	if err != nil {
		return err
	}
	var e struct {
		Host string `json:"host"`
		Port int    `json:"port"`
		Node string `json:"node"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(x.Dir, endpointFile), err)
	}
	if !hostRE.MatchString(e.Host) || e.Port < 1 || e.Port > 65535 {
		return fmt.Errorf("%s gives an invalid endpoint %q port %d", filepath.Join(x.Dir, endpointFile), e.Host, e.Port)
	}
	x.Host, x.Port = e.Host, e.Port
	if e.Node != "" {
		x.Node = e.Node
	}
	return nil
}

// replicaUp reports whether a replica's job runs, is not about to reach
// its time limit (spec.renewBefore), and its server answers. When Slurm
// cannot be reached, the health check alone decides.
func (m *meta) replicaUp(ctx context.Context, x *replica, spec *depSpec) bool {
	if x.Ext.Port == 0 {
		return false
	}
	ji, err := m.sched.Job(ctx, x.Ext.JobID)
	if errors.Is(err, errJobUnknown) || (err == nil && classify(ji.State) != phaseRunning) {
		return false
	}
	if err == nil && expiring(ji, spec.Ext.renewBefore(), time.Now()) {
		sdk.Logger(ctx).Info("replica job nears its time limit: apply (or llmops watch) renews it", "slurm_job", x.Ext.JobID, "replica", x.Index,
			"time_limit_at", ji.Deadline.Format(time.RFC3339), "renew_before", spec.Ext.renewBefore().String())
		return false
	}
	return serving.Healthy(ctx, x.URL+spec.HealthPathOrDefault())
}

// cancelReplicas cancels replica jobs (in parallel, waiting for Slurm to
// end them) and, with remove, deletes their directories.
func (m *meta) cancelReplicas(ctx context.Context, reps []replica, remove bool) {
	var wg sync.WaitGroup
	for _, r := range reps {
		wg.Add(1)
		go func(x replicaRec) {
			defer wg.Done()
			if x.JobID != "" {
				if err := m.cancelAndWait(ctx, x.JobID); err != nil {
					sdk.Logger(ctx).Warn("cannot cancel a replica job", "slurm_job", x.JobID, "error", err)
				}
			}
			if remove && x.Dir != "" && strings.HasPrefix(x.Dir, m.deploySharedRoot()+string(filepath.Separator)) {
				_ = os.RemoveAll(x.Dir)
			}
		}(r.Ext)
	}
	wg.Wait()
}
