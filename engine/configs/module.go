package configs

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/llmops/llmops/addrs"
)

// ModuleCall is a `module "NAME"` block: where the module comes from, its
// input values (every other attribute, one per variable of the module)
// and its meta-arguments.
type ModuleCall struct {
	Name        string
	Source      ModuleSource
	SourceRange hcl.Range
	// Inputs are the attributes that set the module's variables, by name.
	Inputs    map[string]*hcl.Attribute
	Count     hcl.Expression
	ForEach   hcl.Expression
	DependsOn []hcl.Traversal
	// Providers maps a provider configuration as the module names it to
	// the configuration of the caller it stands for (`providers = {
	// slurm = slurm.onprem }`). Un-aliased configurations not listed are
	// passed on as they are.
	Providers []PassedProvider
	DeclRange hcl.Range
}

// PassedProvider is one entry of a module call's providers map.
type PassedProvider struct {
	InChild  addrs.ProviderConfig
	InParent addrs.ProviderConfig
	Range    hcl.Range
}

var moduleMetaSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "source", Required: true}, {Name: "count"}, {Name: "for_each"}, {Name: "depends_on"}, {Name: "providers"}, {Name: "version"},
}}

func (c *Config) addModuleCall(b *hcl.Block) hcl.Diagnostics {
	name := b.Labels[0]
	if !validIdent(name) {
		return hcl.Diagnostics{badName("module", name, b.LabelRanges[0])}
	}
	if prev, ok := c.ModuleCalls[name]; ok {
		return hcl.Diagnostics{duplicate("module", name, prev.DeclRange, b.DefRange.Ptr())}
	}
	content, rest, diags := b.Body.PartialContent(moduleMetaSchema)
	mc := &ModuleCall{Name: name, DeclRange: b.DefRange, Inputs: map[string]*hcl.Attribute{}}
	if a, ok := content.Attributes["source"]; ok {
		var src string
		ds := gohcl.DecodeExpression(a.Expr, nil, &src)
		diags = append(diags, ds...)
		mc.SourceRange = a.Expr.Range()
		if !ds.HasErrors() {
			s, err := ParseModuleSource(src)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid module source",
					Detail:   fmt.Sprintf("%s. A source is a local directory (\"./modules/finetune\") or a git repository (\"git::https://host/repo.git//subdir?ref=v1.0.0\").", err),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
			mc.Source = s
		}
	}
	if a, ok := content.Attributes["version"]; ok {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Module versions are git refs",
			Detail:   "llmops has no module registry: pin a git module with ?ref=TAG in its source instead of version.",
			Subject:  a.NameRange.Ptr(),
		})
	}
	if a, ok := content.Attributes["count"]; ok {
		mc.Count = a.Expr
	}
	if a, ok := content.Attributes["for_each"]; ok {
		mc.ForEach = a.Expr
		if mc.Count != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid combination of count and for_each",
				Detail:   "A module call may have count or for_each, not both. Remove one of them.",
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	if a, ok := content.Attributes["depends_on"]; ok {
		trs, ds := decodeDependsOn(a)
		diags = append(diags, ds...)
		mc.DependsOn = trs
	}
	if a, ok := content.Attributes["providers"]; ok {
		ps, ds := decodePassedProviders(a)
		diags = append(diags, ds...)
		mc.Providers = ps
	}
	attrs, ds := rest.JustAttributes()
	diags = append(diags, ds...)
	for n, a := range attrs {
		mc.Inputs[n] = a
	}
	c.ModuleCalls[name] = mc
	return diags
}

// decodePassedProviders reads `providers = { slurm = slurm.onprem }`.
func decodePassedProviders(a *hcl.Attribute) ([]PassedProvider, hcl.Diagnostics) {
	pairs, diags := hcl.ExprMap(a.Expr)
	if diags.HasErrors() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid providers argument",
			Detail:   "providers maps the module's provider names to this configuration's: providers = { slurm = slurm.onprem }.",
			Subject:  a.Expr.Range().Ptr(),
		}}
	}
	var out []PassedProvider
	for _, kv := range pairs {
		child, ds := providerRefExpr(kv.Key)
		diags = append(diags, ds...)
		parent, ds2 := providerRefExpr(kv.Value)
		diags = append(diags, ds2...)
		if ds.HasErrors() || ds2.HasErrors() {
			continue
		}
		out = append(out, PassedProvider{InChild: child, InParent: parent, Range: hcl.RangeBetween(kv.Key.Range(), kv.Value.Range())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InChild.String() < out[j].InChild.String() })
	return out, diags
}

// providerRefExpr reads a bare provider reference (slurm, slurm.onprem).
func providerRefExpr(x hcl.Expression) (addrs.ProviderConfig, hcl.Diagnostics) {
	tr, ds := hcl.AbsTraversalForExpr(x)
	if ds.HasErrors() || len(tr) > 2 {
		return addrs.ProviderConfig{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid provider reference",
			Detail:   "A provider is named TYPE or TYPE.ALIAS, without quotes, such as slurm.onprem.",
			Subject:  x.Range().Ptr(),
		}}
	}
	pc := addrs.ProviderConfig{Type: tr.RootName()}
	if len(tr) == 2 {
		a, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			return pc, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid provider reference", Detail: "A provider alias follows its type after a dot: slurm.onprem.", Subject: x.Range().Ptr()}}
		}
		pc.Alias = a.Name
	}
	return pc, nil
}

// Descendant is the module at path p in the tree under c, nil when there
// is none.
func (c *Config) Descendant(p addrs.Module) *Config {
	cur := c
	for _, n := range p.Names() {
		if cur = cur.Children[n]; cur == nil {
			return nil
		}
	}
	return cur
}

// Resource returns the block of a resource anywhere in the tree, given
// its configuration address or the address of any of its instances'
// resources (module.bot["en"].x.y finds module.bot's x.y); nil when none.
func (c *Config) Resource(addr addrs.Resource) *Resource {
	m := c.Descendant(addr.Module.Module())
	if m == nil {
		return nil
	}
	return m.Resources[addr.Config()]
}

// AllResources returns the resources of every module of the tree, in
// address order.
func (c *Config) AllResources() []*Resource {
	var out []*Resource
	c.Walk(func(m *Config) { out = append(out, m.SortedResources()...) })
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// Walk calls fn for c and every module under it, parents first, children
// in name order.
func (c *Config) Walk(fn func(*Config)) {
	fn(c)
	names := make([]string, 0, len(c.Children))
	for n := range c.Children {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.Children[n].Walk(fn)
	}
}

// Root is the root module of the tree c belongs to.
func (c *Config) Root() *Config {
	for c.Parent != nil {
		c = c.Parent
	}
	return c
}

// Call is the module block that calls c (nil for the root).
func (c *Config) Call() *ModuleCall {
	if c.Parent == nil {
		return nil
	}
	_, name, _ := c.Path.Parent()
	return c.Parent.ModuleCalls[name]
}

// Where names the module in messages: "module.bot (modules/finetune)",
// or "the root module".
func (c *Config) Where() string {
	if c.Path.IsRoot() {
		return "the root module"
	}
	return c.Path.String()
}
