package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// RunnerArg runs the binary as the job runner inside a pod:
// `llmops-provider-kubernetes __llmops_runner -- COMMAND...`.
const RunnerArg = "__llmops_runner"

// CopyRunnerArg copies the binary to a path (runner_image's init container).
const CopyRunnerArg = "__llmops_copy_runner"

// EnvCollect tells the runner what to push when the command succeeds,
// besides metrics.json and metrics.jsonl: "model" (LLMOPS_OUTPUT_DIR/model),
// "data" (LLMOPS_OUTPUT_DIR/data.<LLMOPS_COLLECT_FORMAT>, a transform's
// output), "embeddings" (LLMOPS_OUTPUT_DIR/embeddings.jsonl, else what
// the command printed; the command reads the chunks, LLMOPS_INPUT_PATH,
// on stdin) or "metrics" (nothing more).
const EnvCollect = "LLMOPS_COLLECT"

// EnvCollectFormat is the data format of a transform's output
// (LLMOPS_OUTPUT_DIR/data.<format>), with LLMOPS_COLLECT=data.
const EnvCollectFormat = "LLMOPS_COLLECT_FORMAT"

// EnvRunnerDir is where the runner keeps its cache and the output
// directory (default: the system's temporary directory).
const EnvRunnerDir = "LLMOPS_RUNNER_DIR"

