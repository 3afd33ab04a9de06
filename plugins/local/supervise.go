package local

import (
	"encoding/json"
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
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// SuperviseArg is the hidden first argument with which the provider binary
// runs as a job supervisor: `llmops-provider-local __llmops_supervise
// RUNDIR`. The main function must call Supervise when it sees it.
const SuperviseArg = "__llmops_supervise"

const defaultKillGrace = 10 * time.Second

// Supervise runs the job of a run directory to its end and returns the
// supervisor's exit code. It is started by the provider in its own session
// with the run's lock as file descriptor 3, which it holds until it exits,
// and a pipe as file descriptor 4 that brings the command's argv,
// environment and secrets (jobSecrets), which are never written to disk.
//
// It runs the command (argv, in its own process group, stdout and stderr to
// job.log, with every secret replaced by "(sensitive)"), kills the group
// past max_duration or when asked to stop (SIGTERM), then stores the job's
// outputs in the artifact store and writes manifest.json, last.
func Supervise(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: llmops-provider-local "+SuperviseArg+" RUNDIR")
		return 2
	}
	rn := &run{dir: args[0]}
	syscall.CloseOnExec(3) // the lock is ours, not the command's
	lock := os.NewFile(3, "lock")
	defer lock.Close()
	syscall.CloseOnExec(4)
	var given jobSecrets
	givenErr := readJobSecrets(os.NewFile(4, "job"), &given)

	logf, err := os.OpenFile(rn.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logf.Close()
	host, _ := os.Hostname()
	sv := &supervision{rn: rn, secrets: scrub.New(given.Secrets...), logf: logf, host: host,
		m: &jobs.Manifest{Host: host, StartedAt: time.Now().UTC()}}
	sv.logw = scrub.NewWriter(logf, sv.secrets)

	if b, err := os.ReadFile(rn.path(specFile)); err != nil || json.Unmarshal(b, &sv.spec) != nil {
		return sv.fail(fmt.Sprintf("unreadable job spec %s", rn.path(specFile)))
	}
	sv.spec.Argv, sv.spec.Env, sv.spec.Secrets = given.Argv, given.Env, given.Secrets
	if givenErr != nil || len(sv.spec.Argv) == 0 {
		return sv.fail(fmt.Sprintf("the provider did not hand over the job's command: %v", givenErr))
	}
	sv.m.RunID, sv.m.Kind, sv.m.Identity = sv.spec.RunID, sv.spec.Kind, sv.spec.Identity

	cmd, copied, closeFiles, err := sv.command()
	if err != nil {
		return sv.fail(err.Error())
	}
	defer closeFiles()
	reason, waitErr, err := sv.runCommand(cmd, copied)
	if err != nil {
		return sv.fail(sv.secrets.String(fmt.Sprintf("cannot start %s: %v", sv.spec.Argv[0], err)))
	}
	sv.result(cmd, reason, waitErr)
	sv.store()
	return sv.finish()
}

// supervision is one job run to its end by Supervise.
type supervision struct {
	rn      *run
	spec    jobSpec
	secrets *scrub.Set
	logf    *os.File
	logw    *scrub.Writer // job.log, scrubbed of the secrets
	host    string
	m       *jobs.Manifest
}

// note writes one of llmops' own lines to job.log.
func (sv *supervision) note(format string, a ...any) {
	fmt.Fprintf(sv.logw, "llmops: "+format+"\n", a...)
	_ = sv.logw.Flush()
}

// finish writes the manifest, last, and returns the exit code.
func (sv *supervision) finish() int {
	sv.m.FinishedAt = time.Now().UTC()
	if err := jobs.WriteManifest(sv.rn.path(jobs.ManifestFile), sv.m); err != nil {
		fmt.Fprintln(os.Stderr, "writing the manifest:", err)
		return 1
	}
	return 0
}

// fail records a job that could not run and finishes.
func (sv *supervision) fail(reason string) int {
	sv.m.Status, sv.m.ExitCode, sv.m.Reason = jobs.StatusFailed, -1, reason
	sv.note("%s", reason)
	_ = sv.logw.Close()
	return sv.finish()
}

// command builds the command with its input and outputs. With secrets, its
// output goes through a pipe and the scrubbing writer (copied waits until
// all of it is written); without, straight to job.log.
func (sv *supervision) command() (cmd *exec.Cmd, copied, closeFiles func(), err error) {
	cmd = exec.Command(sv.spec.Argv[0], sv.spec.Argv[1:]...)
	cmd.Dir, cmd.Env = sv.spec.Dir, sv.spec.Env
	cmd.Stdout, cmd.Stderr = sv.logf, sv.logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var files []io.Closer
	closeFiles = func() {
		for _, f := range files {
			f.Close()
		}
	}
	copied = func() {}
	if sv.secrets.Len() > 0 {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, closeFiles, err
		}
		files = append(files, pr, pw)
		cmd.Stdout, cmd.Stderr = pw, pw
		done := make(chan struct{})
		go func() { _, _ = io.Copy(sv.logw, pr); close(done) }()
		copied = func() {
			pw.Close()
			select { // a process that left the group may hold the pipe
			case <-done:
			case <-time.After(5 * time.Second):
				pr.Close()
			}
			_ = sv.logw.Flush()
		}
	}
	if sv.spec.StdoutFile != "" {
		out, err := os.Create(sv.rn.path(sv.spec.StdoutFile))
		if err != nil {
			return nil, nil, closeFiles, err
		}
		files = append(files, out)
		cmd.Stdout = out
	}
	if sv.spec.Stdin != "" {
		in, err := os.Open(sv.spec.Stdin)
		if err != nil {
			return nil, nil, closeFiles, err
		}
		files = append(files, in)
		cmd.Stdin = in
	}
	return cmd, copied, closeFiles, nil
}

