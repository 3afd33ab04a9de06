package discovery

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file in the configuration directory.
const LockFileName = ".llmops.lock.hcl"

// LockFile records, per provider type, the binary `llmops init` chose,
// and per git module (by call path, configs.ModuleKey) the commit it
// fetched.
type LockFile struct {
	Providers map[string]*LockedProvider
	Modules   map[string]*LockedModule
}

// LockedModule is one git module's entry:
//
//	module "support_bot" {
//	  source = "git::https://git.example.com/ml/llm-modules.git//finetune?ref=v1.4.0"
//	  commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"
//	}
type LockedModule struct {
	Name   string
	Source string
	Commit string
}

// LockedProvider is one provider's entry, with the hash of its binary for
// each platform it was locked on:
//
//	provider "null" {
//	  version = "0.1.0"
//	  hashes  = ["darwin_arm64:sha256:9c1e...", "linux_amd64:sha256:3f2a..."]
//	  path    = ".llmops/plugins/llmops-provider-null"
//	}
//
// A file written by an older llmops has a single `hash = "sha256:..."`,
// read as this platform's.
type LockedProvider struct {
	Type    string
	Version string
	// Hashes maps a platform (Platform(): "linux_amd64") to the hex
	// SHA-256 of the provider's binary for it.
	Hashes map[string]string
	// Path is informational: where the binary was found, relative to the
	// configuration directory. A binary outside it records no path: the
	// lock file is committed, and no machine's absolute paths belong in it.
	Path string
}

// Platform names the platform llmops runs on, as in lock files and
// .llmops/plugins/<platform>/: GOOS_GOARCH, e.g. "linux_amd64".
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// Hash returns the locked hash for this platform.
func (lp *LockedProvider) Hash() (string, bool) {
	h, ok := lp.Hashes[Platform()]
	return h, ok
}

// Lock records b for this platform, replacing any entry for its type; the
// entry keeps the other platforms' hashes when this platform's is
// unchanged or new (the same release), and drops them when it changed (an
// upgrade: run `llmops providers lock` again for the others).
func (lf *LockFile) Lock(b *Binary) {
	if lf.Providers == nil {
		lf.Providers = map[string]*LockedProvider{}
	}
	hashes := map[string]string{}
	if old := lf.Providers[b.Type]; old != nil {
		if h, ok := old.Hash(); !ok || h == b.SHA256 {
			for p, h := range old.Hashes {
				hashes[p] = h
			}
		}
	}
	hashes[Platform()] = strings.TrimPrefix(b.SHA256, "sha256:")
	lf.Providers[b.Type] = &LockedProvider{Type: b.Type, Version: b.Version, Hashes: hashes, Path: b.Path}
}

var (
	hashRE         = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	platformHashRE = regexp.MustCompile(`^([a-z0-9]+_[a-z0-9]+):(sha256:[0-9a-f]{64})$`)
)

type lockBody struct {
	Providers []lockBlock       `hcl:"provider,block"`
	Modules   []lockModuleBlock `hcl:"module,block"`
}

