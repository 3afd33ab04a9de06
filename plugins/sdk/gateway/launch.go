package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The provider side of a gateway process: how a provider starts one,
// knows it still runs, waits for a configuration to be in force, and
// stops it.

// Arg is the hidden first argument with which a provider binary runs a
// gateway: `llmops-provider-<type> __llmops_gateway DIR`. The provider's
// main must call Main(os.Args[2:]) when it sees it (before serving the
// plugin protocol).
const Arg = "__llmops_gateway"

// LogFile is the gateway's log (its stdout and stderr) in its directory.
const LogFile = "gateway.log"

// Process identifies a detached gateway process: its pid and start time,
// so that a later process that reuses the pid is not mistaken for it.
type Process struct {
	PID    int    `json:"pid"`
	PStart uint64 `json:"pstart"`
}

// Alive reports whether the process still runs (a zombie does not).
func (p Process) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	if err := syscall.Kill(p.PID, 0); err != nil && err != syscall.EPERM {
		return false
	}
	start, state := procStat(p.PID)
	if state == 'Z' {
		return false
	}
	return p.PStart == 0 || start == 0 || start == p.PStart
}

// Stop stops the process and its process group: SIGTERM (the gateway lets
// requests in flight finish), then SIGKILL after grace.
func (p Process) Stop(grace time.Duration) {
	if !p.Alive() {
		return
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && p.Alive() {
		time.Sleep(20 * time.Millisecond)
	}
	if p.Alive() {
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// Reload asks the process to read its configuration again (SIGHUP).
func (p Process) Reload() error {
	if !p.Alive() {
		return fmt.Errorf("the gateway (pid %d) is not running", p.PID)
	}
	return syscall.Kill(p.PID, syscall.SIGHUP)
}

// procStat reads a process's start time (field 22 of /proc/PID/stat) and
// state letter.
func procStat(pid int) (uint64, byte) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v, f[0][0]
}

// Launch starts `exe Arg dir` detached (its own session, so it outlives
// the provider), with ln as its file descriptor 3, its output appended to
// dir/gateway.log, and env as its environment. The configuration must be
// in dir already (WriteConfig). The caller closes ln afterwards; the
// gateway keeps its copy.
func Launch(exe, dir string, ln *net.TCPListener, env []string) (Process, error) {
	return LaunchWithSecrets(exe, dir, ln, env, nil)
}

// SecretsArg follows DIR in a gateway's arguments when its file descriptor
// 4 is a pipe carrying its secrets (a JSON object of names to values).
const SecretsArg = "secrets-on-fd-4"

// LaunchWithSecrets is Launch that also hands the gateway secrets (the
// upstream API keys its configuration names by Backend.KeyRef) through a
// pipe: they reach its memory only, never its configuration file, its
// arguments or its environment. A new secret means a new gateway process.
func LaunchWithSecrets(exe, dir string, ln *net.TCPListener, env []string, secrets map[string]string) (Process, error) {
	f, err := ln.File()
	if err != nil {
		return Process{}, err
	}
	defer f.Close()
	logf, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Process{}, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, Arg, dir)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var pw *os.File
	if len(secrets) > 0 {
		pr, w, err := os.Pipe()
		if err != nil {
			return Process{}, err
		}
		defer pr.Close()
		pw = w
		cmd.Args = append(cmd.Args, SecretsArg)
		cmd.ExtraFiles = append(cmd.ExtraFiles, pr)
	}
	if err := cmd.Start(); err != nil {
		if pw != nil {
			pw.Close()
		}
		return Process{}, fmt.Errorf("starting the gateway: %w", err)
	}
	if pw != nil {
		b, _ := json.Marshal(secrets)
		_, werr := pw.Write(b)
		pw.Close()
		if werr != nil {
			return Process{}, fmt.Errorf("handing the gateway its secrets: %w", werr)
		}
	}
	go func() { _ = cmd.Wait() }() // reap it if it exits while the provider lives
	start, _ := procStat(cmd.Process.Pid)
	return Process{PID: cmd.Process.Pid, PStart: start}, nil
}

// WaitGeneration polls the gateway at base (http://host:port) until its
// /metrics reports configuration generation gen or later. It fails when
// the process dies or timeout passes.
func WaitGeneration(ctx context.Context, client *http.Client, base string, gen int64, p Process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s, err := Scrape(ctx, client, base)
		if err == nil && Generation(s) >= gen {
			return nil
		}
		if !p.Alive() {
			return fmt.Errorf("the gateway (pid %d) exited", p.PID)
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("it reports generation %d", Generation(s))
			}
			return fmt.Errorf("the gateway (pid %d) did not take configuration generation %d within %s: %v", p.PID, gen, timeout, err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