// runCommand starts the command, records the supervisor and the command,
// and waits for the command to end, to outlive max_duration, or for a
// signal to stop it; then whatever is left of its process group is killed.
func (sv *supervision) runCommand(cmd *exec.Cmd, copied func()) (reason string, waitErr, startErr error) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	sv.note("starting %s (run %s) in %s", quoteArgv(sv.spec.Argv), sv.spec.RunID, sv.spec.Dir)
	if err := cmd.Start(); err != nil {
		copied()
		return "", nil, err
	}
	if w, ok := cmd.Stderr.(*os.File); ok && w != sv.logf {
		w.Close() // the pipe's write end: the command holds it now
	}
	pgid := cmd.Process.Pid
	sup := supervisorInfo{PID: os.Getpid(), PStart: procStart(os.Getpid()), ChildPID: pgid, ChildStart: procStart(pgid), StartedAt: sv.m.StartedAt, Host: sv.host}
	if b, err := json.Marshal(sup); err == nil {
		_ = jobs.WriteFileAtomic(sv.rn.path(supervisorFile), b, 0o600)
	}
	grace, _ := time.ParseDuration(sv.spec.KillGrace)
	if grace <= 0 {
		grace = defaultKillGrace
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var deadline <-chan time.Time
	if d, err := time.ParseDuration(sv.spec.MaxDuration); err == nil && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	select {
	case waitErr = <-exited:
	case <-deadline:
		reason = jobs.StatusTimeout
		sv.note("the job ran longer than max_duration (%s): stopping it", sv.spec.MaxDuration)
		waitErr = stopGroup(pgid, grace, exited)
	case s := <-sigs:
		reason = jobs.StatusCancelled
		sv.note("asked to stop (%s): stopping the job", s)
		waitErr = stopGroup(pgid, grace, exited)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // whatever the command left behind
	copied()
	return reason, waitErr, nil
}

// result records how the command ended and its metrics.
func (sv *supervision) result(cmd *exec.Cmd, reason string, waitErr error) {
	m := sv.m
	m.ExitCode = -1
	if ps := cmd.ProcessState; ps != nil {
		m.ExitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			m.Signal = ws.Signal().String()
		}
	}
	switch {
	case reason == jobs.StatusTimeout:
		m.Status, m.Reason = jobs.StatusTimeout, fmt.Sprintf("killed after max_duration %s", sv.spec.MaxDuration)
	case reason == jobs.StatusCancelled:
		m.Status, m.Reason = jobs.StatusCancelled, "cancelled"
	case waitErr != nil:
		m.Status = jobs.StatusFailed
		if m.Signal != "" {
			m.Reason = "killed by signal " + m.Signal
		} else {
			m.Reason = fmt.Sprintf("exit status %d", m.ExitCode)
		}
	default:
		m.Status = jobs.StatusSucceeded
	}
	sv.note("the command ended: %s", firstNonEmpty(m.Reason, "exit status 0"))
}

