package configs

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// Config is one module of a loaded configuration: the root directory, or
// a module it calls (directly or through other modules). The modules
// form a tree: Parent, Children and Path say where c is in it.
type Config struct {
	// Path is the module's place in the tree (the root's is empty).
	Path addrs.Module
	// Parent is the calling module, nil for the root.
	Parent *Config
	// Children are the modules c calls, by call name.
	Children map[string]*Config
	// ModuleCalls are c's module blocks, by name.
	ModuleCalls map[string]*ModuleCall

	// Dir is the absolute path of the configuration directory.
	Dir string
	// Files maps each file name (relative to the root module's Dir) to its
	// parsed file; the parser's sources are kept for diagnostics. The
	// root's Sources also hold every module's files.
	Files   map[string]*hcl.File
	Sources map[string][]byte
	// Digest is "sha256:" over the names and contents of the files (the
	// root's covers every module of the tree).
	Digest string

	Variables       map[string]*Variable
	Locals          map[string]*Local
	Outputs         map[string]*Output
	ProviderConfigs map[addrs.ProviderConfig]*Provider
	Resources       map[addrs.Resource]*Resource
	// Moved are the module's moved blocks, in file order.
	Moved     []*Moved
	Artifacts *Artifacts
	// Settings is the llmops block, nil when there is none.
	Settings *Settings
}

// Backend is the configured state backend, nil for the default (SQLite).
func (c *Config) Backend() *Backend {
	if c == nil || c.Settings == nil {
		return nil
	}
	return c.Settings.Backend
}

// SortedResources returns the resources ordered by address.
func (c *Config) SortedResources() []*Resource {
	out := make([]*Resource, 0, len(c.Resources))
	for _, r := range c.Resources {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// Variable is a `variable "name"` block.
type Variable struct {
	Name        string
	Description string
	// Type is the type constraint; cty.DynamicPseudoType when absent.
	Type        cty.Type
	TypeDefault *typeexpr.Defaults
	// Default is cty.NilVal when the variable has no default (it is required).
	Default     cty.Value
	Sensitive   bool
	Nullable    bool
	Validations []*Validation
	DeclRange   hcl.Range
}

// Required reports whether the variable has no default.
func (v *Variable) Required() bool { return v.Default == cty.NilVal }

// Validation is a `validation` block of a variable.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one attribute of a `locals` block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

// Output is an `output "name"` block.
type Output struct {
	Name        string
	Description string
	Expr        hcl.Expression
	Sensitive   bool
	DependsOn   []hcl.Traversal
	DeclRange   hcl.Range
}

// Provider is a `provider "type"` block.
type Provider struct {
	Addr addrs.ProviderConfig
	// Config is the provider-owned body, without `alias`.
	Config    hcl.Body
	DeclRange hcl.Range
	// Implied is true for a provider that has no block: its config is empty.
	Implied bool
}

// Artifacts is the `artifacts` block: the local store (path) and the
// remote store it caches (url, with endpoint, path_style, region and
// profile for S3). An attribute not set is nil.
type Artifacts struct {
	Path, URL, Endpoint, PathStyle, Region, Profile hcl.Expression
	DeclRange                                       hcl.Range
}

// Resource is a lifecycle kind block (`model "base"`) or a `resource "TYPE"
// "NAME"` block.
type Resource struct {
	Addr addrs.Resource
	// Provider is the configuration that serves this resource: from the
	// `provider` meta-argument, or the default configuration of the implied
	// type.
	Provider      addrs.ProviderConfig
	ProviderRange *hcl.Range

	Count     hcl.Expression
	ForEach   hcl.Expression
	DependsOn []hcl.Traversal
	Lifecycle Lifecycle
	// Placement is the `placement` block, or nil. With it, Provider is the
	// first candidate and the engine picks one per instance.
	Placement *Placement

	// Config is the provider-owned body with the meta-arguments removed.
	Config    hcl.Body
	DeclRange hcl.Range
	TypeRange hcl.Range
	// SourceHash is the sha256 of the block's source text: it changes when
	// anything in the block is edited.
	SourceHash string
}

// Lifecycle holds the lifecycle block's expressions. Each is nil when
// absent; they may refer to variables and locals and are evaluated by the
// engine.
type Lifecycle struct {
	PreventDestroy      hcl.Expression
	CreateBeforeDestroy hcl.Expression
	IgnoreChanges       hcl.Expression
	DeclRange           *hcl.Range
}

// Placement is a `placement` block: the provider configurations that may
// run an object, in order, with a strategy and a budget.
type Placement struct {
	Candidates      []addrs.ProviderConfig
	CandidateRanges []hcl.Range
	// Strategy is "ordered" (the first candidate that can run it) or
	// "cheapest"; nil means ordered.
	Strategy hcl.Expression
	// MaxHourlyCost bounds the price per hour; nil means no bound.
	MaxHourlyCost hcl.Expression
	DeclRange     hcl.Range
}
