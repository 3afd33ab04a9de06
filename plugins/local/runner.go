package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// Files of a run directory.
const (
	specFile       = "spec.json"        // what to run (written before the supervisor starts)
	lockFile       = "lock"             // flock held by the supervisor for its lifetime
	supervisorFile = "supervisor.json"  // the supervisor's and the command's pids
	logFile        = jobs.LogFile       // the command's stdout and stderr
	outputDirName  = jobs.OutputDirName // LLMOPS_OUTPUT_DIR
	supLogFile     = "supervisor.log"   // the supervisor's own stderr, for debugging
)

// jobSpec is spec.json: what the supervisor needs, and what a monitor needs
// to rerun an evaluation. The command's argv and environment reach the
// supervisor in memory (jobSecrets, through a pipe), since they may hold
// secrets: spec.json records the argv with its sensitive elements replaced
// by "(sensitive)" (ArgvHidden then says so) and the environment without
// the variables that hold a secret (HiddenEnv names them).
type jobSpec struct {
	Kind     string   `json:"kind"`
	RunID    string   `json:"run_id"`
	Identity string   `json:"identity"`
	Argv     []string `json:"argv"`
	Dir      string   `json:"dir"`
	// Env is the command's environment; Secrets are the sensitive values
	// of the job (sdk.Secrets), which the supervisor scrubs from job.log.
	// Neither is ever written.
	Env     []string `json:"-"`
	Secrets []string `json:"-"`
	// RecordedEnv is Env without the variables that hold a secret;
	// ArgvHidden and HiddenEnv say what was left out.
	RecordedEnv []string `json:"env"`
	ArgvHidden  bool     `json:"argv_hidden,omitempty"`
	HiddenEnv   []string `json:"hidden_env,omitempty"`
	// MaxDuration is a Go duration; empty means no limit.
	MaxDuration string `json:"max_duration,omitempty"`
	// Stdin is a file given to the command on stdin.
	Stdin string `json:"stdin,omitempty"`
	// StdoutFile, when set, receives the command's stdout (stderr still
	// goes to the log).
	StdoutFile string `json:"stdout_file,omitempty"`
	// Collect says which output to store: model, metrics, data or index.
	Collect string `json:"collect"`
	Format  string `json:"format,omitempty"`
	Store   string `json:"store"`
	// GPUs is the CUDA_VISIBLE_DEVICES given to the job, for GPU
	// accounting; "unmanaged" when not set.
	GPUs string `json:"gpus"`
	// KillGrace is how long a killed job gets between SIGTERM and SIGKILL.
	KillGrace string `json:"kill_grace"`
}

type supervisorInfo struct {
	PID        int       `json:"pid"`
	PStart     uint64    `json:"pstart"`
	ChildPID   int       `json:"child_pid"`
	ChildStart uint64    `json:"child_pstart"`
	StartedAt  time.Time `json:"started_at"`
	Host       string    `json:"host"`
}

// runner starts, finds and stops the jobs under root.
type runner struct {
	root  string
	exe   string
	store *artifacts.Store
}

// run is one run directory.
type run struct {
	dir    string
	handle string // <kind>/<identity hex>: the Pending handle
}

func (rn *run) path(name string) string { return filepath.Join(rn.dir, name) }
func (rn *run) outputDir() string       { return rn.path(outputDirName) }
func (rn *run) logPath() string         { return rn.path(logFile) }

type runState int

const (
	stateRunning runState = iota
	stateFinished
	stateDead // no supervisor and no manifest: killed, crashed, or never started
)

type runStatus struct {
	state    runState
	manifest *jobs.Manifest
}

// open finds the run named by a Pending handle.
func (r *runner) open(handle string) (*run, error) {
	kind, hexid, ok := strings.Cut(handle, "/")
	if !ok || kind == "" || strings.ContainsAny(kind, `/\.`) || len(hexid) != 64 || strings.ContainsAny(hexid, `/\.`) {
		return nil, fmt.Errorf("invalid job handle %q", handle)
	}
	return &run{dir: filepath.Join(r.root, kind, hexid), handle: handle}, nil
}

// forIdentity names the run directory of a job identity.
func (r *runner) forIdentity(kind, identity string) (*run, error) {
	return r.open(kind + "/" + strings.TrimPrefix(identity, artifacts.Prefix))
}

// exists reports whether the run directory is there.
func (rn *run) exists() bool {
	_, err := os.Stat(rn.path(specFile))
	return err == nil
}

