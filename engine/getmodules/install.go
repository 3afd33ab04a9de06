package getmodules

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/discovery"
)

// Options are what Install needs.
type Options struct {
	// Root is the root configuration directory.
	Root string
	// Locked are the modules of the lock file, by configs.ModuleKey.
	Locked map[string]*discovery.LockedModule
	// Upgrade fetches each git module at what its ref names now (a branch
	// moves), not at the locked commit, and accepts changed sources.
	Upgrade bool
	// Progress receives one line per git module.
	Progress io.Writer
}

type installer struct {
	ctx      context.Context
	opts     Options
	manifest *configs.ModuleManifest
	next     *configs.ModuleManifest
	locked   map[string]*discovery.LockedModule
	diags    hcl.Diagnostics
}

// Install fetches every git module the configuration in opts.Root calls
// (directly, through local modules, or through other git modules) and
// returns the lock file entries of those it installed.
func Install(ctx context.Context, opts Options) (map[string]*discovery.LockedModule, hcl.Diagnostics) {
	man, err := configs.ReadModuleManifest(opts.Root)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the installed modules", Detail: err.Error()}}
	}
	in := &installer{ctx: ctx, opts: opts, manifest: man,
		next:   &configs.ModuleManifest{Modules: map[string]configs.InstalledModule{}},
		locked: map[string]*discovery.LockedModule{}}
	in.walk(opts.Root, addrs.RootModule, 0)
	if in.diags.HasErrors() {
		return nil, in.diags
	}
	// Modules no longer called leave with their files.
	for key := range man.Modules {
		if _, ok := in.next.Modules[key]; !ok {
			os.RemoveAll(filepath.Join(opts.Root, filepath.FromSlash(configs.ModulesDir), key))
		}
	}
	if len(in.next.Modules) > 0 || len(man.Modules) > 0 {
		if err := configs.WriteModuleManifest(opts.Root, in.next); err != nil {
			return nil, append(in.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot record the installed modules", Detail: err.Error()})
		}
	}
	return in.locked, in.diags
}

// walk installs the git modules called by the module in dir, at path p,
// and walks into every module it calls.
func (in *installer) walk(dir string, p addrs.Module, depth int) {
	if depth > configs.MaxModuleDepth {
		return // the loader reports it
	}
	calls, diags := configs.ModuleCallsIn(in.opts.Root, dir, p)
	in.diags = append(in.diags, diags...)
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		call := calls[name]
		child := p.Child(name)
		switch {
		case call.Source.Git != nil:
			if d, ok := in.install(child, call); ok {
				in.walk(d, child, depth+1)
			}
		case call.Source.Local != "":
			d := filepath.Join(dir, filepath.FromSlash(call.Source.Local))
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				in.walk(d, child, depth+1)
			}
		}
	}
}

// install fetches one git module, unless the right commit is installed
// already, and returns the directory of the module.
func (in *installer) install(p addrs.Module, call *configs.ModuleCall) (string, bool) {
	key := configs.ModuleKey(p)
	src := call.Source.String()
	g := call.Source.Git
	commit := ""
	var old string
	if l := in.opts.Locked[key]; l != nil {
		old = l.Commit
		switch {
		case in.opts.Upgrade:
		case l.Source == src:
			commit = l.Commit
		default:
			in.diags = append(in.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Module source changed",
				Detail: fmt.Sprintf("%s now comes from %s, but %s records %s at commit %s. Run `llmops init -upgrade` to fetch the new source and record its commit.",
					p, src, discovery.LockFileName, l.Source, short(l.Commit)),
				Subject: call.SourceRange.Ptr(),
			})
			return "", false
		}
	}
	dest := configs.ModuleInstallDir(in.opts.Root, p)
	got := commit
	if inst, ok := in.manifest.Modules[key]; ok && commit != "" && inst.Source == src && inst.Commit == commit && dirExists(dest) {
		in.progress("- %s: %s at %s (installed)\n", p, src, short(commit))
	} else {
		var err error
		in.progress("- %s: fetching %s...\n", p, src)
		if got, err = fetch(in.ctx, g.URL, g.Ref, commit, dest); err != nil {
			in.diags = append(in.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Cannot fetch %s", p),
				Detail:   fmt.Sprintf("Fetching %s: %s. Check the URL and the ref, and that git can reach the repository.", src, err),
				Subject:  call.SourceRange.Ptr(),
			})
			return "", false
		}
		switch {
		case old != "" && old != got:
			in.progress("- %s: %s upgraded from %s to %s\n", p, src, short(old), short(got))
		case old != "" && in.opts.Upgrade:
			in.progress("- %s: %s at %s (no newer commit)\n", p, src, short(got))
		default:
			in.progress("- %s: %s at %s\n", p, src, short(got))
		}
	}
	in.next.Modules[key] = configs.InstalledModule{Source: src, Commit: got}
	in.locked[key] = &discovery.LockedModule{Name: key, Source: src, Commit: got}
	d := dest
	if g.Subdir != "" {
		d = filepath.Join(dest, filepath.FromSlash(g.Subdir))
	}
	return d, true
}

func (in *installer) progress(format string, args ...any) {
	if in.opts.Progress != nil {
		fmt.Fprintf(in.opts.Progress, format, args...)
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}
