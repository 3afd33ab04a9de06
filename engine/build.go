package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/engine/lang"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

type nodeKind uint8

const (
	nkLocal nodeKind = iota
	nkOutput
	nkProvider
	nkResource
	nkDestroy // deletions of a resource's instances, in reverse order
)

// node is a vertex of the dependency graph.
type node struct {
	kind nodeKind
	name string // local or output name
	res  addrs.Resource
	prov addrs.ProviderConfig
}

func (n node) String() string {
	switch n.kind {
	case nkLocal:
		return "local." + n.name
	case nkOutput:
		return "output." + n.name
	case nkProvider:
		return "provider." + n.prov.String()
	case nkDestroy:
		return n.res.String() + " (destroy)"
	}
	return n.res.String()
}

func nodeLess(a, b node) bool { return a.String() < b.String() }

// configGraph is the dependency graph of a configuration plus what the
// engine learned while building it.
type configGraph struct {
	g *graph.Graph[node]
	// resourceDeps are the resources each resource depends on, directly or
	// through locals, including depends_on.
	resourceDeps map[addrs.Resource][]addrs.Resource
	// schemas of the resources in the configuration.
	schemas map[addrs.Resource]*protocol.Schema
}

// resourceProvider returns the started provider of a configured resource.
func (e *Engine) resourceProvider(ctx context.Context, r *configs.Resource) (*providerInstance, hcl.Diagnostics) {
	pi, err := e.providers.get(ctx, r.Provider)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot start provider %s", r.Provider), Detail: err.Error(), Subject: r.DeclRange.Ptr()}}
	}
	return pi, nil
}

