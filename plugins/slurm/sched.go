package slurm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// scheduler is what the provider needs from Slurm. Two implementations:
// restClient (slurmrestd) and cliClient (sbatch, squeue, scontrol, scancel
// on a login node).
type scheduler interface {
	// Submit queues a batch job and returns its id.
	Submit(ctx context.Context, s *submission) (string, error)
	// Job describes a job; errJobUnknown when Slurm no longer knows it
	// (finished longer than MinJobAge ago, or never existed).
	Job(ctx context.Context, id string) (*jobInfo, error)
	// Cancel cancels a job (scancel); cancelling a finished job is not an error.
	Cancel(ctx context.Context, id string) error
	// Nodes lists the cluster's nodes with their GPUs.
	Nodes(ctx context.Context) ([]nodeInfo, error)
	// PendingJobs counts the jobs waiting in a partition ("" for all).
	PendingJobs(ctx context.Context, partition string) (int, error)
	// String names the endpoint for messages.
	String() string
}

var errJobUnknown = errors.New("Slurm does not know this job (it ended longer ago than MinJobAge, or never existed)")

// submission is one batch job to queue.
type submission struct {
	Name    string
	Script  string // the batch script's content
	Path    string // where the script is on the shared filesystem (the CLI submits this file)
	Dir     string // the job's working directory (the attempt directory)
	Output  string // stdout and stderr
	Env     map[string]string
	Part    string
	Account string
	QOS     string
	Nodes   int
	CPUs    int   // per task (one task per node)
	MemMB   int64 // per node
	Minutes int   // time limit; 0 = the partition's default
	Gres    string
}

// jobInfo is what Slurm says of a job.
type jobInfo struct {
	ID        string
	State     string // base state, upper case: PENDING, RUNNING, COMPLETED, FAILED, ...
	Reason    string
	ExitCode  int
	Signal    int
	Nodes     string
	Partition string
	Start     time.Time
	End       time.Time
	// Deadline is when a running job reaches its time limit (zero when
	// Slurm does not say).
	Deadline time.Time
}

// nodeInfo is one node and its GPUs.
type nodeInfo struct {
	Name       string
	State      string // lower case, e.g. "idle", "mixed", "allocated", "down", "drained"
	Flags      []string
	Partitions []string
	GPUs       []gpuCount
	CPUs       int
	AllocCPUs  int
}

// gpuCount is the GPUs of one type on a node ("" when untyped).
type gpuCount struct {
	Type  string
	Total int
	Used  int
}

// Phases of a job as llmops sees it.
const (
	phaseQueued  = "queued"
	phaseRunning = "running"
	phaseDone    = "succeeded"
)

// Terminal failure kinds, as used by `retry { on = [...] }`.
const (
	failFailed    = "failed"
	failTimeout   = "timeout"
	failCancelled = "cancelled"
	failNodeFail  = "node_fail"
	failPreempted = "preempted"
	failOOM       = "oom"
)

// retryable lists the kinds `retry.on` accepts.
var retryable = []string{failFailed, failTimeout, failNodeFail, failPreempted, failOOM}

// classify maps a Slurm job state to a phase (queued, running, succeeded)
// or a failure kind.
func classify(state string) string {
	s := strings.ToUpper(strings.TrimSpace(state))
	if i := strings.IndexAny(s, " +,"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "RESIZING", "SUSPENDED", "STOPPED", "":
		return phaseQueued
	case "RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "UPDATE_DB", "POWER_UP_NODE":
		return phaseRunning
	case "COMPLETED":
		return phaseDone
	case "TIMEOUT", "DEADLINE":
		return failTimeout
	case "CANCELLED", "REVOKED":
		return failCancelled
	case "NODE_FAIL", "BOOT_FAIL", "LAUNCH_FAILED":
		return failNodeFail
	case "PREEMPTED":
		return failPreempted
	case "OUT_OF_MEMORY":
		return failOOM
	default: // FAILED, SPECIAL_EXIT, ...
		return failFailed
	}
}

// describeFailure says what a failure kind means, for error summaries.
func describeFailure(kind string) string {
	switch kind {
	case failTimeout:
		return "ran out of time (resources.max_duration)"
	case failCancelled:
		return "was cancelled"
	case failNodeFail:
		return "lost its node (NODE_FAIL)"
	case failPreempted:
		return "was preempted"
	case failOOM:
		return "ran out of memory"
	}
	return "failed"
}

// submit submits through the scheduler (REST or CLI); every job the
// provider starts (runs, retries, serving replicas) goes through here, so
// each refusal gets the same advice.
func (m *meta) submit(ctx context.Context, sub *submission) (string, error) {
	id, err := m.sched.Submit(ctx, sub)
	if err != nil {
		return "", submitHint(err, sub.Part)
	}
	return id, nil
}

// submitHint adds what to do to a refused submission where Slurm's own
// words leave it open: Slurm refuses a job outright, rather than queue it,
// when every node that could run it is down, drained or reserved.
func submitHint(err error, partition string) error {
	if !strings.Contains(err.Error(), "Required node not available") {
		return err
	}
	see := "sinfo -R"
	if partition != "" {
		see = "sinfo -R -p " + partition
	}
	return fmt.Errorf("%w\n\nNo node that could run the job is in service now (see `%s`). "+
		"Run apply again once an administrator resumes a node, or add a placement block with another candidate.", err, see)
}
