package configs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/llmops/llmops/addrs"
)

var resourceMetaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "for_each"}, {Name: "provider"}, {Name: "depends_on"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "lifecycle"}, {Type: "placement"}},
}

var placementSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "candidates", Required: true}, {Name: "strategy"}, {Name: "max_hourly_cost"}},
}

var lifecycleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "prevent_destroy"}, {Name: "create_before_destroy"}, {Name: "ignore_changes"}},
}

func (c *Config) addResource(b *hcl.Block, typ, name string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	nameRange := b.LabelRanges[len(b.LabelRanges)-1]
	if !validIdent(name) {
		return hcl.Diagnostics{badName("resource", name, nameRange)}
	}
	if b.Type == "data" {
		if !validIdent(typ) {
			return hcl.Diagnostics{badName("data source type", typ, b.LabelRanges[0])}
		}
	}
	if b.Type == "resource" {
		if !validIdent(typ) {
			return hcl.Diagnostics{badName("resource type", typ, b.LabelRanges[0])}
		}
		if addrs.IsKind(typ) {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Lifecycle kind declared as a resource",
				Detail:   fmt.Sprintf("%q is a lifecycle kind: declare it as `%s %q { ... }`, without the resource keyword.", typ, typ, name),
				Subject:  b.LabelRanges[0].Ptr(),
			}}
		}
		if !strings.Contains(typ, "_") {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid resource type",
				Detail:   fmt.Sprintf("Resource types are named <provider>_<type>, such as null_value; %q has no provider prefix.", typ),
				Subject:  b.LabelRanges[0].Ptr(),
			}}
		}
	}
	addr := addrs.Resource{Module: c.Path.UnkeyedInstance(), Type: typ, Name: name}
	if b.Type == "data" {
		addr.Mode = addrs.DataResourceMode
	}
	if prev, ok := c.Resources[addr]; ok {
		noun := blockNoun(typ)
		if addr.IsData() {
			noun = "data source"
		}
		return hcl.Diagnostics{duplicate(noun, addr.String(), prev.DeclRange, b.DefRange.Ptr())}
	}
	content, rest, ds := b.Body.PartialContent(resourceMetaSchema)
	diags = append(diags, ds...)
	r := &Resource{
		Addr:      addr,
		Provider:  addrs.ProviderConfig{Type: addr.ImpliedProviderType()},
		Config:    rest,
		DeclRange: b.DefRange,
		TypeRange: b.TypeRange,
	}
	if b.Type == "resource" || b.Type == "data" {
		r.TypeRange = b.LabelRanges[0]
	}
	r.SourceHash = c.blockHash(b)
	if a, ok := content.Attributes["count"]; ok {
		r.Count = a.Expr
	}
	if a, ok := content.Attributes["for_each"]; ok {
		r.ForEach = a.Expr
		if r.Count != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid combination of count and for_each",
				Detail:   "A block may have count or for_each, not both. Remove one of them.",
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	if a, ok := content.Attributes["provider"]; ok {
		pc, ds := decodeProviderRef(a)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			r.Provider = pc
			r.ProviderRange = a.Expr.Range().Ptr()
		}
	}
	if a, ok := content.Attributes["depends_on"]; ok {
		trs, ds := decodeDependsOn(a)
		diags = append(diags, ds...)
		r.DependsOn = trs
	}
	for _, lb := range content.Blocks {
		if addr.IsData() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("%s block in a data source", lb.Type),
				Detail:   "A data source is only read, never created or replaced: it takes provider, count, for_each and depends_on, not lifecycle or placement. Remove the block.",
				Subject:  lb.DefRange.Ptr(),
			})
			continue
		}
		if lb.Type == "placement" {
			diags = append(diags, r.decodePlacement(lb)...)
			continue
		}
		if r.Lifecycle.DeclRange != nil {
			diags = append(diags, duplicateBlock("lifecycle", addr.String(), *r.Lifecycle.DeclRange, lb.DefRange.Ptr()))
			continue
		}
		lc, ds := lb.Body.Content(lifecycleSchema)
		diags = append(diags, ds...)
		r.Lifecycle.DeclRange = lb.DefRange.Ptr()
		if a, ok := lc.Attributes["prevent_destroy"]; ok {
			r.Lifecycle.PreventDestroy = a.Expr
		}
		if a, ok := lc.Attributes["create_before_destroy"]; ok {
			r.Lifecycle.CreateBeforeDestroy = a.Expr
		}
		if a, ok := lc.Attributes["ignore_changes"]; ok {
			r.Lifecycle.IgnoreChanges = a.Expr
		}
	}
	c.Resources[addr] = r
	return diags
}

func blockNoun(typ string) string {
	if addrs.IsKind(typ) {
		return typ
	}
	return "resource"
}

func decodeProviderRef(a *hcl.Attribute) (addrs.ProviderConfig, hcl.Diagnostics) {
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	bad := hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid provider reference",
		Detail:   "The provider argument takes a provider configuration address without quotes: TYPE or TYPE.ALIAS, such as local.gpu_box.",
		Subject:  a.Expr.Range().Ptr(),
	}}
	if diags.HasErrors() || len(tr) > 2 {
		return addrs.ProviderConfig{}, bad
	}
	pc := addrs.ProviderConfig{Type: tr.RootName()}
	if len(tr) == 2 {
		at, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			return addrs.ProviderConfig{}, bad
		}
		pc.Alias = at.Name
	}
	return pc, nil
}