// buildGraph builds the graph of the configuration: one node per local,
// output, provider configuration and resource, with an edge for every
// reference and depends_on. Orphans (recorded resources no longer
// configured) get a node that depends on their provider.
func (e *Engine) buildGraph(ctx context.Context, recorded map[addrs.Resource]*recordedResource) (*configGraph, hcl.Diagnostics) {
	cfg := e.cfg
	cg := &configGraph{
		g:            graph.New[node](),
		resourceDeps: map[addrs.Resource][]addrs.Resource{},
		schemas:      map[addrs.Resource]*protocol.Schema{},
	}
	var diags hcl.Diagnostics
	directRes := map[node]map[addrs.Resource]bool{}

	connectRefs := func(from node, refs []*lang.Reference) {
		for _, ref := range refs {
			switch s := ref.Subject.(type) {
			case lang.LocalRef:
				if _, ok := cfg.Locals[s.Name]; !ok {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Reference to undeclared local value",
						Detail:   fmt.Sprintf("No local value named %q is declared in a locals block. Declare it, or correct the name.", s.Name),
						Subject:  ref.Range.Ptr(),
					})
					continue
				}
				cg.g.Connect(from, node{kind: nkLocal, name: s.Name})
			case lang.VarRef:
				if _, ok := cfg.Variables[s.Name]; !ok {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Reference to undeclared input variable",
						Detail:   fmt.Sprintf("An input variable named %q is not declared. Add a variable %q block, or correct the name.", s.Name, s.Name),
						Subject:  ref.Range.Ptr(),
					})
				}
			case lang.ResourceRef:
				if _, ok := cfg.Resources[s.Resource]; !ok {
					diags = append(diags, undeclaredResource(s.Resource, ref.Range))
					continue
				}
				cg.g.Connect(from, node{kind: nkResource, res: s.Resource})
				if directRes[from] == nil {
					directRes[from] = map[addrs.Resource]bool{}
				}
				directRes[from][s.Resource] = true
			}
		}
	}
	exprRefs := func(exprs ...hcl.Expression) []*lang.Reference {
		var out []*lang.Reference
		for _, x := range exprs {
			refs, ds := lang.ExprReferences(x)
			diags = append(diags, ds...)
			out = append(out, refs...)
		}
		return out
	}
	dependsOnRefs := func(trs []hcl.Traversal) []*lang.Reference {
		var out []*lang.Reference
		for _, tr := range trs {
			ref, ds := lang.ParseRef(tr)
			diags = append(diags, ds...)
			if ref == nil {
				continue
			}
			if _, ok := ref.Subject.(lang.ResourceRef); !ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid depends_on reference",
					Detail:   "depends_on lists resources and lifecycle objects, such as training_run.ft; " + ref.Subject.String() + " is not one.",
					Subject:  ref.Range.Ptr(),
				})
				continue
			}
			out = append(out, ref)
		}
		return out
	}

	// Everything is visited in sorted order, so that diagnostics and the
	// graph come out the same on every run.
	for _, name := range slices.Sorted(maps.Keys(cfg.Locals)) {
		n := node{kind: nkLocal, name: name}
		cg.g.Add(n)
		connectRefs(n, exprRefs(cfg.Locals[name].Expr))
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Outputs)) {
		o := cfg.Outputs[name]
		n := node{kind: nkOutput, name: name}
		cg.g.Add(n)
		connectRefs(n, exprRefs(o.Expr))
		connectRefs(n, dependsOnRefs(o.DependsOn))
	}
	for _, addr := range sortedProviders(cfg.ProviderConfigs) {
		p := cfg.ProviderConfigs[addr]
		n := node{kind: nkProvider, prov: addr}
		cg.g.Add(n)
		pi, err := e.providers.get(ctx, addr)
		if err != nil {
			continue // reported by startProviders
		}
		if pi.schema.Provider != nil && pi.schema.Provider.Block != nil {
			refs, ds := lang.References(hcldec.Variables(p.Config, DecoderSpec(pi.schema.Provider.Block)))
			diags = append(diags, ds...)
			connectRefs(n, refs)
		}
	}
	for _, r := range cfg.SortedResources() {
		n := node{kind: nkResource, res: r.Addr}
		cg.g.Add(n)
		cg.g.Connect(n, node{kind: nkProvider, prov: r.Provider})
		if r.Placement != nil {
			for _, c := range r.Placement.Candidates {
				cg.g.Connect(n, node{kind: nkProvider, prov: c})
			}
			connectRefs(n, exprRefs(r.Placement.Strategy, r.Placement.MaxHourlyCost))
		}
		connectRefs(n, exprRefs(r.Count, r.ForEach, r.Lifecycle.PreventDestroy, r.Lifecycle.CreateBeforeDestroy))
		if r.Lifecycle.IgnoreChanges != nil {
			if _, static := staticIgnoreList(r.Lifecycle.IgnoreChanges); !static {
				connectRefs(n, exprRefs(r.Lifecycle.IgnoreChanges))
			}
		}
		connectRefs(n, dependsOnRefs(r.DependsOn))
		pi, err := e.providers.get(ctx, r.Provider)
		if err != nil {
			continue
		}
		schema, ds := pi.resourceSchema(r.Addr.Type, r.TypeRange.Ptr())
		diags = append(diags, ds...)
		if schema == nil {
			continue
		}
		cg.schemas[r.Addr] = schema
		refs, ds := lang.References(hcldec.Variables(r.Config, DecoderSpec(schema.Block)))
		diags = append(diags, ds...)
		for _, ref := range refs {
			if rr, ok := ref.Subject.(lang.ResourceRef); ok && rr.Resource == r.Addr {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Self-referential block",
					Detail:   fmt.Sprintf("%s refers to itself. A block cannot use its own attributes; use a local value or another resource.", r.Addr),
					Subject:  ref.Range.Ptr(),
				})
			}
		}
		connectRefs(n, refs)
	}
	// Orphans (recorded, no longer configured) are destroyed through the
	// provider that recorded them: an un-aliased provider needs no block
	// (its empty configuration is implied, without changing the loaded
	// configuration).
	implied := map[addrs.ProviderConfig]*configs.Provider{}
	orphans := make([]addrs.Resource, 0)
	for addr := range recorded {
		if _, ok := cfg.Resources[addr]; !ok {
			orphans = append(orphans, addr)
		}
	}
	slices.SortFunc(orphans, func(a, b addrs.Resource) int { return strings.Compare(a.String(), b.String()) })
	for _, addr := range orphans {
		rr := recorded[addr]
		n := node{kind: nkResource, res: addr}
		cg.g.Add(n)
		if _, ok := cfg.ProviderConfigs[rr.provider]; !ok && rr.provider.Alias == "" && implied[rr.provider] == nil {
			implied[rr.provider] = &configs.Provider{Addr: rr.provider, Config: hcl.EmptyBody(), Implied: true}
			cg.g.Add(node{kind: nkProvider, prov: rr.provider})
		}
		if _, ok := cfg.ProviderConfigs[rr.provider]; !ok && implied[rr.provider] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Provider configuration not present",
				Detail:   fmt.Sprintf("%s was created with provider %s, whose configuration is no longer declared. To destroy it, put the provider block back, apply, then remove it.", addr, rr.provider),
			})
			continue
		}
		cg.g.Connect(n, node{kind: nkProvider, prov: rr.provider})
	}
	e.setImplied(implied)
	if diags.HasErrors() {
		return cg, diags
	}
	if cycles := cg.g.Cycles(nodeLess); len(cycles) > 0 {
		for _, cyc := range cycles {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Dependency cycle",
				Detail:   fmt.Sprintf("These objects depend on each other in a cycle: %s. Break the cycle by removing one of these references.", cyclePath(cyc)),
				Subject:  e.nodeRange(cyc[0]),
			})
		}
		return cg, diags
	}
	// Resource dependencies, through locals, for recorded dependencies and destroy order.
	for _, r := range cfg.SortedResources() {
		seen := map[addrs.Resource]bool{}
		var visit func(n node)
		visited := map[node]bool{}
		visit = func(n node) {
			if visited[n] {
				return
			}
			visited[n] = true
			for _, d := range cg.g.DependenciesOf(n) {
				switch d.kind {
				case nkResource:
					seen[d.res] = true
				case nkLocal:
					visit(d)
				}
			}
		}
		visit(node{kind: nkResource, res: r.Addr})
		deps := make([]addrs.Resource, 0, len(seen))
		for d := range seen {
			deps = append(deps, d)
		}
		sort.Slice(deps, func(i, j int) bool { return deps[i].Less(deps[j]) })
		cg.resourceDeps[r.Addr] = deps
	}
	return cg, diags
}

