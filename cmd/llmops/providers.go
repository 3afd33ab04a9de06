package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/discovery"
	"github.com/llmops/llmops/internal/cliconfig"
	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/state"
)

// pluginFactory starts provider plugins found by discovery and verified
// against the lock file.
type pluginFactory struct {
	logger  hclog.Logger
	logFile string   // where logger writes (see meta.logFile)
	unset   []string // of llmops's environment, not passed on (see meta.providerUnset)
	bins    map[string]*discovery.Binary
	mu      sync.Mutex
	// started records the provider processes, to report which died.
	started map[addrs.ProviderConfig]protocol.Provider
	// early holds processes started ahead of the configuration (nil:
	// none).
	early *early
}

func (f *pluginFactory) StartProvider(ctx context.Context, addr addrs.ProviderConfig) (protocol.Provider, error) {
	bin, ok := f.bins[addr.Type]
	if !ok {
		return nil, fmt.Errorf("provider %s is not in the lock file; run `llmops init`", addr.Type)
	}
	p := f.early.claim(addr.Type, bin.Executable(), f.unset)
	if p == nil {
		var err error
		p, err = plugin.Start(ctx, plugin.StartOptions{Path: bin.Executable(), Type: addr.Type, Logger: f.logger, LogFile: f.logFile, Unset: f.unset})
		if err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.started[addr] = p
	f.mu.Unlock()
	return p, nil
}

func (f *pluginFactory) ProviderHash(typ string) (string, error) {
	if b, ok := f.bins[typ]; ok {
		return b.SHA256, nil
	}
	return "", fmt.Errorf("unknown provider %s", typ)
}

// exited lists the providers whose process has died.
func (f *pluginFactory) exited() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for addr, p := range f.started {
		if plugin.Exited(p) {
			out = append(out, addr.String())
		}
	}
	sort.Strings(out)
	return out
}

// providerTypes lists the provider types a configuration (and the
// recorded objects, if any) need.
func providerTypes(cfg *configs.Config, snap *state.Snapshot) []string {
	set := map[string]bool{}
	for addr := range cfg.ProviderConfigs {
		set[addr.Type] = true
	}
	for _, r := range cfg.Resources {
		set[r.Provider.Type] = true
	}
	if snap != nil {
		for _, o := range snap.Objects {
			set[o.Provider.Type] = true
		}
	}
	delete(set, engine.BuiltinProviderType) // served by llmops itself
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (m *meta) searchOptions() discovery.SearchOptions {
	exe, _ := os.Executable()
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return discovery.SearchOptions{
		ConfigDir:     m.workDir(),
		PluginPath:    os.Getenv("LLMOPS_PLUGIN_PATH"),
		ExecutableDir: filepath.Dir(exe),
		PATH:          os.Getenv("PATH"),
	}
}

// findProvider finds a provider's binary and copies it into the private
// cache while hashing it (discovery.Cache): the copy is what runs. locked
// is the lock file's hash of it ("" for none): a copy already cached
// under it is checked in one pass (discovery.CacheLocked).
func (m *meta) findProvider(typ, locked string) (*discovery.Binary, error) {
	bin, err := discovery.Locate(typ, m.searchOptions())
	if err != nil {
		return nil, err
	}
	if err := m.privateDir(); err != nil {
		return nil, err
	}
	if err := discovery.CacheLocked(bin, discovery.CacheDirFor(m.workDir()), locked); err != nil {
		return nil, err
	}
	return bin, nil
}

// devOverride is the binary of provider typ when a dev override names one
// (ok), copied into the private cache as findProvider does.
func (m *meta) devOverride(typ string) (bin *discovery.Binary, ok bool, err error) {
	o := m.devOverridden(typ)
	if o == nil {
		return nil, false, nil
	}
	bin = &discovery.Binary{Type: typ, Path: o.Path}
	if err := m.privateDir(); err != nil {
		return nil, true, err
	}
	if err := discovery.Cache(bin, discovery.CacheDirFor(m.workDir())); err != nil {
		return nil, true, err
	}
	return bin, true, nil
}

// devOverridden is the dev override of provider typ, or nil.
func (m *meta) devOverridden(typ string) *cliconfig.Override {
	if m.cli == nil {
		return nil
	}
	return m.cli.DevOverrides[typ]
}

// providerFactory finds each provider binary and checks it against the
// lock file written by `llmops init`. Binaries resolved, and processes
// started, ahead of the configuration (m.early, see early.go) are used
// when they are what this would find.
func (m *meta) providerFactory(cfg *configs.Config, snap *state.Snapshot) (*pluginFactory, bool) {
	lf := m.early.lockFileRead()
	if lf == nil {
		var diags hcl.Diagnostics
		if lf, diags = discovery.ReadLockFile(m.workDir()); diags.HasErrors() {
			m.showDiags(diags)
			return nil, false
		}
	}
	f := &pluginFactory{logger: m.logger(), logFile: m.logFile(), unset: m.providerUnset(), bins: map[string]*discovery.Binary{}, started: map[addrs.ProviderConfig]protocol.Provider{}}
	errs := m.checkModulesLocked(lf)
	for _, typ := range providerTypes(cfg, snap) {
		if bin := m.early.binary(typ); bin != nil {
			f.bins[typ] = bin
			continue
		}
		bin, d := m.resolveProvider(lf, typ)
		if d != nil {
			errs = append(errs, d)
			continue
		}
		f.bins[typ] = bin
	}
	if errs.HasErrors() {
		m.showDiags(errs)
		return nil, false
	}
	f.early = m.early
	return f, true
}

// resolveProvider finds the binary of provider typ: its dev override, or
// the one discovery finds, copied into the private cache and checked
// against the lock file lf.
func (m *meta) resolveProvider(lf *discovery.LockFile, typ string) (*discovery.Binary, *hcl.Diagnostic) {
	if bin, ok, err := m.devOverride(typ); ok {
		if err != nil {
			return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot use the dev override of provider %s", typ), Detail: err.Error()}
		}
		return bin, nil // neither the lock file nor init: see the warning
	}
	if lf == nil || lf.Providers[typ] == nil {
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Provider %s is not initialized", typ),
			Detail:   fmt.Sprintf("The configuration uses provider %q, which is not in %s. Run `llmops init` to find it and record its checksum.", typ, discovery.LockFileName),
		}
	}
	locked, _ := lf.Providers[typ].Hash()
	bin, err := m.findProvider(typ, locked)
	if err != nil {
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Provider %s not found", typ), Detail: err.Error()}
	}
	if err := discovery.Verify(lf, bin); err != nil {
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Provider %s does not match the lock file", typ), Detail: err.Error()}
	}
	return bin, nil
}

