package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// A run is one job identity's directory on the shared filesystem:
//
//	<shared_dir>/llmops/runs/<kind>/<identity hex>/
//	  spec.json             what to run (jobSpec), written once
//	  attempt-<n>/          one per submission (retries add attempts)
//	    job.sh              the generated batch script
//	    job.id              the Slurm job id
//	    job.log             the command's stdout and stderr
//	    output/             LLMOPS_OUTPUT_DIR
//	    output.files        the listing of the collected tree
//	    manifest.json       written last by the script
//
// The pending handle is "<kind>/<identity hex>/<attempt>/<job id>".
type run struct {
	dir  string
	kind string
	hex  string
}

const specFile = "spec.json"

// jobSpec is spec.json: everything needed to submit an attempt again.
type jobSpec struct {
	Kind     string   `json:"kind"`
	RunID    string   `json:"run_id"`
	Identity string   `json:"identity"`
	Argv     []string `json:"argv"`
	// SecretArgs are the indices of Argv's sensitive elements: they read
	// "(sensitive)" here and reach the script through the submission's
	// environment (LLMOPS_SECRET_ARG_<i>).
	SecretArgs []int             `json:"secret_args,omitempty"`
	WorkDir    string            `json:"work_dir"`
	Env        map[string]string `json:"env"`      // contract variables (staged paths) and the user's env, without secrets
	BaseEnv    map[string]string `json:"base_env"` // the job's starting environment
	Collect    string            `json:"collect"`
	Format     string            `json:"format,omitempty"`
	Res        resources         `json:"resources"`
	Retry      retryPolicy       `json:"retry"`
}

// resources is a job's request to the scheduler.
type resources struct {
	Partition string `json:"partition,omitempty"`
	Account   string `json:"account,omitempty"`
	QOS       string `json:"qos,omitempty"`
	Nodes     int    `json:"nodes,omitempty"`
	GPUs      int    `json:"gpus,omitempty"`
	GPUType   string `json:"gpu_type,omitempty"`
	CPUs      int    `json:"cpus,omitempty"`
	MemMB     int64  `json:"mem_mb,omitempty"`
	Minutes   int    `json:"minutes,omitempty"`
}

// gres is the --gres request: gpu:<type>:<n>, or gpu:<n> for any type.
func (r resources) gres() string {
	if r.GPUs <= 0 {
		return ""
	}
	if r.GPUType == "" || r.GPUType == "any" {
		return "gpu:" + strconv.Itoa(r.GPUs)
	}
	return "gpu:" + r.GPUType + ":" + strconv.Itoa(r.GPUs)
}

// minutes rounds a duration up to whole minutes, Slurm's unit.
func minutes(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Minutes()))
}

// retryPolicy is the `retry` block.
type retryPolicy struct {
	Attempts int      `json:"attempts"`
	On       []string `json:"on"`
}

func (p retryPolicy) allows(kind string, attempt int) bool {
	return attempt < p.Attempts && contains(p.On, kind)
}

func (m *meta) runFor(kind, identity string) *run {
	hex := strings.TrimPrefix(identity, artifacts.Prefix)
	return &run{dir: filepath.Join(m.runsRoot(), kind, hex), kind: kind, hex: hex}
}

