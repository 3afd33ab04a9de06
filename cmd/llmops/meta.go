package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/internal/cliconfig"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/state"
)

// meta is what every command shares: streams, the working directory,
// rendering and the common flags.
type meta struct {
	// warned: the warnings shown so far (see newWarnings).
	warned map[string]bool
	// cli is the CLI configuration (dev overrides), loaded before the
	// command runs; nil in tests that build a meta by hand.
	cli   *cliconfig.Config
	stdin io.Reader
	// stdout and stderr scrub every known secret (scrub.go); rawStdout is
	// the stream itself, for `output NAME` and terminal detection.
	stdout, stderr io.Writer
	rawStdout      io.Writer
	secrets        *scrub.Set
	warnedKeyMode  bool
	chdir          string
	command        string

	noColor bool
	colors  *render.Colors
	// sources of the loaded configuration, for diagnostics.
	sources map[string][]byte

	// cfg is the loaded configuration (nil until loadConfig); settings
	// its llmops block when only that was read (see backend).
	cfg          *configs.Config
	settings     *configs.Settings
	settingsRead bool

	statePath   string
	lockTimeout time.Duration
	useLock     bool
	vars        varFlags

	// held are the releases of the state locks this run holds, for a
	// crash in a goroutine nobody waits for (see crashed).
	heldMu sync.Mutex
	held   map[string]func()
	locked bool // a lock was taken during the run

	// early is the work prepare started before loading the configuration
	// (early.go); nil outside prepare.
	early *early
}

// varFlags collects -var and -var-file in command-line order.
type varFlags struct{ srcs []engine.VarSource }

type varFlag struct{ v *varFlags }
type varFileFlag struct{ v *varFlags }

func (f varFlag) String() string { return "" }
func (f varFlag) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want -var NAME=VALUE, got %q", s)
	}
	f.v.srcs = append(f.v.srcs, engine.VarSource{Name: strings.TrimSpace(name), Value: val})
	return nil
}
func (f varFileFlag) String() string { return "" }
func (f varFileFlag) Set(s string) error {
	f.v.srcs = append(f.v.srcs, engine.VarSource{File: s})
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(s string) error { *f = append(*f, s); return nil }

// newFlags returns a flag set whose -help prints usage text.
func (m *meta) newFlags(name, usageText string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	fs.Usage = func() {
		fmt.Fprint(m.stdout, strings.TrimSpace(usageText)+"\n\nOptions:\n")
		fs.SetOutput(m.stdout)
		fs.PrintDefaults()
		fs.SetOutput(m.stderr)
	}
	fs.BoolVar(&m.noColor, "no-color", false, "Disable colour in the output.")
	return fs
}

func (m *meta) addStateFlags(fs *flag.FlagSet) {
	fs.StringVar(&m.statePath, "state", "", "Path of the SQLite state database (default .llmops/state.db in the configuration directory, .llmops/workspaces/NAME/state.db for workspace NAME); refused when the configuration names a backend.")
	fs.DurationVar(&m.lockTimeout, "lock-timeout", 0, "How long to wait for the state lock held by someone else, e.g. 30s (default: fail at once).")
	fs.BoolVar(&m.useLock, "lock", true, "Take the state lock (use -lock=false only when you are sure nobody else runs llmops here).")
}

func (m *meta) addVarFlags(fs *flag.FlagSet) {
	fs.Var(varFlag{&m.vars}, "var", "Set an input variable: -var NAME=VALUE (repeatable).")
	fs.Var(varFileFlag{&m.vars}, "var-file", "Load input variables from an HCL file (repeatable).")
}

// parse parses flags; it returns false (and the exit code) on -help or errors.
func (m *meta) parse(fs *flag.FlagSet, args []string) (bool, int) {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, exitOK
		}
		return false, exitError
	}
	m.colors = render.NewColors(!m.noColor && isTerminal(m.rawStdout))
	return true, exitOK
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

func (m *meta) workDir() string {
	wd, _ := os.Getwd()
	return wd
}

// loadConfig loads the configuration of the working directory.
func (m *meta) loadConfig() (*configs.Config, bool) {
	cfg, diags := configs.LoadDir(m.workDir())
	if cfg != nil {
		m.sources = cfg.Sources
	}
	m.showDiags(diags)
	if !diags.HasErrors() {
		m.cfg = cfg
	}
	return cfg, !diags.HasErrors()
}

// collectVars resolves the input variables.
func (m *meta) collectVars(cfg *configs.Config) (map[string]cty.Value, bool) {
	vals, diags := engine.CollectVariables(cfg, m.vars.srcs, os.Environ())
	m.sources = cfg.Sources
	for _, v := range vals {
		m.learn(v)
	}
	m.showDiags(diags)
	return vals, !diags.HasErrors()
}

func (m *meta) showDiags(diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	if m.colors == nil {
		m.colors = render.NewColors(false)
	}
	diags = m.newWarnings(diags)
	if len(diags) == 0 {
		return
	}
	render.Diagnostics(m.stderr, m.explainStateDamage(configs.Explain(diags)), m.sources, m.colors)
}

