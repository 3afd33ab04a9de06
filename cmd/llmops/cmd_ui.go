package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/cmd/llmops/ui"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/internal/panics"
)

const uiUsage = `
Usage: llmops ui [options]

Serves a read-only web dashboard of this configuration's lifecycle: every
object with its status, training and evaluation curves (live while a job
runs) and sweep comparisons, the lineage graph, deployments' traffic and
monitors, the state versions and their diffs, and the event log. No page
changes anything: each shows the llmops command that would.

It listens on 127.0.0.1:8765 by default. Any address but loopback requires
a token, from LLMOPS_UI_TOKEN or made at start and printed once: open the
address printed (it carries ?token=, which becomes a cookie), or send
"Authorization: Bearer TOKEN". The JSON API the pages use is documented in
docs/json-format.md. The state is only read, without the state lock;
sensitive values are never sent to the page.
`

func runUI(m *meta, args []string) int {
	fs := m.newFlags("ui", uiUsage)
	listen := fs.String("listen", "127.0.0.1:8765", "Address to serve on (host:port; port 0 picks a free one). Any host but loopback requires a token.")
	openBrowser := fs.Bool("open", false, "Open the dashboard in the default web browser.")
	poll := fs.Duration("poll", 2*time.Second, "How often pages refresh what they show.")
	fs.StringVar(&m.statePath, "state", "", "Path of the SQLite state database (default .llmops/state.db in the configuration directory); refused when the configuration names a backend.")
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return m.errorf("ui takes no arguments: llmops ui [-listen 127.0.0.1:8765] [-open]")
	}
	if *poll < 100*time.Millisecond {
		return m.errorf("-poll %s is too short: 100ms at least", *poll)
	}
	if be, ok := m.backend(); !ok {
		return exitError
	} else if be == nil {
		if _, err := os.Stat(m.stateFile()); errors.Is(err, os.ErrNotExist) {
			return m.errorDetail("No state to show", fmt.Sprintf("There is no state at %s: nothing has been applied in %s yet. Run `llmops apply` first, or start llmops ui in the configuration directory (llmops -chdir=DIR ui).", m.stateFile(), m.workDir()))
		}
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()

	token := os.Getenv("LLMOPS_UI_TOKEN")
	generated := false
	if token == "" && !ui.IsLoopback(*listen) {
		token, generated = ui.NewToken(), true
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return m.errorDetail("Cannot listen on "+*listen, err.Error()+".\n\nPick another address with -listen, e.g. -listen 127.0.0.1:0 for any free port.")
	}
	srv := ui.New(ui.Options{Store: st, ArtifactDir: m.uiArtifactDir(), Token: token, Poll: *poll, Where: m.workDir()})
	if err := srv.Warm(); err != nil {
		ln.Close()
		return m.errorDetail("Cannot read the state", err.Error())
	}
	addr := displayAddr(ln.Addr().(*net.TCPAddr))
	url := "http://" + addr + "/"
	fmt.Fprintf(m.stdout, "llmops ui: serving the dashboard of %s at %s (read-only; Ctrl-C stops it)\n", m.workDir(), url)
	open := url
	switch {
	case generated:
		fmt.Fprintf(m.stdout, "This address is not loopback: every request needs the token, shown once here:\n  %s\nOpen %s?token=%s (it sets a cookie), or send \"Authorization: Bearer TOKEN\".\n", token, url, token)
		open = url + "?token=" + token
	case token != "":
		fmt.Fprintf(m.stdout, "Every request needs the token of LLMOPS_UI_TOKEN: open %s?token=TOKEN once (it sets a cookie), or send \"Authorization: Bearer TOKEN\".\n", url)
		open = url + "?token=" + token
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	panics.Go(func() { served <- hs.Serve(ln) })
	if *openBrowser {
		if err := startBrowser(open); err != nil {
			fmt.Fprintf(m.stderr, "Warning: cannot open a browser (%s); open %s yourself.\n", err, url)
		}
	}
	sigCtx, stop := m.interruptible(nil)
	defer stop()
	select {
	case err := <-served:
		return m.errorDetail("The dashboard's server stopped", err.Error())
	case <-sigCtx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutCtx)
	fmt.Fprintln(m.stdout, "llmops ui: stopped")
	return exitOK
}

// displayAddr is the address to print: the host name for a server on
// every interface.
func displayAddr(a *net.TCPAddr) string {
	if a.IP.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			return net.JoinHostPort(h, fmt.Sprint(a.Port))
		}
	}
	return a.String()
}

// uiArtifactDir finds the artifact store for the dashboard's run curves:
// the configuration's artifacts block, else the default. It says why
// when it cannot, and the dashboard shows no curves.
func (m *meta) uiArtifactDir() string {
	cfg, diags := configs.LoadDir(m.workDir())
	if cfg == nil || diags.HasErrors() {
		return filepath.Join(m.workDir(), engine.DefaultArtifactDir)
	}
	var vars map[string]cty.Value
	if cfg.Artifacts != nil {
		vars, _ = engine.CollectVariables(cfg, m.vars.srcs, os.Environ())
	}
	dir, diags := engine.ArtifactDir(cfg, vars)
	if diags.HasErrors() {
		fmt.Fprintf(m.stderr, "Warning: cannot resolve the artifact store (%s): run curves will not be shown; pass the variables it uses with -var.\n", strings.TrimSpace(diags.Error()))
		return ""
	}
	return dir
}

// startBrowser opens url in the default browser (argv, no shell).
func startBrowser(url string) error {
	var argv []string
	switch runtime.GOOS {
	case "darwin":
		argv = []string{"open", url}
	case "windows":
		argv = []string{"rundll32", "url.dll,FileProtocolHandler", url}
	default:
		argv = []string{"xdg-open", url}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	panics.Go(func() { _ = cmd.Wait() })
	return nil
}
