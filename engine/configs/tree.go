package configs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
)

// MaxModuleDepth bounds how deeply modules may call modules, so that a
// module that calls itself is an error rather than an endless load.
const MaxModuleDepth = 16

// loadChildren loads the module of each module call of c, and theirs.
func (c *Config) loadChildren(depth int) hcl.Diagnostics {
	var diags hcl.Diagnostics
	names := make([]string, 0, len(c.ModuleCalls))
	for n := range c.ModuleCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	root := c.Root()
	for _, name := range names {
		call := c.ModuleCalls[name]
		p := c.Path.Child(name)
		if depth >= MaxModuleDepth {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Modules nested too deeply",
				Detail:   fmt.Sprintf("%s is %d module calls deep; llmops allows %d. A module that calls itself (directly or through others) never ends: break the loop.", p, depth+1, MaxModuleDepth),
				Subject:  call.DeclRange.Ptr(),
			})
			continue
		}
		dir, ds := c.moduleDir(call, p)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		child, ds := loadModuleFromDir(root, dir, p, c, call)
		diags = append(diags, ds...)
		if child == nil {
			continue
		}
		c.Children[name] = child
		diags = append(diags, child.checkCall(call)...)
		if !ds.HasErrors() {
			diags = append(diags, child.loadChildren(depth+1)...)
		}
	}
	return diags
}

// moduleDir is the directory of the module a call loads: a local path
// relative to the calling module, or where init installed a git source.
func (c *Config) moduleDir(call *ModuleCall, p addrs.Module) (string, hcl.Diagnostics) {
	if call.Source.Git == nil {
		return filepath.Join(c.Dir, filepath.FromSlash(call.Source.Local)), nil
	}
	root := c.Root()
	installed := ModuleInstallDir(root.Dir, p)
	man, err := ReadModuleManifest(root.Dir)
	if err != nil {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the installed modules", Detail: err.Error(), Subject: call.SourceRange.Ptr()}}
	}
	rec, ok := man.Modules[ModuleKey(p)]
	switch {
	case !ok:
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Module not installed",
			Detail:   fmt.Sprintf("%s comes from %s, which is not installed. Run `llmops init` to fetch it.", p, call.Source),
			Subject:  call.SourceRange.Ptr(),
		}}
	case rec.Source != call.Source.String():
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Module source changed",
			Detail:   fmt.Sprintf("%s now comes from %s, but %s is installed. Run `llmops init -upgrade` to fetch the new source.", p, call.Source, rec.Source),
			Subject:  call.SourceRange.Ptr(),
		}}
	}
	dir := installed
	if call.Source.Git.Subdir != "" {
		dir = filepath.Join(installed, filepath.FromSlash(call.Source.Git.Subdir))
	}
	return dir, nil
}

// loadModuleFromDir reads and decodes the files of a module directory.
// File names are kept relative to the root directory, so that
// diagnostics point into the module's own files.
func loadModuleFromDir(root *Config, dir string, p addrs.Module, parent *Config, call *ModuleCall) (*Config, hcl.Diagnostics) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Module directory not found",
			Detail:   fmt.Sprintf("%s comes from %s, which is not a directory. Correct the source (a local path is relative to the directory of the calling module).", p, dir),
			Subject:  call.SourceRange.Ptr(),
		}}
	}
	abs, srcs, diags := readDir(dir)
	if diags.HasErrors() {
		for _, d := range diags {
			d.Summary = "Cannot read module " + p.String()
			d.Subject = call.SourceRange.Ptr()
		}
		return nil, diags
	}
	if len(srcs) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Module has no configuration files",
			Detail:   fmt.Sprintf("%s comes from %s, which holds no *%s files. Point source at the module's directory.", p, abs, FileSuffix),
			Subject:  call.SourceRange.Ptr(),
		}}
	}
	named := make(map[string][]byte, len(srcs))
	for n, b := range srcs {
		named[relName(root.Dir, abs, n)] = b
	}
	child, diags := loadModule(abs, named, p, parent)
	for n, b := range child.Sources {
		root.Sources[n] = b
	}
	return child, append(diags, child.checkModuleOnly()...)
}

// checkModuleOnly refuses what only the root module may declare.
func (c *Config) checkModuleOnly() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, addr := range sortedProviderAddrs(c.ProviderConfigs) {
		pc := c.ProviderConfigs[addr]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Provider configuration in a module",
			Detail:   fmt.Sprintf("%s declares provider %s. Providers are configured in the root module and passed to modules: remove this block and add providers = { %s = ... } to the module call if it needs a configuration other than the default.", c.Path, addr, addr),
			Subject:  pc.DeclRange.Ptr(),
		})
	}
	if c.Settings != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "llmops block in a module",
			Detail: fmt.Sprintf("%s has an llmops block; only the root module says where the state is. Remove it.", c.Path), Subject: c.Settings.DeclRange.Ptr()})
	}
	if c.Artifacts != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "artifacts block in a module",
			Detail: fmt.Sprintf("%s has an artifacts block; the artifact store is the root module's. Remove it.", c.Path), Subject: c.Artifacts.DeclRange.Ptr()})
	}
	return diags
}

// checkCall checks a module call's arguments against the module's
// variables: every argument sets a declared variable, and every required
// variable is set.
func (c *Config) checkCall(call *ModuleCall) hcl.Diagnostics {
	var diags hcl.Diagnostics
	names := make([]string, 0, len(call.Inputs))
	for n := range call.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := c.Variables[n]; !ok {
			a := call.Inputs[n]
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported module argument",
				Detail:   fmt.Sprintf("%s declares no variable %q (its variables: %s). Remove the argument, or declare the variable in the module.", c.Path, n, variableList(c)),
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	vnames := make([]string, 0, len(c.Variables))
	for n := range c.Variables {
		vnames = append(vnames, n)
	}
	sort.Strings(vnames)
	for _, n := range vnames {
		if _, set := call.Inputs[n]; !set && c.Variables[n].Required() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required module argument",
				Detail:   fmt.Sprintf("%s requires variable %q (declared at %s): add %s = ... to the module block.", c.Path, n, Pos(c.Variables[n].DeclRange), n),
				Subject:  call.DeclRange.Ptr(),
			})
		}
	}
	return diags
}

func variableList(c *Config) string {
	if len(c.Variables) == 0 {
		return "none"
	}
	names := make([]string, 0, len(c.Variables))
	for n := range c.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func sortedProviderAddrs(m map[addrs.ProviderConfig]*Provider) []addrs.ProviderConfig {
	out := make([]addrs.ProviderConfig, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// treeDigest covers the root's files and every module's: a saved plan is
// stale when any of them changed.
func (c *Config) treeDigest() string {
	if len(c.Children) == 0 {
		return c.Digest
	}
	h := sha256.New()
	c.Walk(func(m *Config) { fmt.Fprintf(h, "%s\x00%s\x00", m.Path, m.Digest) })
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// relName is the name of file n of directory dir relative to the root
// directory, with forward slashes ("modules/finetune/main.llmops.hcl").
func relName(root, dir, n string) string {
	prefix, err := filepath.Rel(root, dir)
	if err != nil {
		prefix = dir
	}
	return filepath.ToSlash(filepath.Join(prefix, n))
}

func sortedNames(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