type lockModuleBlock struct {
	Name   string `hcl:"name,label"`
	Source string `hcl:"source"`
	Commit string `hcl:"commit"`
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

type lockBlock struct {
	Type    string   `hcl:"type,label"`
	Version *string  `hcl:"version"`
	Hash    *string  `hcl:"hash"`
	Hashes  []string `hcl:"hashes,optional"`
	Path    *string  `hcl:"path"`
}

// ReadLockFile reads dir/.llmops.lock.hcl. A missing file gives an empty
// lock file and no diagnostics; a malformed one gives diagnostics with
// source ranges.
func ReadLockFile(dir string) (*LockFile, hcl.Diagnostics) {
	path := filepath.Join(dir, LockFileName)
	lf := &LockFile{Providers: map[string]*LockedProvider{}, Modules: map[string]*LockedModule{}}
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the lock file", Detail: err.Error()}}
	}
	f, diags := hclparse.NewParser().ParseHCL(src, path)
	if diags.HasErrors() {
		return nil, diags
	}
	var body lockBody
	if diags := gohcl.DecodeBody(f.Body, nil, &body); diags.HasErrors() {
		return nil, diags
	}
	blocks, _ := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "provider", LabelNames: []string{"type"}}, {Type: "module", LabelNames: []string{"name"}}}})
	var modRanges []*hcl.Range
	if blocks != nil {
		var provBlocks []*hcl.Block
		for _, b := range blocks.Blocks {
			if b.Type == "module" {
				modRanges = append(modRanges, b.DefRange.Ptr())
			} else {
				provBlocks = append(provBlocks, b)
			}
		}
		blocks.Blocks = provBlocks
	}
	for i, b := range body.Modules {
		var rng *hcl.Range
		if i < len(modRanges) {
			rng = modRanges[i]
		}
		if _, dup := lf.Modules[b.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate module in the lock file",
				Detail: fmt.Sprintf("Module %q is locked twice. Remove one entry and run `llmops init`.", b.Name), Subject: rng})
			continue
		}
		if !commitRE.MatchString(b.Commit) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid commit in the lock file",
				Detail: fmt.Sprintf("Module %q has commit %q; want a full lower-case hex commit id. Run `llmops init -upgrade` to record it again.", b.Name, b.Commit), Subject: rng})
			continue
		}
		lf.Modules[b.Name] = &LockedModule{Name: b.Name, Source: b.Source, Commit: b.Commit}
	}
	for i, b := range body.Providers {
		var rng *hcl.Range
		if blocks != nil && i < len(blocks.Blocks) {
			rng = blocks.Blocks[i].DefRange.Ptr()
		}
		if _, dup := lf.Providers[b.Type]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate provider in the lock file",
				Detail: fmt.Sprintf("Provider %q is locked twice. Remove %s and run `llmops init`.", b.Type, LockFileName), Subject: rng})
			continue
		}
		lp := &LockedProvider{Type: b.Type, Hashes: map[string]string{}}
		bad := false
		for _, h := range b.Hashes {
			m := platformHashRE.FindStringSubmatch(h)
			if m == nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid hash in the lock file",
					Detail: fmt.Sprintf("Provider %q has the hash %q; want \"<os>_<arch>:sha256:<64 lower-case hex digits>\", e.g. \"linux_amd64:sha256:3f2a...\". Run `llmops init -upgrade` to record it again.", b.Type, h), Subject: rng})
				bad = true
				continue
			}
			lp.Hashes[m[1]] = strings.TrimPrefix(m[2], "sha256:")
		}
		if b.Hash != nil {
			// An older llmops's single hash: this platform's.
			if !hashRE.MatchString(*b.Hash) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid hash in the lock file",
					Detail: fmt.Sprintf("Provider %q has hash %q; want \"sha256:\" and 64 lower-case hex digits. Run `llmops init -upgrade` to record it again.", b.Type, *b.Hash), Subject: rng})
				bad = true
			} else if _, ok := lp.Hashes[Platform()]; !ok {
				lp.Hashes[Platform()] = strings.TrimPrefix(*b.Hash, "sha256:")
			}
		}
		if len(lp.Hashes) == 0 && !bad {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing hashes in the lock file",
				Detail: fmt.Sprintf("Provider %q has no hashes. Run `llmops init -upgrade` to record its binary.", b.Type), Subject: rng})
			continue
		}
		if bad {
			continue
		}
		if b.Version != nil {
			lp.Version = *b.Version
		}
		if b.Path != nil {
			lp.Path = *b.Path
		}
		lf.Providers[b.Type] = lp
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return lf, diags
}

// Write writes the lock file into dir (atomically: a temporary file
// renamed over the old one), providers sorted by type.
func (lf *LockFile) Write(dir string) error {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(
		"# This file is maintained by `llmops init`. Commit it with your configuration:\n" +
			"# llmops refuses provider binaries whose hash differs from the one recorded here,\n" +
			"# and fetches each git module at the commit recorded here.\n\n")}})
	types := make([]string, 0, len(lf.Providers))
	for t := range lf.Providers {
		types = append(types, t)
	}
	sort.Strings(types)
	for i, t := range types {
		p := lf.Providers[t]
		if i > 0 {
			body.AppendNewline()
		}
		b := body.AppendNewBlock("provider", []string{t}).Body()
		b.SetAttributeValue("version", cty.StringVal(p.Version))
		platforms := make([]string, 0, len(p.Hashes))
		for pl := range p.Hashes {
			platforms = append(platforms, pl)
		}
		sort.Strings(platforms)
		hashes := make([]cty.Value, len(platforms))
		for i, pl := range platforms {
			hashes[i] = cty.StringVal(pl + ":sha256:" + strings.TrimPrefix(p.Hashes[pl], "sha256:"))
		}
		if len(hashes) > 0 {
			b.SetAttributeValue("hashes", cty.ListVal(hashes))
		}
		if path := relPath(dir, p.Path); path != "" {
			b.SetAttributeValue("path", cty.StringVal(path))
		}
	}
	names := make([]string, 0, len(lf.Modules))
	for n := range lf.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i > 0 || len(types) > 0 {
			body.AppendNewline()
		}
		mb := body.AppendNewBlock("module", []string{n}).Body()
		mb.SetAttributeValue("source", cty.StringVal(lf.Modules[n].Source))
		mb.SetAttributeValue("commit", cty.StringVal(lf.Modules[n].Commit))
	}
	tmp, err := os.CreateTemp(dir, LockFileName+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(hclwrite.Format(f.Bytes())); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, LockFileName))
}