// newWarnings drops the warnings this command has shown already: a
// provider's warning comes back from validate, plan and apply alike (an
// unused prompt variable was printed three times by one apply).
func (m *meta) newWarnings(diags hcl.Diagnostics) hcl.Diagnostics {
	out := diags[:0:0]
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			key := d.Summary + "\x00" + d.Detail
			if d.Subject != nil {
				key += "\x00" + d.Subject.String()
			}
			if m.warned[key] {
				continue
			}
			if m.warned == nil {
				m.warned = map[string]bool{}
			}
			m.warned[key] = true
		}
		out = append(out, d)
	}
	return out
}

func (m *meta) errorf(format string, args ...any) int {
	m.showDiags(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf(format, args...)}})
	return exitError
}

func (m *meta) errorDetail(summary, detail string) int {
	m.showDiags(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}})
	return exitError
}

// stateFile is the state database path: -state, or the selected
// workspace's (.llmops/state.db for default, .llmops/workspaces/NAME/
// state.db for the others).
func (m *meta) stateFile() string {
	if m.statePath != "" {
		return m.statePath
	}
	return engine.StateFile(m.workDir(), m.workspace())
}

// privateDir creates the configuration's .llmops directory readable by its
// owner only (0700), and tightens one an older llmops made 0755: it holds
// the state, its backups, logs, job logs and the provider cache.
func (m *meta) privateDir() error {
	dir := filepath.Join(m.workDir(), ".llmops")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		_ = os.Chmod(dir, 0o700) // best effort: it may be someone else's
	}
	return nil
}

// who is user@host for state versions and locks.
func who() (string, string) {
	host, _ := os.Hostname()
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return name + "@" + host, host
}

// lock takes the state lock for op; the returned function releases it.
func (m *meta) lock(ctx context.Context, st state.Store, op string) (func(), bool) {
	if !m.useLock {
		return func() {}, true
	}
	if release, warning := m.early.adoptLock(st); release != nil {
		m.lockWarning(warning)
		return release, true
	}
	id, warning, err := st.Lock(ctx, lockInfo(op), m.lockTimeout)
	if err != nil {
		var le *state.LockedError
		if errors.As(err, &le) {
			h := le.Holder
			m.errorDetail("Error acquiring the state lock",
				fmt.Sprintf("The state is locked by %s (pid %d) for %q since %s.\nLock ID: %s\n\nWait for that operation to finish, retry with -lock-timeout=DURATION to wait for it, or, if it is gone for good, run `llmops force-unlock %s`.",
					h.Who, h.PID, h.Operation, h.Created.Local().Format(time.RFC3339), h.ID, h.ID))
			return nil, false
		}
		m.errorDetail("Error acquiring the state lock", err.Error())
		return nil, false
	}
	m.lockWarning(warning)
	return m.lockHeld(ctx, st, id), true
}

// lockInfo describes the lock this process takes for op.
func lockInfo(op string) state.LockInfo {
	w, host := who()
	return state.LockInfo{Who: w, Host: host, PID: os.Getpid(), Operation: op, Created: time.Now().UTC()}
}

func (m *meta) lockWarning(warning string) {
	if warning != "" {
		m.showDiags(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Took over a stale state lock", Detail: warning}})
	}
}

// lockHeld records the lock id taken on st as held by the run (released
// by releaseLocks after a crash) and returns its release.
func (m *meta) lockHeld(ctx context.Context, st state.Store, id string) func() {
	var once sync.Once
	release := func() {
		once.Do(func() {
			m.heldMu.Lock()
			delete(m.held, id)
			m.heldMu.Unlock()
			if err := st.Unlock(context.WithoutCancel(ctx), id); err != nil {
				fmt.Fprintf(m.stderr, "Warning: could not release the state lock %s: %s\n", id, err)
			}
		})
	}
	m.heldMu.Lock()
	if m.held == nil {
		m.held = map[string]func(){}
	}
	m.held[id] = release
	m.locked = true
	m.heldMu.Unlock()
	return release
}

// releaseLocks releases every state lock the run still holds.
func (m *meta) releaseLocks() {
	m.heldMu.Lock()
	var rel []func()
	for _, r := range m.held {
		rel = append(rel, r)
	}
	m.heldMu.Unlock()
	for _, r := range rel {
		r()
	}
}

// interruptible returns a context cancelled on the first SIGINT/SIGTERM
// (after calling onStop); a second signal exits at once.
func (m *meta) interruptible(onStop func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	panics.Go(func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintln(m.stderr, "\nInterrupt received: asking providers to stop, waiting for operations in flight and recording their results. Press Ctrl-C again to exit at once (the state stays consistent).")
		if onStop != nil {
			panics.Go(onStop)
		}
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(m.stderr, "Second interrupt: exiting now. Operations still in flight are not recorded; run plan to see where things stand.")
			os.Exit(130)
		case <-done:
		}
	})
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// flagsFirst moves options after positional arguments to the front, so
// that `llmops rollback deployment.prod --to 3` works as well as
// `llmops rollback --to 3 deployment.prod`. Everything after "--" stays
// positional.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}
