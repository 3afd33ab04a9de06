package discovery

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

// LockedProvider is one provider's entry:
//
//	provider "null" {
//	  version = "0.1.0"
//	  hash    = "sha256:3f2a..."
//	  path    = ".llmops/plugins/llmops-provider-null"
//	}
type LockedProvider struct {
	Type    string
	Version string
	// Hash is the hex SHA-256 of the binary (Binary.SHA256). In the file it
	// is written "sha256:<hex>"; a "sha256:" prefix here is accepted too.
	Hash string
	// Path is informational: where the binary was found (relative to the
	// configuration directory when inside it).
	Path string
}

// Lock records b, replacing any entry for its type.
func (lf *LockFile) Lock(b *Binary) {
	if lf.Providers == nil {
		lf.Providers = map[string]*LockedProvider{}
	}
	lf.Providers[b.Type] = &LockedProvider{Type: b.Type, Version: b.Version, Hash: b.SHA256, Path: b.Path}
}

var hashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

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
	Type    string  `hcl:"type,label"`
	Version *string `hcl:"version"`
	Hash    string  `hcl:"hash"`
	Path    *string `hcl:"path"`
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
		if !hashRE.MatchString(b.Hash) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid hash in the lock file",
				Detail: fmt.Sprintf("Provider %q has hash %q; want \"sha256:\" and 64 lower-case hex digits. Run `llmops init -upgrade` to record it again.", b.Type, b.Hash), Subject: rng})
			continue
		}
		lp := &LockedProvider{Type: b.Type, Hash: strings.TrimPrefix(b.Hash, "sha256:")}
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
		b.SetAttributeValue("hash", cty.StringVal("sha256:"+strings.TrimPrefix(p.Hash, "sha256:")))
		path := p.Path
		if abs, err := filepath.Abs(dir); err == nil && filepath.IsAbs(path) {
			if rel, err := filepath.Rel(abs, path); err == nil && !strings.HasPrefix(rel, "..") {
				path = filepath.ToSlash(rel)
			}
		}
		b.SetAttributeValue("path", cty.StringVal(path))
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

// NotLockedError says a provider has no entry in the lock file.
type NotLockedError struct{ Type string }

func (e *NotLockedError) Error() string {
	return fmt.Sprintf("provider %q is not in %s: run `llmops init` to record it", e.Type, LockFileName)
}

// Verify checks b against the lock file: a *NotLockedError when the
// provider is not locked, a *MismatchError when its hash differs.
func Verify(lf *LockFile, b *Binary) error {
	if lf == nil || lf.Providers[b.Type] == nil {
		return &NotLockedError{Type: b.Type}
	}
	locked := strings.ToLower(strings.TrimPrefix(lf.Providers[b.Type].Hash, "sha256:"))
	actual := strings.ToLower(strings.TrimPrefix(b.SHA256, "sha256:"))
	if locked != actual {
		return &MismatchError{Type: b.Type, Path: b.Path, Locked: locked, Actual: actual}
	}
	return nil
}