// resolveProviders checks that every aliased provider a resource names is
// declared, and adds an implied empty configuration for every default
// provider used without a block.
func (c *Config) resolveProviders() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if c.Parent != nil {
		// A module's resources use the root's provider configurations, as
		// its calls pass them on.
		for _, r := range c.SortedResources() {
			rng := r.DeclRange
			if r.ProviderRange != nil {
				rng = *r.ProviderRange
			}
			pc, ds := c.rootProvider(r, r.Provider, rng)
			diags = append(diags, ds...)
			r.Provider = pc
			if r.Placement != nil {
				for i, cand := range r.Placement.Candidates {
					r.Placement.Candidates[i], ds = c.rootProvider(r, cand, r.Placement.CandidateRanges[i])
					diags = append(diags, ds...)
				}
			}
		}
		if diags.HasErrors() {
			return diags
		}
	}
	root := c.Root()
	for _, r := range c.SortedResources() {
		if r.Placement != nil {
			for i, cand := range r.Placement.Candidates {
				diags = append(diags, root.resolveProvider(r, cand, r.Placement.CandidateRanges[i])...)
			}
			continue
		}
		if _, ok := root.ProviderConfigs[r.Provider]; ok {
			continue
		}
		if r.Provider.Alias != "" {
			rng := r.DeclRange
			if r.ProviderRange != nil {
				rng = *r.ProviderRange
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference to undeclared provider configuration",
				Detail:   fmt.Sprintf("%s uses provider %s, but no provider %q block has alias = %q. Declare it, or remove the provider argument to use the default %s configuration.", r.Addr, r.Provider, r.Provider.Type, r.Provider.Alias, r.Provider.Type),
				Subject:  rng.Ptr(),
			})
			continue
		}
		root.ProviderConfigs[r.Provider] = &Provider{Addr: r.Provider, Config: hcl.EmptyBody(), DeclRange: r.DeclRange, Implied: true}
	}
	return diags
}

// rootProvider maps the provider configuration pc, as module c names it,
// to the root module's configuration it stands for, through the providers
// argument of each module call on the way up. An un-aliased configuration
// that a call does not list is passed on as it is; an aliased one must be
// listed.
func (c *Config) rootProvider(r *Resource, pc addrs.ProviderConfig, rng hcl.Range) (addrs.ProviderConfig, hcl.Diagnostics) {
	for cur := c; cur.Parent != nil; cur = cur.Parent {
		call := cur.Call()
		passed := false
		for _, pp := range call.Providers {
			if pp.InChild == pc {
				pc, passed = pp.InParent, true
				break
			}
		}
		if !passed && pc.Alias != "" {
			return pc, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Provider configuration not passed to the module",
				Detail:   fmt.Sprintf("%s uses provider %s, which the call of %s does not pass: add providers = { %s = <a provider configuration of the caller> } to its module block.", r.Addr, pc, cur.Path, pc),
				Subject:  rng.Ptr(),
			}}
		}
	}
	return pc, nil
}

// blockHash hashes the source text of a whole block.
func (c *Config) blockHash(b *hcl.Block) string {
	src := c.Sources[b.DefRange.Filename]
	start := b.DefRange.Start.Byte
	end := b.DefRange.End.Byte
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		end = sb.SrcRange.End.Byte
	}
	if start < 0 || end > len(src) || start > end {
		return ""
	}
	sum := sha256.Sum256(src[start:end])
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *Resource) decodePlacement(b *hcl.Block) hcl.Diagnostics {
	if r.Placement != nil {
		return hcl.Diagnostics{duplicateBlock("placement", r.Addr.String(), r.Placement.DeclRange, b.DefRange.Ptr())}
	}
	switch r.Addr.Type {
	case "training_run", "evaluation", "deployment", "embedding_index":
	default:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Placement is not supported here",
			Detail:   fmt.Sprintf("A placement block chooses where work runs: it is allowed in training_run, evaluation, deployment and embedding_index blocks, not in %s.", r.Addr.Type),
			Subject:  b.DefRange.Ptr(),
		}}
	}
	content, diags := b.Body.Content(placementSchema)
	if diags.HasErrors() {
		return diags
	}
	pl := &Placement{DeclRange: b.DefRange}
	if a, ok := content.Attributes["strategy"]; ok {
		pl.Strategy = a.Expr
	}
	if a, ok := content.Attributes["max_hourly_cost"]; ok {
		pl.MaxHourlyCost = a.Expr
	}
	exprs, ds := hcl.ExprList(content.Attributes["candidates"].Expr)
	diags = append(diags, ds...)
	for _, x := range exprs {
		pc, ds := decodeProviderRef(&hcl.Attribute{Name: "candidates", Expr: x})
		if ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		pl.Candidates = append(pl.Candidates, pc)
		pl.CandidateRanges = append(pl.CandidateRanges, x.Range())
	}
	if len(pl.Candidates) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No placement candidates", Detail: "List at least one provider configuration in candidates, e.g. [slurm.onprem, local].", Subject: b.DefRange.Ptr()})
	}
	if diags.HasErrors() {
		return diags
	}
	if r.ProviderRange != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Both provider and placement", Detail: "An object with a placement block is placed on one of its candidates; remove the provider argument.", Subject: r.ProviderRange}}
	}
	r.Placement = pl
	r.Provider = pl.Candidates[0]
	return nil
}

// resolveProvider checks (or implies) one provider configuration a
// resource may use.
func (c *Config) resolveProvider(r *Resource, pc addrs.ProviderConfig, rng hcl.Range) hcl.Diagnostics {
	if _, ok := c.ProviderConfigs[pc]; ok {
		return nil
	}
	if pc.Alias != "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared provider configuration",
			Detail:   fmt.Sprintf("%s lists %s as a placement candidate, but no provider %q block has alias = %q. Declare it.", r.Addr, pc, pc.Type, pc.Alias),
			Subject:  rng.Ptr(),
		}}
	}
	c.ProviderConfigs[pc] = &Provider{Addr: pc, Config: hcl.EmptyBody(), DeclRange: r.DeclRange, Implied: true}
	return nil
}
