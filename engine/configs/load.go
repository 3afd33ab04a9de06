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
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/llmops/llmops/addrs"
)

// FileSuffix is the suffix of configuration files.
const FileSuffix = ".llmops.hcl"

// LoadDir loads every *.llmops.hcl file of dir and, through its module
// blocks, the tree of modules it calls (modules fetched from git are read
// from where `llmops init` put them, ModulesDir).
func LoadDir(dir string) (*Config, hcl.Diagnostics) {
	abs, srcs, diags := readDir(dir)
	if diags.HasErrors() {
		return nil, diags
	}
	cfg, diags := LoadSources(abs, srcs)
	if len(srcs) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("The directory %s contains no *%s files. Create one (see `llmops -help`), or pass -chdir=DIR to point at your configuration.", abs, FileSuffix),
		})
	}
	return cfg, diags
}

// LoadSettings reads only the llmops block of the configuration in dir:
// enough for the commands that need the state but not the objects (show,
// history, ...), which so keep working while a resource block has an
// error. A directory without configuration files has no settings (nil).
// sources are the files read, for rendering diagnostics.
func LoadSettings(dir string) (settings *Settings, sources map[string][]byte, diags hcl.Diagnostics) {
	_, srcs, diags := readDir(dir)
	if diags.HasErrors() {
		return nil, srcs, diags
	}
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	parser := hclparse.NewParser()
	c := &Config{}
	for _, n := range names {
		f, ds := parser.ParseHCL(srcs[n], n)
		diags = append(diags, ds...)
		if f == nil || ds.HasErrors() {
			continue
		}
		content, _, ds := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "llmops"}}})
		diags = append(diags, ds...)
		for _, b := range content.Blocks {
			diags = append(diags, c.addSettings(b)...)
		}
	}
	return c.Settings, srcs, diags
}

// readDir reads the configuration files of dir, keyed by name.
func readDir(dir string) (string, map[string][]byte, hcl.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the configuration directory", Detail: err.Error()}}
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return abs, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read the configuration directory",
			Detail:   fmt.Sprintf("%s. Run llmops in the directory that holds your *.llmops.hcl files, or pass -chdir=DIR.", err),
		}}
	}
	srcs := map[string][]byte{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, FileSuffix) || strings.HasPrefix(n, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(abs, n))
		if err != nil {
			return abs, srcs, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read a configuration file", Detail: err.Error()}}
		}
		srcs[n] = b
	}
	return abs, srcs, nil
}

// LoadSources loads a configuration from file contents keyed by file name
// (used by LoadDir and by tests and fuzzing), and the modules it calls
// from disk.
func LoadSources(dir string, srcs map[string][]byte) (*Config, hcl.Diagnostics) {
	cfg, diags := loadModule(dir, srcs, addrs.RootModule, nil)
	diags = append(diags, cfg.loadChildren(0)...)
	cfg.Walk(func(m *Config) { diags = append(diags, m.resolveProviders()...) })
	cfg.Digest = cfg.treeDigest()
	return cfg, diags
}

// loadModule loads the module at path p from file contents keyed by file
// name (relative to the root configuration directory).
func loadModule(dir string, srcs map[string][]byte, p addrs.Module, parent *Config) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		Path:            p,
		Parent:          parent,
		Children:        map[string]*Config{},
		ModuleCalls:     map[string]*ModuleCall{},
		Dir:             dir,
		Files:           map[string]*hcl.File{},
		Sources:         map[string][]byte{},
		Variables:       map[string]*Variable{},
		Locals:          map[string]*Local{},
		Outputs:         map[string]*Output{},
		ProviderConfigs: map[addrs.ProviderConfig]*Provider{},
		Resources:       map[addrs.Resource]*Resource{},
	}
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)

	var diags hcl.Diagnostics
	parser := hclparse.NewParser()
	h := sha256.New()
	for _, n := range names {
		src := srcs[n]
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(src))
		h.Write(src)
		if ds := CheckNesting(src, n); ds.HasErrors() {
			diags = append(diags, ds...)
			cfg.Sources[n] = src
			continue
		}
		f, ds := parser.ParseHCL(src, n)
		diags = append(diags, ds...)
		cfg.Sources[n] = src
		if f != nil {
			cfg.Files[n] = f
		}
	}
	cfg.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	if diags.HasErrors() {
		return cfg, diags
	}
	for _, n := range names {
		diags = append(diags, cfg.decodeFile(cfg.Files[n])...)
	}
	return cfg, diags
}

var fileSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "provider", LabelNames: []string{"type"}},
		{Type: "artifacts"},
		{Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "moved"},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "llmops"},
	}}
	for _, k := range addrs.Kinds {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: k, LabelNames: []string{"name"}})
	}
	return s
}()

func (c *Config) decodeFile(f *hcl.File) hcl.Diagnostics {
	content, diags := f.Body.Content(fileSchema)
	diags = improveTopLevelDiags(diags)
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			diags = append(diags, c.addVariable(b)...)
		case "locals":
			diags = append(diags, c.addLocals(b)...)
		case "output":
			diags = append(diags, c.addOutput(b)...)
		case "provider":
			diags = append(diags, c.addProvider(b)...)
		case "artifacts":
			diags = append(diags, c.addArtifacts(b)...)
		case "llmops":
			diags = append(diags, c.addSettings(b)...)
		case "resource", "data":
			diags = append(diags, c.addResource(b, b.Labels[0], b.Labels[1])...)
		case "moved":
			diags = append(diags, c.addMoved(b)...)
		case "module":
			diags = append(diags, c.addModuleCall(b)...)
		default:
			diags = append(diags, c.addResource(b, b.Type, b.Labels[0])...)
		}
	}
	return diags
}

// improveTopLevelDiags rewrites HCL's generic message for an unknown
// top-level block so that it lists what is allowed.
func improveTopLevelDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Summary == "Unsupported block type" {
			d.Detail = strings.TrimSpace(d.Detail + " Top-level blocks are llmops, variable, locals, output, provider, artifacts, resource, data, module, moved and the lifecycle kinds " + strings.Join(addrs.Kinds, ", ") + ".")
		}
	}
	return diags
}

func duplicate(what, name string, prev hcl.Range, here *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s %q", what, name),
		Detail:   fmt.Sprintf("%s %s named %q was already declared at %s. Names must be unique: rename or remove one of them.", article(what), what, name, Pos(prev)),
		Subject:  here,
	}
}

// duplicateBlock reports a second block of a type allowed once: in the
// configuration (artifacts) or in one object (lifecycle, placement).
func duplicateBlock(block, owner string, prev hcl.Range, here *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", block),
		Detail:   fmt.Sprintf("%s already has %s %s block, at %s, and may have only one: merge the two.", owner, strings.ToLower(article(block)), block, Pos(prev)),
		Subject:  here,
	}
}

// article is "A" or "An" for a noun.
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "An"
	}
	return "A"
}

func validIdent(name string) bool { return hclValidIdentifier(name) }