// runForHandle finds the run and attempt a pending handle names.
func (m *meta) runForHandle(h string) (*run, int, string, error) {
	parts := strings.Split(h, "/")
	if len(parts) != 4 || parts[0] == "" || strings.ContainsAny(parts[0], `.\`) || len(parts[1]) != 64 || strings.ContainsAny(parts[1], `.\`) {
		return nil, 0, "", fmt.Errorf("invalid job handle %q", h)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 1 {
		return nil, 0, "", fmt.Errorf("invalid job handle %q", h)
	}
	if _, err := strconv.Atoi(parts[3]); err != nil {
		return nil, 0, "", fmt.Errorf("invalid job handle %q", h)
	}
	return &run{dir: filepath.Join(m.runsRoot(), parts[0], parts[1]), kind: parts[0], hex: parts[1]}, n, parts[3], nil
}

func handle(r *run, attempt int, jobID string) string {
	return fmt.Sprintf("%s/%s/%d/%s", r.kind, r.hex, attempt, jobID)
}

func (r *run) attemptDir(n int) string {
	return filepath.Join(r.dir, jobs.AttemptPrefix+strconv.Itoa(n))
}
func (r *run) outputDir(n int) string { return filepath.Join(r.attemptDir(n), outputName) }
func (r *run) logPath(n int) string   { return filepath.Join(r.attemptDir(n), logFile) }
func (r *run) manifestPath(n int) string {
	return filepath.Join(r.attemptDir(n), jobs.ManifestFile)
}

func (r *run) exists() bool {
	_, err := os.Stat(filepath.Join(r.dir, specFile))
	return err == nil
}

func (r *run) readSpec() (*jobSpec, error) {
	b, err := os.ReadFile(filepath.Join(r.dir, specFile))
	if err != nil {
		return nil, err
	}
	var s jobSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(r.dir, specFile), err)
	}
	return &s, nil
}

// lastAttempt returns the highest attempt number and its job id (0 and ""
// when none was submitted).
func (r *run) lastAttempt() (int, string) {
	for n := 1; ; n++ {
		if _, err := os.Stat(r.attemptDir(n)); err != nil {
			n--
			if n == 0 {
				return 0, ""
			}
			b, _ := os.ReadFile(filepath.Join(r.attemptDir(n), "job.id"))
			return n, strings.TrimSpace(string(b))
		}
	}
}

// create makes the run directory exclusively and writes its spec; it
// returns os.ErrExist when the run exists already.
func (m *meta) createRun(r *run, spec *jobSpec) error {
	if err := os.MkdirAll(filepath.Dir(r.dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return os.ErrExist
		}
		return err
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return jobs.WriteFileAtomic(filepath.Join(r.dir, specFile), append(b, '\n'), 0o644)
}

// moveAside renames a run that failed out of the way, so the identity can
// run again.
func (m *meta) moveAside(r *run) error {
	aside := fmt.Sprintf("%s.attempts-%d", r.dir, time.Now().UnixNano())
	if err := os.Rename(r.dir, aside); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// submitAttempt prepares attempt n of a run (its directory, script and
// secrets) and submits it. resumeFrom, when set, becomes
// LLMOPS_RESUME_FROM.
func (m *meta) submitAttempt(ctx context.Context, r *run, spec *jobSpec, n int, resumeFrom string, secrets map[string]string) (string, error) {
	ad := r.attemptDir(n)
	if err := os.Mkdir(ad, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", ad, err)
	}
	out := r.outputDir(n)
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", err
	}
	for _, d := range []string{ad, out} {
		if err := m.owned(d); err != nil {
			return "", err
		}
	}
	env := map[string]string{}
	for k, v := range spec.Env {
		env[k] = v
	}
	if resumeFrom != "" {
		env[jobs.EnvResumeFrom] = resumeFrom
	}
	for _, i := range spec.SecretArgs {
		if _, ok := secrets[secretArgVar(i)]; !ok {
			return "", fmt.Errorf("element %d of the command is sensitive and its value is not in the state (was it recorded without a state key?): apply again to resubmit the job", i)
		}
	}
	p := &scriptParams{
		Kind: spec.Kind, RunID: spec.RunID, Identity: spec.Identity, Attempt: n, Argv: spec.Argv, SecretArgs: spec.SecretArgs,
		WorkDir: spec.WorkDir, AttemptDir: ad, Env: env, Nodes: spec.Res.Nodes, Collect: spec.Collect, Format: spec.Format,
	}
	script, err := renderScript(p)
	if err != nil {
		return "", err
	}
	path := filepath.Join(ad, scriptFile)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", err
	}
	// Secrets travel in the submission's environment (sbatch's, or the
	// REST request), never in a file.
	if err := checkEnv(secrets); err != nil {
		return "", err
	}
	subEnv := make(map[string]string, len(spec.BaseEnv)+len(secrets))
	for k, v := range spec.BaseEnv {
		subEnv[k] = v
	}
	for k, v := range secrets {
		subEnv[k] = v
	}
	sub := &submission{
		Name: "llmops-" + spec.RunID, Script: script, Path: path, Dir: ad, Output: r.logPath(n), Env: subEnv,
		Part: spec.Res.Partition, Account: spec.Res.Account, QOS: spec.Res.QOS, Nodes: spec.Res.Nodes,
		CPUs: spec.Res.CPUs, MemMB: spec.Res.MemMB, Minutes: spec.Res.Minutes, Gres: spec.Res.gres(),
	}
	id, err := m.submit(ctx, sub)
	if err != nil {
		_ = os.RemoveAll(ad)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(ad, "job.id"), []byte(id+"\n"), 0o644); err != nil {
		return id, err
	}
	return id, nil
}

// resumePoint is the latest checkpoint left by the attempts before n.
func (r *run) resumePoint(n int) string {
	for i := n - 1; i >= 1; i-- {
		if cp := jobs.LatestCheckpoint(r.outputDir(i)); cp != "" {
			return cp
		}
	}
	return ""
}

// remove cancels the run's jobs and deletes its directory.
func (m *meta) removeRun(ctx context.Context, r *run) error {
	if _, err := os.Stat(r.dir); err != nil {
		return nil
	}
	var ids []string
	for n := 1; ; n++ {
		b, err := os.ReadFile(filepath.Join(r.attemptDir(n), "job.id"))
		if err != nil {
			if _, serr := os.Stat(r.attemptDir(n)); serr != nil {
				break
			}
			continue
		}
		ids = append(ids, strings.TrimSpace(string(b)))
	}
	for _, id := range ids {
		if err := m.cancelAndWait(ctx, id); err != nil {
			return err
		}
	}
	trash := filepath.Join(m.runsRoot(), fmt.Sprintf(".trash-%d", time.Now().UnixNano()))
	if err := os.Rename(r.dir, trash); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var err error
	for i := 0; i < 5; i++ {
		if err = os.RemoveAll(trash); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// cancelAndWait cancels a job that is still queued or running and waits
// (a little) until Slurm reports it ended, so its files can be removed.
func (m *meta) cancelAndWait(ctx context.Context, id string) error {
	ji, err := m.sched.Job(ctx, id)
	if errors.Is(err, errJobUnknown) {
		return nil
	}
	if err != nil {
		return err
	}
	if p := classify(ji.State); p != phaseQueued && p != phaseRunning {
		return nil
	}
	if err := m.sched.Cancel(ctx, id); err != nil {
		return fmt.Errorf("cancelling Slurm job %s: %w", id, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ji, err := m.sched.Job(ctx, id)
		if err != nil || (classify(ji.State) != phaseQueued && classify(ji.State) != phaseRunning) {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}
