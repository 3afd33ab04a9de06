package slurm

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Tests that take the cluster's node out of service (to see how llmops
// plans around a drained node) must give it back in a state that takes
// jobs at once: the parallel tests that run after them submit jobs the
// moment they are released, and Slurm refuses a submission outright
// ("Required node not available") while the node is still draining or
// completing.

// command runs a Slurm client command against the test cluster.
func (e *slurmEnv) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SLURM_CONF="+e.Conf)
	return cmd
}

// firstNode is the name of the (first) node of the tests' partition.
func (e *slurmEnv) firstNode(t *testing.T) string {
	t.Helper()
	out, err := e.command("sinfo", "-h", "-N", "-p", e.Partition, "-o", "%N").Output()
	if err != nil {
		t.Fatalf("sinfo: %v", err)
	}
	return strings.TrimSpace(strings.Split(string(out), "\n")[0])
}

// scontrol runs scontrol and fails the test if it fails.
func (e *slurmEnv) scontrol(t *testing.T, args ...string) {
	t.Helper()
	if out, err := e.command("scontrol", args...).CombinedOutput(); err != nil {
		t.Fatalf("scontrol %v: %v: %s", args, err, out)
	}
}

// nodeState is sinfo's short state of node ("idle", "mix", "drng", ...).
func (e *slurmEnv) nodeState(node string) string {
	out, _ := e.command("sinfo", "-h", "-N", "-n", node, "-o", "%t").Output()
	return strings.TrimSpace(strings.Split(string(out), "\n")[0])
}

// drain takes node out of service and returns the function that puts it
// back; the test also puts it back when it ends, if it has not.
func (e *slurmEnv) drain(t *testing.T, node, reason string) (resume func()) {
	t.Helper()
	e.scontrol(t, "update", "nodename="+node, "state=drain", "reason="+reason)
	drained := true
	resume = func() {
		t.Helper()
		if !drained {
			return
		}
		drained = false
		e.resume(t, node)
	}
	t.Cleanup(resume)
	return resume
}

// resume puts node back and waits until the controller shows it usable
// (idle, mixed or allocated, responding) for half a second running.
func (e *slurmEnv) resume(t *testing.T, node string) {
	t.Helper()
	if out, err := e.command("scontrol", "update", "nodename="+node, "state=resume").CombinedOutput(); err != nil {
		t.Errorf("scontrol resume %s: %v: %s", node, err, out)
	}
	usable := 0
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		switch e.nodeState(node) {
		case "idle", "mix", "alloc":
			usable++
		default:
			usable = 0
		}
		if usable >= 5 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("node %s not usable a minute after resume: %s", node, e.nodeState(node))
}
