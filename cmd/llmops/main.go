// Command llmops manages the lifecycle of large language models as code:
// it plans and applies the changes that make reality match the
// configuration in *.llmops.hcl files.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"

	"github.com/llmops/llmops/internal/cliconfig"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// Version is the llmops release, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Exit codes (documented in docs/cli.md).
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan -detailed-exitcode: the plan has changes
)

type command struct {
	synopsis string
	run      func(m *meta, args []string) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"init":         {"Find the providers the configuration uses and write the lock file", runInit},
		"validate":     {"Check the configuration without reading state or changing anything", runValidate},
		"fmt":          {"Rewrite configuration files in the canonical format", runFmt},
		"plan":         {"Show the changes that apply would make", runPlan},
		"apply":        {"Make the changes: reality matches the configuration afterwards", runApply},
		"destroy":      {"Destroy every object the state records", runDestroy},
		"show":         {"Show the state, or a saved plan file", runShow},
		"output":       {"Show output values", runOutput},
		"state":        {"Inspect and edit the state: list, show, rm, mv, keygen, rotate-key, restore", runState},
		"force-unlock": {"Remove a stuck state lock", runForceUnlock},
		"graph":        {"Print the dependency graph (or, with -lineage, the lineage) as DOT or SVG", runGraph},
		"providers":    {"List the providers in use, their paths, versions and schemas", runProviders},
		"version":      {"Print the llmops version", runVersion},
		"history":      {"List the state versions, or one object's versions", runHistory},
		"diff":         {"Show what changed between two state versions", runDiff},
		"lineage":      {"Show the ancestry of an object: model, training run, base model, datasets", runLineage},
		"rollback":     {"Put objects back to an earlier state version, without retraining", runRollback},
		"import":       {"Adopt an existing object into the state", runImport},
		"gc":           {"Remove artifacts that no kept state version references", runGC},
		"artifacts":    {"List, pull, push and verify artifacts of the local and remote stores", runArtifacts},
		"watch":        {"Keep reality reconciled: monitors, alerts, rollbacks, dead replicas", runWatch},
		"events":       {"List the event log: breaches, alerts, rollbacks, restarts", runEvents},
		"traffic":      {"Inspect and export the traffic deployments captured: ls, show, export", runTraffic},
		"ui":           {"Serve a read-only web dashboard: runs, curves, lineage, deployments, history", runUI},
		"workspace":    {"Manage workspaces: list, new, select, show, delete", runWorkspace},
	}
}

func main() {
	// GOGC=130 keeps a 1,000-object apply at 76-78 MB, under half of
	// Terraform's peak (165 MB), for 5% less time than Go's default 100
	// (72-74 MB; 160 reached 82 MB, the half), and the soft limit keeps a
	// 10,000-object run under 300 MB (docs/performance.md). GOGC and
	// GOMEMLIMIT in the environment win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(130)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
	// LLMOPS_CPUPROFILE=FILE writes a pprof CPU profile of the run, and
	// LLMOPS_MEMPROFILE=FILE one of what it allocated (see
	// docs/performance.md).
	stop := func() {}
	if path := os.Getenv("LLMOPS_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			stop = func() {
				pprof.StopCPUProfile()
				f.Close()
			}
		}
	}
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if path := os.Getenv("LLMOPS_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// run runs one command. Everything it prints goes through a scrubber that
// learns every secret in play (package scrub). A panic anywhere in it is a
// bug in llmops: it is reported as an error naming the log that holds its
// stack, with the state lock released and exit code 1, never Go's crash
// (exit 2, which `plan -detailed-exitcode` uses for "changes"). A panic in
// the command's goroutine unwinds its defers (which release the lock) to
// the recover here; goroutines llmops starts elsewhere go through package
// panics (a Group raises their panic again in the goroutine that waits for
// them; panics.Go hands it to the handler installed here).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	set := scrub.New()
	out, errw, flush := scrubbedStreams(set, stdout, stderr)
	defer flush()
	m := &meta{stdin: stdin, stdout: out, stderr: errw, rawStdout: stdout, secrets: set}
	panics.SetHandler(func(e *panics.Error) {
		code := m.crashed(e)
		flush()
		exitProcess(code)
	})
	defer func() {
		if e := panics.From(recover()); e != nil {
			code = m.crashed(e)
		}
	}()
	return m.run(args)
}