// status tells whether the job runs, finished (with its manifest) or died.
func (rn *run) status() runStatus {
	if m, err := jobs.ReadManifest(rn.path(jobs.ManifestFile)); err == nil {
		return runStatus{state: stateFinished, manifest: m}
	}
	f, err := os.OpenFile(rn.path(lockFile), os.O_RDWR, 0)
	if err != nil {
		return runStatus{state: stateDead}
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return runStatus{state: stateRunning}
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	// The supervisor may have written its manifest and exited meanwhile.
	if m, err := jobs.ReadManifest(rn.path(jobs.ManifestFile)); err == nil {
		return runStatus{state: stateFinished, manifest: m}
	}
	return runStatus{state: stateDead}
}

func (rn *run) supervisor() *supervisorInfo {
	b, err := os.ReadFile(rn.path(supervisorFile))
	if err != nil {
		return nil
	}
	var s supervisorInfo
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return &s
}

// start starts the job of spec in a detached supervisor, unless a job
// with the same identity runs or succeeded already: then it adopts that
// one (adopted is true). A previous attempt that failed or died is moved
// aside (<dir>.attempt-<time>) and a new job starts.
func (r *runner) start(spec *jobSpec) (rn *run, adopted bool, err error) {
	rn, err = r.forIdentity(spec.Kind, spec.Identity)
	if err != nil {
		return nil, false, err
	}
	parent := filepath.Dir(rn.dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, false, err
	}
	for attempt := 0; ; attempt++ {
		if rn.exists() {
			st := rn.status()
			if st.state == stateRunning || (st.state == stateFinished && st.manifest.Succeeded()) {
				return rn, true, nil
			}
			if attempt > 3 {
				return nil, false, fmt.Errorf("cannot take over %s", rn.dir)
			}
			r.stopOrphans(rn)
			aside := fmt.Sprintf("%s.attempt-%d", rn.dir, time.Now().UnixNano())
			if err := os.Rename(rn.dir, aside); err != nil && !os.IsNotExist(err) {
				return nil, false, fmt.Errorf("moving aside the failed attempt %s: %w", rn.dir, err)
			}
			continue
		}
		lock, err := r.prepare(rn, spec)
		if errors.Is(err, os.ErrExist) {
			continue // someone else was quicker: look again
		}
		if err != nil {
			return nil, false, err
		}
		err = r.launch(rn, spec, lock)
		lock.Close()
		if err != nil {
			_ = os.Rename(rn.dir, fmt.Sprintf("%s.attempt-%d", rn.dir, time.Now().UnixNano()))
			return nil, false, err
		}
		return rn, false, nil
	}
}

// prepare builds the run directory under a temporary name, with its spec
// and its lock (held), and renames it into place: the rename is what makes
// a run directory exist, so nobody ever sees one half made, and it fails
// when the directory exists already.
func (r *runner) prepare(rn *run, spec *jobSpec) (*os.File, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(rn.dir), ".new-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*os.File, error) { _ = os.RemoveAll(tmp); return nil, err }
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	if err := os.Mkdir(filepath.Join(tmp, outputDirName), 0o755); err != nil {
		return fail(err)
	}
	data, err := json.MarshalIndent(recorded(spec), "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := jobs.WriteFileAtomic(filepath.Join(tmp, specFile), data, 0o600); err != nil {
		return fail(err)
	}
	lock, err := os.OpenFile(filepath.Join(tmp, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fail(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return fail(err)
	}
	if err := os.Rename(tmp, rn.dir); err != nil {
		lock.Close()
		_ = os.RemoveAll(tmp)
		if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return nil, os.ErrExist
		}
		return nil, err
	}
	return lock, nil
}

// recorded is spec as spec.json records it: no secret in it.
func recorded(spec *jobSpec) *jobSpec {
	set := scrub.New(spec.Secrets...)
	shown := *spec
	shown.Argv = set.Strings(spec.Argv)
	shown.ArgvHidden = !slices.Equal(shown.Argv, spec.Argv)
	shown.RecordedEnv, shown.HiddenEnv = nil, nil
	for _, kv := range spec.Env {
		if set.Contains(kv) {
			name, _, _ := strings.Cut(kv, "=")
			shown.HiddenEnv = append(shown.HiddenEnv, name)
			continue
		}
		shown.RecordedEnv = append(shown.RecordedEnv, kv)
	}
	return &shown
}

// jobSecrets is what the supervisor gets through a pipe (file descriptor
// 4) and keeps in memory: the command's argv and environment, and the
// sensitive values to scrub from its log.
type jobSecrets struct {
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
	Secrets []string `json:"secrets,omitempty"`
}

// launch starts the supervisor in a new session (so neither a terminal's
// Ctrl-C nor llmops' exit reaches it), handing it the held lock and,
// through a pipe, the command's argv, environment and secrets: the
// supervisor's own environment holds none of them.
func (r *runner) launch(rn *run, spec *jobSpec, lock *os.File) error {
	supLog, err := os.OpenFile(rn.path(supLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer supLog.Close()
	payload, err := json.Marshal(jobSecrets{Argv: spec.Argv, Env: spec.Env, Secrets: spec.Secrets})
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	defer pw.Close()
	cmd := exec.Command(r.exe, SuperviseArg, rn.dir)
	cmd.Dir = spec.Dir
	cmd.Env = jobs.Passthrough(os.Environ(), nil)
	cmd.Stdout, cmd.Stderr = supLog, supLog
	cmd.ExtraFiles = []*os.File{lock, pr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the job supervisor: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it ends while the provider lives
	pr.Close()
	if _, err := pw.Write(payload); err != nil {
		return fmt.Errorf("handing the job to its supervisor: %w", err)
	}
	return pw.Close()
}

// wait polls a run until it is no longer running.
func (r *runner) wait(ctx context.Context, rn *run, every time.Duration) (runStatus, error) {
	for {
		st := rn.status()
		if st.state != stateRunning {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, context.Cause(ctx)
		case <-time.After(every):
		}
	}
}

// cancel stops a running job: SIGTERM to the supervisor, which stops the
// command's process group (SIGTERM, then SIGKILL after the grace period)
// and records the job as cancelled. If the supervisor does not finish in
// time, the group and the supervisor are killed.
func (r *runner) cancel(rn *run, grace time.Duration) {
	st := rn.status()
	sup := rn.supervisor()
	if st.state == stateRunning && sup != nil && sameProcess(sup.PID, sup.PStart) {
		_ = syscall.Kill(sup.PID, syscall.SIGTERM)
		deadline := time.Now().Add(grace + 5*time.Second)
		for time.Now().Before(deadline) && rn.status().state == stateRunning {
			time.Sleep(50 * time.Millisecond)
		}
		if rn.status().state == stateRunning {
			if sameProcess(sup.ChildPID, sup.ChildStart) {
				_ = syscall.Kill(-sup.ChildPID, syscall.SIGKILL)
			}
			_ = syscall.Kill(sup.PID, syscall.SIGKILL)
		}
	}
	r.stopOrphans(rn)
}

// stopOrphans kills the command's process group when its supervisor is
// gone but the group is not (the supervisor was killed with SIGKILL).
func (r *runner) stopOrphans(rn *run) {
	if rn.status().state == stateRunning {
		return
	}
	if sup := rn.supervisor(); sup != nil && sup.ChildPID > 0 && groupAlive(sup.ChildPID) {
		if sup.ChildStart == 0 || procStart(sup.ChildPID) == sup.ChildStart || procStart(sup.ChildPID) == 0 {
			_ = syscall.Kill(-sup.ChildPID, syscall.SIGKILL)
		}
	}
}

// remove stops the job if it runs and deletes its run directory (its
// stored outputs stay in the artifact store).
func (r *runner) remove(rn *run, grace time.Duration) error {
	if !rn.exists() {
		return nil
	}
	r.cancel(rn, grace)
	trash := filepath.Join(r.root, fmt.Sprintf(".trash-%d", time.Now().UnixNano()))
	if err := os.Rename(rn.dir, trash); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}

// busyGPUs returns the GPU indices given to jobs that run now.
func (r *runner) busyGPUs() map[string]bool {
	busy := map[string]bool{}
	kinds, _ := os.ReadDir(r.root)
	for _, k := range kinds {
		if !k.IsDir() || strings.HasPrefix(k.Name(), ".") {
			continue
		}
		runs, _ := os.ReadDir(filepath.Join(r.root, k.Name()))
		for _, e := range runs {
			if len(e.Name()) != 64 {
				continue
			}
			rn := &run{dir: filepath.Join(r.root, k.Name(), e.Name())}
			b, err := os.ReadFile(rn.path(specFile))
			if err != nil {
				continue
			}
			var spec jobSpec
			if json.Unmarshal(b, &spec) != nil || spec.GPUs == "" || spec.GPUs == gpusUnmanaged {
				continue
			}
			if rn.status().state == stateRunning {
				for _, g := range strings.Split(spec.GPUs, ",") {
					busy[g] = true
				}
			}
		}
	}
	return busy
}

// jobEnviron is the environment of a job: the allowed part of the
// provider's environment (jobs.Passthrough: the default allow-list and
// env_passthrough), plus the contract's variables and the job's env.
func (m *meta) jobEnviron(env jobs.Env, gpus string) []string {
	var base []string
	for _, kv := range jobs.Passthrough(os.Environ(), m.passthrough) {
		name, _, _ := strings.Cut(kv, "=")
		if gpus != gpusUnmanaged && name == "CUDA_VISIBLE_DEVICES" {
			continue
		}
		base = append(base, kv)
	}
	out := env.Environ(base)
	if gpus != gpusUnmanaged {
		out = append(out, "CUDA_VISIBLE_DEVICES="+gpus)
	}
	return out
}