// store reads the metrics, stores the kind's output and the log (private)
// in the artifact store.
func (sv *supervision) store() {
	m, rn := sv.m, sv.rn
	metrics, ignored, metricsErr := jobs.ReadMetrics(rn.outputDir())
	switch {
	case metricsErr != nil:
		sv.note("metrics.json: %v", metricsErr)
	case len(ignored) > 0:
		sv.note("metrics.json: ignored values that are not numbers: %s", strings.Join(ignored, ", "))
	}
	if metrics == nil {
		_, metrics, _ = jobs.LatestMetrics(filepath.Join(rn.outputDir(), jobs.MetricsLinesFile))
	}
	m.Metrics = metrics

	store, serr := artifacts.Open(sv.spec.Store)
	if serr != nil {
		sv.note("artifact store: %v", serr)
	}
	if m.Status == jobs.StatusSucceeded {
		if serr != nil {
			m.Status, m.Reason = jobs.StatusFailed, "cannot open the artifact store: "+serr.Error()
		} else if err := collect(store, rn, &sv.spec, m, metricsErr); err != nil {
			m.Status, m.Reason = jobs.StatusFailed, err.Error()
			sv.note("%s", err)
		}
	}
	m.Reason = sv.secrets.String(m.Reason)
	_ = sv.logw.Close()
	if serr == nil {
		_ = sv.logf.Sync()
		if info, err := store.Put(rn.logPath(), artifacts.PutOptions{Private: true}); err == nil {
			m.Outputs = withOutput(m.Outputs, "log", info)
		}
	}
}

// readJobSecrets reads what the provider hands over through the pipe.
func readJobSecrets(f *os.File, into *jobSecrets) error {
	if f == nil {
		return fmt.Errorf("no pipe from the provider")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// collect stores the output the job's kind produces.
func collect(store *artifacts.Store, rn *run, spec *jobSpec, m *jobs.Manifest, metricsErr error) error {
	out := rn.outputDir()
	switch spec.Collect {
	case "model":
		p := filepath.Join(out, jobs.ModelDir)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("the command exited 0 but wrote no model: $LLMOPS_OUTPUT_DIR/%s (%s) does not exist", jobs.ModelDir, p)
		}
		info, err := store.Put(p, artifacts.PutOptions{Mode: artifacts.Move})
		if err != nil {
			return fmt.Errorf("storing the model: %w", err)
		}
		m.Outputs = withOutput(m.Outputs, "model", info)
	case "metrics":
		if metricsErr != nil {
			return fmt.Errorf("the command's %s is invalid: %v", jobs.MetricsFile, metricsErr)
		}
		if _, err := os.Stat(filepath.Join(out, jobs.MetricsFile)); err != nil {
			return fmt.Errorf("the command exited 0 but wrote no $LLMOPS_OUTPUT_DIR/%s", jobs.MetricsFile)
		}
	case "data":
		name := "data." + spec.Format
		p := filepath.Join(out, name)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("the transform exited 0 but wrote no $LLMOPS_OUTPUT_DIR/%s", name)
		}
		info, err := store.Put(p, artifacts.PutOptions{Mode: artifacts.Move})
		if err != nil {
			return fmt.Errorf("storing the transformed data: %w", err)
		}
		m.Outputs = withOutput(m.Outputs, "data", info)
	case "index":
		info, stats, err := buildIndex(store, rn, spec)
		if err != nil {
			return err
		}
		m.Outputs = withOutput(m.Outputs, "index", info)
		if m.Metrics == nil {
			m.Metrics = map[string]float64{}
		}
		m.Metrics["chunks"], m.Metrics["dimensions"] = float64(stats.chunks), float64(stats.dimensions)
	}
	return nil
}

func withOutput(outs map[string]jobs.Output, name string, info artifacts.Info) map[string]jobs.Output {
	if outs == nil {
		outs = map[string]jobs.Output{}
	}
	outs[name] = jobs.Output{ID: string(info.ID), Path: info.Path, Size: info.Size, Files: info.Files}
	return outs
}

// stopGroup stops a process group: SIGTERM, then SIGKILL after grace.
func stopGroup(pgid int, grace time.Duration, exited <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-exited
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}") {
			b, _ := json.Marshal(a)
			q[i] = string(b)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