func (e *Engine) nodeRange(n node) *hcl.Range {
	switch n.kind {
	case nkLocal:
		if l, ok := e.cfg.Locals[n.name]; ok {
			return l.DeclRange.Ptr()
		}
	case nkOutput:
		if o, ok := e.cfg.Outputs[n.name]; ok {
			return o.DeclRange.Ptr()
		}
	case nkProvider:
		if p := e.providerConfig(n.prov); p != nil {
			return p.DeclRange.Ptr()
		}
	case nkResource, nkDestroy:
		if r, ok := e.cfg.Resources[n.res]; ok {
			return r.DeclRange.Ptr()
		}
	}
	return nil
}

// staticIgnoreList reads `ignore_changes = [a, b.c]` or `= all` written
// as bare attribute names. It returns false when the expression must be
// evaluated (it uses variables or locals).
func staticIgnoreList(expr hcl.Expression) ([]string, bool) {
	if tr, ds := hcl.AbsTraversalForExpr(expr); !ds.HasErrors() && len(tr) == 1 && tr.RootName() == "all" {
		return []string{"all"}, true
	}
	exprs, ds := hcl.ExprList(expr)
	if ds.HasErrors() {
		return nil, false
	}
	var out []string
	for _, x := range exprs {
		tr, ds := hcl.AbsTraversalForExpr(x)
		if ds.HasErrors() {
			return nil, false
		}
		if root := tr.RootName(); root == "var" || root == "local" {
			return nil, false
		}
		parts := []string{tr.RootName()}
		for _, step := range tr[1:] {
			if a, ok := step.(hcl.TraverseAttr); ok {
				parts = append(parts, a.Name)
			}
		}
		out = append(out, strings.Join(parts, "."))
	}
	return out, true
}

// prepareGraph starts the providers the configuration and the recorded
// objects need, builds the dependency graph and upgrades recorded objects
// to their providers' current schemas: what every walk does first.
func (e *Engine) prepareGraph(ctx context.Context, recorded map[addrs.Resource]*recordedResource) (*configGraph, hcl.Diagnostics) {
	diags := e.startProviders(ctx, recorded)
	if diags.HasErrors() {
		return nil, diags
	}
	cg, ds := e.buildGraph(ctx, recorded)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return cg, diags
	}
	return cg, append(diags, e.upgradeRecorded(ctx, recorded)...)
}

// sortedProviders lists provider configuration addresses in order.
func sortedProviders(m map[addrs.ProviderConfig]*configs.Provider) []addrs.ProviderConfig {
	out := make([]addrs.ProviderConfig, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b addrs.ProviderConfig) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// setImplied records the provider configurations implied by recorded
// objects (an un-aliased provider with no block).
func (e *Engine) setImplied(implied map[addrs.ProviderConfig]*configs.Provider) {
	e.mu.Lock()
	e.implied = implied
	e.mu.Unlock()
}

// providerConfig is the configuration of the provider at addr: its block,
// or the empty one implied for recorded objects; nil when there is none.
func (e *Engine) providerConfig(addr addrs.ProviderConfig) *configs.Provider {
	if p, ok := e.cfg.ProviderConfigs[addr]; ok {
		return p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.implied[addr]
}

// cyclePath writes a cycle as "a -> b -> c -> a".
func cyclePath(cyc []node) string {
	names := make([]string, 0, len(cyc)+1)
	for _, n := range cyc {
		names = append(names, n.String())
	}
	if len(cyc) > 0 {
		names = append(names, cyc[0].String())
	}
	return strings.Join(names, " -> ")
}