var (
	loggerOnce sync.Once
	theLogger  hclog.Logger
	// theLogPath is the run's log file ("" when it could not be created).
	theLogPath string
)

// logger writes debug logs (including every provider's) to
// .llmops/logs/<time>-<command>.log, keeping the last 10 runs, and to
// stderr at the level of $LLMOPS_LOG.
func (m *meta) logger() hclog.Logger {
	loggerOnce.Do(func() {
		var outs []io.Writer
		dir := filepath.Join(m.workDir(), ".llmops", "logs")
		if err := m.privateDir(); err == nil && os.MkdirAll(dir, 0o700) == nil {
			name := filepath.Join(dir, time.Now().UTC().Format("20060102T150405.000")+"-"+m.command+".log")
			if f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
				outs = append(outs, scrub.NewWriter(f, m.secrets))
				theLogPath = name
				pruneLogs(dir, 10)
			}
		}
		level := hclog.Debug
		if lv := os.Getenv("LLMOPS_LOG"); lv != "" {
			outs = append(outs, levelWriter{w: m.stderr})
			if l := hclog.LevelFromString(lv); l != hclog.NoLevel && l < level {
				level = l
			}
		}
		if len(outs) == 0 {
			theLogger = hclog.NewNullLogger()
			return
		}
		theLogger = hclog.New(&hclog.LoggerOptions{
			Name:       "llmops",
			Level:      level,
			Output:     io.MultiWriter(outs...),
			JSONFormat: os.Getenv("LLMOPS_LOG_JSON") != "",
		})
	})
	return theLogger
}

// logFile is the run's log file, created if need be ("" when it could not
// be).
func (m *meta) logFile() string {
	m.logger()
	return theLogPath
}

// levelWriter passes log lines to stderr at or above $LLMOPS_LOG's level.
type levelWriter struct{ w io.Writer }

func (lw levelWriter) Write(p []byte) (int, error) {
	want := hclog.LevelFromString(os.Getenv("LLMOPS_LOG"))
	line := string(p)
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if strings.Contains(line, "["+strings.ToUpper(lv.String())+"]") {
			if lv < want {
				return len(p), nil
			}
			break
		}
	}
	return lw.w.Write(p)
}

func pruneLogs(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".log") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for len(names) > keep {
		os.Remove(filepath.Join(dir, names[0]))
		names = names[1:]
	}
}

// checkModulesLocked refuses git modules installed at another commit than
// the lock file records (a teammate's newer lock file): init must fetch
// the recorded one first.
func (m *meta) checkModulesLocked(lf *discovery.LockFile) hcl.Diagnostics {
	if lf == nil || len(lf.Modules) == 0 {
		return nil
	}
	man, err := configs.ReadModuleManifest(m.workDir())
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the installed modules", Detail: err.Error()}}
	}
	var diags hcl.Diagnostics
	for _, name := range render.SortedNames(lf.Modules) {
		l := lf.Modules[name]
		if inst, ok := man.Modules[name]; ok && inst.Source == l.Source && inst.Commit != l.Commit {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Module not at the locked commit",
				Detail:   fmt.Sprintf("Module %s is installed at commit %s, but %s records %s. Run `llmops init` to fetch the recorded commit.", name, inst.Commit, discovery.LockFileName, l.Commit),
			})
		}
	}
	return diags
}
