package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/discovery"
	"github.com/llmops/llmops/engine/getmodules"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

const initUsage = `
Usage: llmops init [options]

Fetches the modules the configuration takes from git (module "x" { source
= "git::URL//SUBDIR?ref=TAG" }) into .llmops/modules/ and records the
commit of each in .llmops.lock.hcl: later inits fetch that commit, so a
teammate gets the same code. A branch ref moves only with -upgrade,
which shows the old and the new commit; a changed source needs -upgrade.

Finds every provider the configuration (and the state) uses, in
.llmops/plugins/, $LLMOPS_PLUGIN_PATH, beside the llmops binary and on
$PATH, asks each for its version, and records type, version and the
sha256 of its binary in .llmops.lock.hcl. Later commands refuse a binary
that does not match. Commit the lock file.

With a backend in the llmops block (backend "postgres" { schema = "..." }),
init creates the schema or upgrades it for this llmops. -migrate-state
copies the existing state into the configured backend: the local
.llmops/state.db (or -state PATH) into PostgreSQL, which must be empty, or,
after the backend block is removed, the PostgreSQL state back into
.llmops/state.db. See docs/backends.md.
`

func runInit(m *meta, args []string) int {
	fs := m.newFlags("init", initUsage)
	upgrade := fs.Bool("upgrade", false, "Accept provider binaries that differ from the lock file (after an intended upgrade), and fetch each git module at what its ref names now (a branch moves) or at its changed source.")
	migrate := fs.Bool("migrate-state", false, "Copy the state into the configured backend (every version, event and sealed value): the local state into PostgreSQL, or back from the PostgreSQL backend the last init set up here. The destination must be empty.")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	old, diags := discovery.ReadLockFile(m.workDir())
	if diags.HasErrors() {
		m.showDiags(diags)
		return exitError
	}
	mods, diags := getmodules.Install(ctx, getmodules.Options{Root: m.workDir(), Locked: old.Modules, Upgrade: *upgrade, Progress: m.stdout})
	if diags.HasErrors() {
		if cfg, _ := configs.LoadDir(m.workDir()); cfg != nil {
			m.sources = cfg.Sources // for the source lines of the diagnostics
		}
		m.showDiags(diags)
		return exitError
	}
	cfg, ok := m.loadConfig()
	if !ok {
		return exitError
	}
	snap, ok := m.initState(ctx, cfg, *migrate)
	if !ok {
		return exitError
	}
	lf := &discovery.LockFile{Providers: map[string]*discovery.LockedProvider{}, Modules: mods}
	var errs hcl.Diagnostics
	for _, typ := range providerTypes(cfg, snap) {
		if o := m.devOverridden(typ); o != nil {
			// Run from where it is built: nothing to find or record.
			if old != nil && old.Providers[typ] != nil {
				lf.Providers[typ] = old.Providers[typ]
			}
			fmt.Fprintf(m.stdout, "- provider %s: dev override %s (not recorded in the lock file)\n", typ, o.Path)
			continue
		}
		bin, err := m.findProvider(typ, "")
		if err != nil {
			errs = append(errs, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Provider %s not found", typ), Detail: err.Error()})
			continue
		}
		if old != nil && old.Providers[typ] != nil {
			// The other platforms' hashes stay (Lock drops them when this
			// platform's binary changed, with -upgrade).
			lf.Providers[typ] = old.Providers[typ]
			var nl *discovery.NotLockedError
			// A platform the lock file has no hash for yet is recorded,
			// as a first init records the first one.
			if err := discovery.Verify(old, bin); err != nil && !*upgrade && !errors.As(err, &nl) {
				errs = append(errs, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Provider %s does not match the lock file", typ), Detail: err.Error()})
				continue
			}
		}
		p, err := plugin.Start(ctx, plugin.StartOptions{Path: bin.Executable(), Type: typ, Logger: m.logger(), LogFile: m.logFile(), Unset: m.providerUnset()})
		if err != nil {
			errs = append(errs, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot start provider %s", typ), Detail: err.Error()})
			continue
		}
		resp := p.GetSchema(ctx, protocol.GetSchemaRequest{})
		p.Close()
		if resp.Diagnostics.HasErrors() {
			errs = append(errs, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Provider %s returned an error for its schema", typ), Detail: resp.Diagnostics.Err().Error()})
			continue
		}
		bin.Version = resp.ProviderVersion
		lf.Lock(bin)
		fmt.Fprintf(m.stdout, "- provider %s v%s: %s (%s: %s)\n", typ, strings.TrimPrefix(resp.ProviderVersion, "v"), bin.Path, discovery.Platform(), bin.SHA256)
	}
	if errs.HasErrors() {
		m.showDiags(errs)
		return exitError
	}
	if err := m.privateDir(); err != nil {
		return m.errorDetail("Cannot create .llmops", err.Error())
	}
	if err := lf.Write(m.workDir()); err != nil {
		return m.errorDetail("Cannot write the lock file", err.Error())
	}
	// Copies of binaries that are no longer locked (an upgrade) go from
	// the configuration's own cache (one named by $LLMOPS_PROVIDER_CACHE
	// may serve others).
	if os.Getenv(discovery.EnvCacheDir) == "" {
		keep := map[string]bool{}
		for _, p := range lf.Providers {
			if h, ok := p.Hash(); ok {
				keep[h] = true
			}
		}
		discovery.PruneCache(discovery.CacheDirFor(m.workDir()), keep)
	}
	fmt.Fprintf(m.stdout, "\n%s Wrote %s; commit it with your configuration.\n", m.colors.Add("llmops has been initialized."), discovery.LockFileName)
	return exitOK
}

const validateUsage = `
Usage: llmops validate [options]

Checks the configuration: syntax, references, types against each
provider's schema, cycles and the providers' own checks. It reads no state
and changes nothing; variables without a value are treated as unknown.
`

func runValidate(m *meta, args []string) int {
	fs := m.newFlags("validate", validateUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	cfg, diags := configs.LoadDir(m.workDir())
	if cfg != nil {
		m.sources = cfg.Sources
	}
	var vars map[string]cty.Value
	if !diags.HasErrors() {
		var vd hcl.Diagnostics
		vars, vd = engine.CollectVariables(cfg, m.vars.srcs, os.Environ())
		for _, v := range vars {
			m.learn(v)
		}
		for _, d := range vd {
			if d.Summary == "No value for required variable" {
				continue
			}
			diags = append(diags, d)
		}
		for name, v := range cfg.Variables {
			if _, ok := vars[name]; !ok || vars[name] == cty.DynamicVal {
				vars[name] = cty.UnknownVal(v.Type)
			}
		}
	}
	if !diags.HasErrors() {
		f, ok := m.providerFactory(cfg, nil)
		if !ok {
			return exitError
		}
		eng := engine.New(engine.Options{Config: cfg, Providers: f, Variables: vars, Logger: m.logger(), Version: Version, Workspace: m.workspace()})
		diags = append(diags, eng.Validate(context.Background())...)
		eng.Close()
	}
	if *jsonOut {
		errs, warns := 0, 0
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				errs++
			} else {
				warns++
			}
		}
		b, _ := json.MarshalIndent(map[string]any{
			"format_version": render.JSONFormatVersion, "valid": !diags.HasErrors(),
			"error_count": errs, "warning_count": warns, "diagnostics": render.DiagnosticsJSON(diags),
		}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
	} else {
		m.showDiags(diags)
		if !diags.HasErrors() {
			fmt.Fprintln(m.stdout, m.colors.Add("Success!")+" The configuration is valid.")
		}
	}
	if diags.HasErrors() {
		return exitError
	}
	return exitOK
}

const graphUsage = `
Usage: llmops graph [options]

Prints the dependency graph of the configuration in Graphviz DOT format;
an edge A -> B means A depends on B. Render it with: llmops graph | dot -Tsvg > graph.svg
`

func runGraph(m *meta, args []string) int {
	fs := m.newFlags("graph", graphUsage)
	lineage := fs.Bool("lineage", false, "Draw the lineage of the recorded objects (what each was made from) instead of the configuration's dependencies.")
	format := fs.String("format", "dot", "dot, or svg (needs Graphviz's dot command).")
	version := fs.Int64("version", 0, "With -lineage: the state version to draw (default: the newest).")
	m.addVarFlags(fs)
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if *format != "dot" && *format != "svg" {
		return m.errorf("-format must be dot or svg")
	}
	if *lineage {
		ctx := context.Background()
		st, ok := m.openState(ctx)
		if !ok {
			return exitError
		}
		defer st.Close()
		snap, err := st.Snapshot(ctx, *version)
		if err != nil {
			return m.errorDetail("Cannot read the state", err.Error())
		}
		objs, err := history.Decode(snap)
		if err != nil {
			return m.errorDetail("Invalid state", err.Error())
		}
		return m.emitGraph(history.LineageDOT(objs), *format)
	}
	cfg, ok := m.loadConfig()
	if !ok {
		return exitError
	}
	f, ok := m.providerFactory(cfg, nil)
	if !ok {
		return exitError
	}
	eng := engine.New(engine.Options{Config: cfg, Providers: f, Logger: m.logger(), Version: Version, Workspace: m.workspace()})
	defer eng.Close()
	dot, diags := eng.GraphDOT(context.Background())
	m.showDiags(diags)
	if diags.HasErrors() {
		return exitError
	}
	return m.emitGraph(dot, *format)
}

// emitGraph prints DOT, or SVG rendered by Graphviz.
func (m *meta) emitGraph(dot, format string) int {
	if format == "dot" {
		fmt.Fprint(m.stdout, dot)
		return exitOK
	}
	path, err := exec.LookPath("dot")
	if err != nil {
		return m.errorDetail("Graphviz is not installed", "SVG output needs Graphviz's `dot` command (Debian: apt-get install graphviz). Without it, use -format=dot and render the DOT elsewhere.")
	}
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = strings.NewReader(dot)
	cmd.Stdout = m.stdout
	cmd.Stderr = m.stderr
	if err := cmd.Run(); err != nil {
		return m.errorDetail("Graphviz failed", err.Error())
	}
	return exitOK
}

const providersUsage = `
Usage: llmops providers [options]
       llmops providers schema [-json] [RESOURCE_TYPE ...]
       llmops providers lock

Lists each provider the configuration and state use: its binary path,
version, checksum and the resource types it offers.

"providers schema" prints every attribute of every resource type with its
type and description (-json: in Terraform's shape); see
"llmops providers schema -help".

"providers lock" adds to .llmops.lock.hcl the hash of each locked
provider's binary built for another platform, found in
.llmops/plugins/<os>_<arch>/ (e.g. .llmops/plugins/darwin_arm64/
llmops-provider-local), so that the committed lock file works on a
teammate's machine too. Run "llmops init" first for this platform.
`

func runProviders(m *meta, args []string) int {
	if len(args) > 0 && args[0] == "lock" {
		return providersLock(m, args[1:])
	}
	if len(args) > 0 && args[0] == "schema" {
		return providersSchema(m, args[1:])
	}
	fs := m.newFlags("providers", providersUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unknownProvidersSubcommand(m, fs.Arg(0))
	}
	cfg, ok := m.loadConfig()
	if !ok {
		return exitError
	}
	f, ok := m.providerFactory(cfg, nil)
	if !ok {
		return exitError
	}
	ctx := context.Background()
	type rtype struct {
		Name       string   `json:"name"`
		Attributes []string `json:"attributes"`
		Blocks     []string `json:"blocks,omitempty"`
	}
	type prov struct {
		Type          string  `json:"type"`
		Version       string  `json:"version"`
		Path          string  `json:"path"`
		SHA256        string  `json:"sha256"`
		ResourceTypes []rtype `json:"resource_types"`
	}
	var out []prov
	types := make([]string, 0, len(f.bins))
	for t := range f.bins {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		bin := f.bins[t]
		p, err := plugin.Start(ctx, plugin.StartOptions{Path: bin.Executable(), Type: t, Logger: m.logger(), LogFile: m.logFile(), Unset: m.providerUnset()})
		if err != nil {
			return m.errorDetail("Cannot start provider "+t, err.Error())
		}
		resp := p.GetSchema(ctx, protocol.GetSchemaRequest{})
		p.Close()
		pv := prov{Type: t, Version: resp.ProviderVersion, Path: bin.Path, SHA256: bin.SHA256}
		for _, rn := range render.SortedNames(resp.ResourceTypes) {
			s := resp.ResourceTypes[rn]
			rt := rtype{Name: rn}
			if s.Block != nil {
				for _, an := range s.Block.AttributeNames() {
					a := s.Block.Attributes[an]
					rt.Attributes = append(rt.Attributes, an+" ("+attrFlags(a)+")")
				}
				rt.Blocks = s.Block.BlockTypeNames()
			}
			pv.ResourceTypes = append(pv.ResourceTypes, rt)
		}
		out = append(out, pv)
	}
	if *jsonOut {
		b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "providers": out}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	for _, p := range out {
		fmt.Fprintf(m.stdout, "%s v%s\n  path:   %s\n  sha256: %s\n", m.colors.Bold("provider "+p.Type), strings.TrimPrefix(p.Version, "v"), p.Path, p.SHA256)
		for _, rt := range p.ResourceTypes {
			fmt.Fprintf(m.stdout, "  - %s: %s", rt.Name, strings.Join(rt.Attributes, ", "))
			if len(rt.Blocks) > 0 {
				fmt.Fprintf(m.stdout, "; blocks: %s", strings.Join(rt.Blocks, ", "))
			}
			fmt.Fprintln(m.stdout)
		}
		fmt.Fprintln(m.stdout)
	}
	return exitOK
}

func attrFlags(a *protocol.Attribute) string {
	var f []string
	switch {
	case a.Required:
		f = append(f, "required")
	case a.Optional && a.Computed:
		f = append(f, "optional, computed")
	case a.Optional:
		f = append(f, "optional")
	case a.Computed:
		f = append(f, "computed")
	}
	if a.Sensitive {
		f = append(f, "sensitive")
	}
	if a.ForceNew {
		f = append(f, "forces replacement")
	}
	return strings.Join(f, ", ")
}

// providersLock records, for each locked provider, the hashes of its
// binaries for other platforms found under .llmops/plugins/<os>_<arch>/.
func providersLock(m *meta, args []string) int {
	fs := m.newFlags("providers lock", providersUsage)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	lf, diags := discovery.ReadLockFile(m.workDir())
	if diags.HasErrors() {
		m.showDiags(diags)
		return exitError
	}
	if len(lf.Providers) == 0 {
		return m.errorDetail("No provider is locked", fmt.Sprintf("%s records no provider yet. Run `llmops init` first: it locks the binaries of this platform (%s).", discovery.LockFileName, discovery.Platform()))
	}
	types := make([]string, 0, len(lf.Providers))
	for t := range lf.Providers {
		types = append(types, t)
	}
	sort.Strings(types)
	added := 0
	for _, t := range types {
		lp := lf.Providers[t]
		bins := discovery.PlatformBinaries(m.workDir(), t)
		pls := make([]string, 0, len(bins))
		for pl := range bins {
			pls = append(pls, pl)
		}
		sort.Strings(pls)
		for _, pl := range pls {
			if _, ok := lp.Hashes[pl]; ok && pl == discovery.Platform() {
				continue // this platform's binary is locked by init
			}
			sum, err := discovery.HashFile(bins[pl])
			if err != nil {
				return m.errorDetail("Cannot hash a provider binary", err.Error())
			}
			if lp.Hashes == nil {
				lp.Hashes = map[string]string{}
			}
			if old, ok := lp.Hashes[pl]; ok && old == sum {
				fmt.Fprintf(m.stdout, "- provider %s %s: %s (unchanged)\n", t, pl, sum)
				continue
			}
			lp.Hashes[pl] = sum
			added++
			fmt.Fprintf(m.stdout, "- provider %s %s: %s\n", t, pl, sum)
		}
		if len(pls) == 0 {
			fmt.Fprintf(m.stdout, "- provider %s: no binary for another platform in %s/<os>_<arch>/\n", t, discovery.PluginDir)
		}
	}
	if err := lf.Write(m.workDir()); err != nil {
		return m.errorDetail("Cannot write the lock file", err.Error())
	}
	fmt.Fprintf(m.stdout, "\nRecorded %d hash(es) in %s; commit it.\n", added, discovery.LockFileName)
	return exitOK
}