// result is what the runner leaves in the termination log (the container's
// terminated message, at most 4096 bytes): how the command ended and the
// ids of what it pushed.
type result struct {
	Status   string `json:"status"` // succeeded or failed
	ExitCode int    `json:"exit_code"`
	Reason   string `json:"reason,omitempty"`
	// Outputs maps "model" (and "metrics", metrics.json) to artifact ids.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Checkpoint is the latest checkpoint pushed after a failure, for the
	// next attempt's LLMOPS_RESUME_FROM.
	Checkpoint string             `json:"checkpoint,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Started    time.Time          `json:"started"`
	Finished   time.Time          `json:"finished"`
}

// ProgressPrefix starts the lines the runner echoes to its log for each
// new metrics.jsonl line, which the provider shows while apply waits.
const ProgressPrefix = "llmops-progress: "

// echoProgress prints the latest line of dir/metrics.jsonl each time it
// changes, until stop is closed.
func echoProgress(dir string, every time.Duration, stop <-chan struct{}, w io.Writer) {
	last := ""
	for {
		select {
		case <-stop:
			return
		case <-time.After(every):
		}
		if line, _, _ := jobs.LatestMetrics(filepath.Join(dir, jobs.MetricsLinesFile)); line != "" && line != last {
			last = line
			fmt.Fprintln(w, ProgressPrefix+line)
		}
	}
}

// maxResult is the kubelet's limit on a termination message.
const maxResult = 4096

// Runner is the job runner: it fetches the inputs named by LLMOPS_INPUTS
// from the remote artifact store, runs the command with the job
// contract's environment pointing at the local copies, then pushes the
// outputs to the store and writes their ids to $LLMOPS_RESULT_FILE. Its
// exit status is the command's. Pods of rank > 0 (NODE_RANK) push nothing.
func Runner(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "llmops runner: no command to run")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	res := runJob(ctx, args)
	b, _ := json.Marshal(res)
	if len(b) > maxResult {
		res.Metrics = nil // still in the store as metrics.json
		b, _ = json.Marshal(res)
	}
	if path := os.Getenv(EnvResultFile); path != "" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "llmops runner: writing the result to %s: %v\n", path, err)
		}
	}
	fmt.Fprintf(os.Stderr, "llmops runner: %s\n", b)
	switch {
	case res.Status == jobs.StatusSucceeded:
		return 0
	case res.ExitCode != 0:
		return res.ExitCode
	}
	return 1
}

// jobRun is one run of the job contract inside a pod: where it caches,
// the store it fetches from and pushes to, and the result it builds.
type jobRun struct {
	ctx            context.Context
	cfg            remote.Config
	base, cacheDir string
	opts           remote.Options
	res            *result
}

func runJob(ctx context.Context, argv []string) *result {
	res := &result{Status: jobs.StatusFailed, Started: time.Now().UTC()}
	defer func() { res.Finished = time.Now().UTC() }()
	base := os.Getenv(EnvRunnerDir)
	if base == "" {
		base = os.TempDir()
	}
	cfg, ok := remote.ConfigFromEnv(os.Getenv)
	if !ok {
		res.Reason = jobs.EnvArtifactsURL + " is not set: the pod was not given the remote artifact store"
		return res
	}
	r := &jobRun{ctx: ctx, cfg: cfg, base: base, cacheDir: filepath.Join(base, "llmops-cache"), res: res}
	paths, err := r.fetchInputs()
	if err != nil {
		res.Reason = "fetching the inputs: " + err.Error()
		return res
	}
	out, err := os.MkdirTemp(base, "llmops-output-")
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	defer os.RemoveAll(out)
	collect := os.Getenv(EnvCollect)
	stdoutFile, started, runErr := r.run(argv, paths, out, collect)
	if stdoutFile != "" {
		defer os.Remove(stdoutFile)
	}
	if !started {
		return res
	}
	if rank := os.Getenv("NODE_RANK"); rank != "" && rank != "0" {
		// Only rank 0 reports outputs.
		if runErr == nil {
			res.Status = jobs.StatusSucceeded
		}
		return res
	}
	if runErr != nil {
		r.pushCheckpoint(out)
		return res
	}
	r.pushMetrics(out)
	if r.pushCollected(out, collect, stdoutFile) {
		res.Status = jobs.StatusSucceeded
	}
	return res
}

// fetchInputs brings the job's inputs (and a checkpoint to resume from)
// into the cache: the environment variables to set to their paths.
func (r *jobRun) fetchInputs() (map[string]string, error) {
	paths, err := remote.Localize(r.ctx, os.Getenv, r.cacheDir, r.opts)
	if err != nil {
		return nil, err
	}
	if v := os.Getenv(jobs.EnvResumeFrom); strings.HasPrefix(v, artifacts.Prefix) {
		if id, err := artifacts.ParseID(v); err == nil {
			if p, err := remote.Fetch(r.ctx, r.cfg, r.cacheDir, id, r.opts); err == nil {
				paths[jobs.EnvResumeFrom] = p
			}
		}
	}
	return paths, nil
}

// run runs the user's command with the contract's environment (paths
// instead of digests, the output directory) and, for an embedding index,
// the chunks on stdin and stdout kept in a file (its name returned). It
// records the command's exit in the result; started is false when the
// command could not be set up (the reason is recorded).
func (r *jobRun) run(argv []string, paths map[string]string, out, collect string) (stdoutFile string, started bool, err error) {
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := paths[k]; over || k == jobs.EnvOutputDir || k == EnvResultFile {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range paths {
		env = append(env, k+"="+v)
	}
	env = append(env, jobs.EnvOutputDir+"="+out)
	cmd := exec.CommandContext(r.ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Stdin = env, nil
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if collect == collectEmbeddings {
		// The embedding contract: the chunks on stdin, the vectors on
		// stdout unless the command writes embeddings.jsonl.
		in, err := os.Open(paths[jobs.EnvInputPath])
		if err != nil {
			r.res.Reason = "the chunks (" + jobs.EnvInputPath + "): " + err.Error()
			return "", false, err
		}
		defer in.Close()
		so, err := os.CreateTemp(r.base, "llmops-embeddings-stdout-*.jsonl")
		if err != nil {
			r.res.Reason = err.Error()
			return "", false, err
		}
		defer so.Close()
		cmd.Stdin, cmd.Stdout, stdoutFile = in, so, so.Name()
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	stop := make(chan struct{})
	go echoProgress(out, 2*time.Second, stop, os.Stderr)
	err = cmd.Run()
	close(stop)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.res.ExitCode = ee.ExitCode()
		r.res.Reason = "the command " + ee.String()
	case err != nil:
		r.res.ExitCode = 127
		r.res.Reason = "cannot start the command: " + err.Error()
	}
	return stdoutFile, true, err
}

// pushCheckpoint keeps the newest checkpoint of a failed run, for the
// next attempt to resume from.
func (r *jobRun) pushCheckpoint(out string) {
	if cp := jobs.LatestCheckpoint(out); cp != "" {
		if id, err := remote.Push(r.ctx, r.cfg, r.cacheDir, cp, true, r.opts); err == nil {
			r.res.Checkpoint = string(id)
		}
	}
}

// pushMetrics reads the run's metrics into the result and pushes their
// files.
func (r *jobRun) pushMetrics(out string) {
	r.res.Outputs = map[string]string{}
	if m, _, err := jobs.ReadMetrics(out); err == nil && m != nil {
		r.res.Metrics = m
	} else if _, last, _ := jobs.LatestMetrics(filepath.Join(out, jobs.MetricsLinesFile)); last != nil {
		r.res.Metrics = last
	}
	for _, f := range []string{jobs.MetricsFile, jobs.MetricsLinesFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			if id, err := remote.Push(r.ctx, r.cfg, r.cacheDir, filepath.Join(out, f), false, r.opts); err == nil {
				r.res.Outputs[f] = string(id)
			}
		}
	}
}

// pushCollected pushes what the kind collects (transformed data, vectors,
// a model); false, with the reason recorded, when it is missing or the
// push failed.
func (r *jobRun) pushCollected(out, collect, stdoutFile string) bool {
	var p, key, what string
	move := true
	switch collect {
	case collectData:
		name := "data." + os.Getenv(EnvCollectFormat)
		p, key, what = filepath.Join(out, name), collectData, "the transformed data"
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			r.res.Reason = "the transform exited 0 but wrote no $LLMOPS_OUTPUT_DIR/" + name
			return false
		}
	case collectEmbeddings:
		p, key, what, move = filepath.Join(out, retrieval.EmbeddingsFile), collectEmbeddings, "the vectors", false
		if _, err := os.Stat(p); err != nil {
			p = stdoutFile
		}
	case collectModel:
		p, key, what = filepath.Join(out, "model"), "model", "the model"
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			r.res.Reason = "the command exited 0 but wrote no model: $LLMOPS_OUTPUT_DIR/model does not exist"
			return false
		}
	default:
		return true
	}
	id, err := remote.Push(r.ctx, r.cfg, r.cacheDir, p, move, r.opts)
	if err != nil {
		r.res.Reason = "pushing " + what + " to " + r.cfg.URL + ": " + err.Error()
		return false
	}
	r.res.Outputs[key] = string(id)
	return true
}

// FetchArg fetches an artifact into $LLMOPS_RUNNER_DIR/llmops-cache
// (`__llmops_fetch ID`): a serving pod's init container brings the model.
const FetchArg = "__llmops_fetch"

// FetchModel is FetchArg's work.
func FetchModel(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: llmops-provider-kubernetes "+FetchArg+" ID")
		return 2
	}
	cfg, ok := remote.ConfigFromEnv(os.Getenv)
	id, err := artifacts.ParseID(args[0])
	if !ok || err != nil {
		fmt.Fprintf(os.Stderr, "llmops fetch: %s must be set and %q an artifact id\n", jobs.EnvArtifactsURL, args[0])
		return 2
	}
	base := os.Getenv(EnvRunnerDir)
	if base == "" {
		base = os.TempDir()
	}
	p, err := remote.Fetch(context.Background(), cfg, filepath.Join(base, "llmops-cache"), id, remote.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmops fetch:", err)
		return 1
	}
	fmt.Println(p)
	return 0
}

// CopyRunner copies this binary to dst (executable), for runner_image's
// init container.
func CopyRunner(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: llmops-provider-kubernetes "+CopyRunnerArg+" DEST")
		return 2
	}
	self, err := os.Executable()
	if err == nil {
		err = copyExe(self, args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmops runner:", err)
		return 1
	}
	return 0
}

func copyExe(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