// exitProcess ends the process after a panic in a goroutine nobody waits
// for (tests replace it).
var exitProcess = os.Exit

func (m *meta) run(args []string) int {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case a == "-help" || a == "--help" || a == "-h":
			usage(m.stdout)
			return exitOK
		case a == "-version" || a == "--version" || a == "-v":
			return runVersion(m, nil)
		case strings.HasPrefix(a, "-chdir=") || strings.HasPrefix(a, "--chdir="):
			m.chdir = a[strings.Index(a, "=")+1:]
		case a == "-chdir" || a == "--chdir":
			if len(args) < 2 {
				fmt.Fprintln(m.stderr, "Error: -chdir needs a directory: llmops -chdir=DIR COMMAND")
				return exitError
			}
			m.chdir = args[1]
			args = args[1:]
		default:
			fmt.Fprintf(m.stderr, "Error: unknown global option %s. Global options are -chdir=DIR, -help and -version; command options go after the command.\n", a)
			return exitError
		}
		args = args[1:]
	}
	if len(args) == 0 {
		usage(m.stdout)
		return exitOK
	}
	name := args[0]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(m.stderr, "Error: unknown command %q.\n\n", name)
		usage(m.stderr)
		return exitError
	}
	if m.chdir != "" {
		if err := os.Chdir(m.chdir); err != nil {
			fmt.Fprintf(m.stderr, "Error: cannot change to directory %q given by -chdir: %s\n", m.chdir, err)
			return exitError
		}
	}
	m.command = name
	if !m.loadCLIConfig() {
		return exitError
	}
	return cmd.run(m, args[1:])
}

// loadCLIConfig reads the CLI configuration file and $LLMOPS_DEV_OVERRIDES
// (package cliconfig) and warns, on every command but version, while
// provider development overrides are in effect.
func (m *meta) loadCLIConfig() bool {
	home, _ := os.UserHomeDir()
	c, diags := cliconfig.Load(os.Getenv, home)
	if diags.HasErrors() {
		m.showDiags(diags)
		return false
	}
	m.cli = c
	if w := c.Warning(); w != nil && m.command != "version" {
		m.showDiags(append(diags, w))
	} else if len(diags) > 0 {
		m.showDiags(diags)
	}
	return true
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: llmops [-chdir=DIR] COMMAND [options]

llmops plans and applies the lifecycle of large language models declared
in *.llmops.hcl files: models, datasets, training runs, evaluations,
deployments and monitors.
`)
	mainCmds := []string{"init", "validate", "plan", "apply", "destroy"}
	var others []string
	width := 0
	for n := range commands {
		// Two spaces at least between a name and its synopsis, whatever
		// the longest name ("force-unlock" once ran into its synopsis).
		width = max(width, len(n))
		if !slices.Contains(mainCmds, n) {
			others = append(others, n)
		}
	}
	sort.Strings(others)
	for _, group := range []struct {
		title string
		names []string
	}{{"Main commands", mainCmds}, {"Other commands", others}} {
		fmt.Fprintf(w, "\n%s:\n", group.title)
		for _, n := range group.names {
			fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].synopsis)
		}
	}
	fmt.Fprint(w, `
Global options:
  -chdir=DIR  Run in DIR, as if llmops had been started there.
  -help       Show this help; "llmops COMMAND -help" shows a command's options.
  -version    Print the version.

Exit codes (docs/cli.md):
  0    success
  1    error
  2    "plan -detailed-exitcode" found changes
  3    "fmt -check" found a file that is not formatted
  130  a second Ctrl-C ended llmops at once
`)
}

func runVersion(m *meta, args []string) int {
	fmt.Fprintf(m.stdout, "llmops v%s\n", strings.TrimPrefix(Version, "v"))
	return exitOK
}
