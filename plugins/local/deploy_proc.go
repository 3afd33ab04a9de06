package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/plugins/sdk/serving"
)

// GatewayArg is the hidden first argument with which the provider binary
// runs a deployment's gateway: `llmops-provider-local __llmops_gateway
// DIR` (the shared gateway's Arg). The main function must call Gateway
// when it sees it.
const GatewayArg = gateway.Arg

// Gateway runs a deployment's gateway process (package gateway) and
// returns its exit code.
func Gateway(args []string) int { return gateway.Main(args) }

// procRec identifies a detached process: its pid and start time (so a
// later process that reuses the pid is not mistaken for it).
type procRec struct {
	PID    int    `json:"pid"`
	PStart uint64 `json:"pstart"`
}

// alive reports whether the process still runs (a zombie does not).
func (p procRec) alive() bool {
	return sameProcess(p.PID, p.PStart) && !zombie(p.PID)
}

// zombie reports whether pid has exited and waits to be reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// substitute fills {model_path} and {port} in each element of argv.
func substitute(argv []string, modelPath string, port int) []string {
	out := make([]string, len(argv))
	r := strings.NewReplacer("{model_path}", modelPath, "{port}", strconv.Itoa(port))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}

// serveEnviron is a replica's environment: the allowed part of the
// provider's environment (jobs.Passthrough with env_passthrough), the serve
// block's env, and LLMOPS_MODEL_PATH, LLMOPS_PORT, LLMOPS_DEPLOYMENT_ID,
// LLMOPS_REVISION, LLMOPS_REPLICA.
func serveEnviron(spec *depSpec, pass []string, id string, rev int64, index, port int, token string) []string {
	var out []string
	for _, kv := range jobs.Passthrough(os.Environ(), pass) {
		name, _, _ := strings.Cut(kv, "=")
		if _, over := spec.Env[name]; over {
			continue
		}
		if spec.Ext.GPUs != gpusUnmanaged && name == "CUDA_VISIBLE_DEVICES" {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range sortedKeys(spec.Env) {
		out = append(out, k+"="+spec.Env[k])
	}
	if spec.Ext.GPUs != gpusUnmanaged {
		out = append(out, "CUDA_VISIBLE_DEVICES="+spec.Ext.GPUs)
	}
	return append(out,
		jobs.EnvModelPath+"="+spec.ModelPath,
		"LLMOPS_PORT="+strconv.Itoa(port),
		"LLMOPS_DEPLOYMENT_ID="+id,
		"LLMOPS_REVISION="+strconv.FormatInt(rev, 10),
		"LLMOPS_REPLICA="+strconv.Itoa(index),
		gateway.ReplicaTokenEnv+"="+token,
	)
}

// startReplica starts one replica of revision rev, detached (its own
// session and process group), its output in replicas/r<rev>-<index>.log.
func startReplica(dir, workDir, id string, spec *depSpec, pass []string, secrets *scrub.Set, rev int64, index int) (replicaRec, error) {
	var r replicaRec
	r.Index, r.Revision = index, rev
	port, err := freePort()
	if err != nil {
		return r, err
	}
	r.Ext.Port = port
	r.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	if r.Token, err = gateway.NewReplicaToken(); err != nil {
		return r, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "replicas"), 0o700); err != nil {
		return r, err
	}
	r.Ext.Log = filepath.Join(dir, "replicas", fmt.Sprintf("r%d-%d.log", rev, index))
	logf, err := os.OpenFile(r.Ext.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return r, err
	}
	defer logf.Close()
	argv := substitute(spec.Command, spec.ModelPath, port)
	fmt.Fprintf(logf, "llmops: starting replica %d of revision %d: %s\n", index, rev, secrets.String(quoteArgv(argv)))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = workDir
	cmd.Env = serveEnviron(spec, pass, id, rev, index, port, r.Token)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "llmops: cannot start %s: %v\n", secrets.String(argv[0]), secrets.Error(err))
		return r, fmt.Errorf("cannot start the serve command %s: %w", quoteArgv(argv), err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it exits while the provider lives
	r.Ext.PID, r.Ext.PStart, r.Started = cmd.Process.Pid, procStart(cmd.Process.Pid), time.Now().UTC()
	r.ID = fmt.Sprintf("pid:%d:%d", r.Ext.PID, r.Ext.PStart)
	return r, nil
}

// waitHealthy polls a replica's health path until it answers 2xx, the
// process exits, or timeout passes.
func waitHealthy(ctx context.Context, r *replicaRec, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if serving.Healthy(ctx, r.URL+path) {
			return nil
		}
		if !r.Ext.alive() {
			return fmt.Errorf("replica %d of revision %d exited before it answered GET %s%s", r.Index, r.Revision, r.URL, path)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %d of revision %d did not answer GET %s%s with 2xx within the health timeout (%s)", r.Index, r.Revision, r.URL, path, timeout)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopProc stops a detached process and its process group: SIGTERM, then
// SIGKILL after grace.
func stopProc(p procRec, grace time.Duration) {
	if p.PID <= 0 || !sameProcess(p.PID, p.PStart) {
		return
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !p.alive() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Whatever is left of the group (a `go run` child, say) goes too.
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	if p.alive() {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}