// relPath is path relative to dir, with forward slashes, or "" when it is
// absolute and outside dir.
func relPath(dir, path string) string {
	if path == "" || !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(abs, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

// MismatchError says a provider binary is not the one the lock file
// records.
type MismatchError struct {
	Type   string
	Path   string
	Locked string // hex SHA-256 in the lock file
	Actual string // hex SHA-256 of the binary found
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("provider %q at %s does not match %s: the lock file records sha256:%s, the binary has sha256:%s. "+
		"If you changed the provider on purpose, run `llmops init -upgrade` to record the new binary; otherwise restore the one that was locked.",
		e.Type, e.Path, LockFileName, e.Locked, e.Actual)
}

// NotLockedError says a provider has no entry in the lock file, or none
// for this platform.
type NotLockedError struct {
	Type string
	// Platforms are those the entry has hashes for, when it has some.
	Platforms []string
}

func (e *NotLockedError) Error() string {
	if len(e.Platforms) > 0 {
		return fmt.Sprintf("provider %q is locked in %s for %s, not for this platform (%s): run `llmops providers lock` where the %s binary is in .llmops/plugins/%s/, or `llmops init` here to record the binary found on this machine",
			e.Type, LockFileName, strings.Join(e.Platforms, ", "), Platform(), Platform(), Platform())
	}
	return fmt.Sprintf("provider %q is not in %s: run `llmops init` to record it", e.Type, LockFileName)
}

// Verify checks b against the lock file's hash for this platform: a
// *NotLockedError when the provider (or this platform) is not locked, a
// *MismatchError when its hash differs.
func Verify(lf *LockFile, b *Binary) error {
	if lf == nil || lf.Providers[b.Type] == nil {
		return &NotLockedError{Type: b.Type}
	}
	lp := lf.Providers[b.Type]
	h, ok := lp.Hash()
	if !ok {
		var pls []string
		for p := range lp.Hashes {
			pls = append(pls, p)
		}
		sort.Strings(pls)
		return &NotLockedError{Type: b.Type, Platforms: pls}
	}
	locked, actual := hexDigest(h), hexDigest(b.SHA256)
	if locked != actual {
		return &MismatchError{Type: b.Type, Path: b.Path, Locked: locked, Actual: actual}
	}
	return nil
}

// PlatformBinaries finds the binaries of provider typ built for platforms
// under the configuration's plugin directory, one per platform directory:
// .llmops/plugins/<os>_<arch>/llmops-provider-<typ> (".exe" for windows_*).
// It maps each platform to its binary.
func PlatformBinaries(configDir, typ string) map[string]string {
	out := map[string]string{}
	dirs, _ := os.ReadDir(filepath.Join(configDir, PluginDir))
	for _, d := range dirs {
		pl := d.Name()
		if !d.IsDir() || !platformRE.MatchString(pl) {
			continue
		}
		name := "llmops-provider-" + typ
		if strings.HasPrefix(pl, "windows_") {
			name += ".exe"
		}
		p := filepath.Join(configDir, PluginDir, pl, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out[pl] = p
		}
	}
	return out
}

var platformRE = regexp.MustCompile(`^[a-z0-9]+_[a-z0-9]+$`)

// hexDigest is a sha256 hash as lower-case hex, without a "sha256:" prefix.
func hexDigest(h string) string { return strings.ToLower(strings.TrimPrefix(h, "sha256:")) }
