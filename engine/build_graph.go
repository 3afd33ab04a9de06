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

// graphBuilder builds the dependency graph of a configuration, one kind
// of block at a time, collecting diagnostics. Everything is visited in
// sorted order, so that diagnostics and the graph come out the same on
// every run. It reads the configuration and never changes it.
type graphBuilder struct {
	e     *Engine
	root  *configs.Config
	cfg   *configs.Config // the module being added
	cg    *configGraph
	diags hcl.Diagnostics
	// recorded is the prior state (nil when validating), for the
	// warnings of prior-state references.
	recorded map[addrs.Resource]*recordedResource
	// notRecorded are the prior-state references to objects the prior
	// state does not hold, resolved once every other edge is known.
	notRecorded []priorRefUse
}

// buildGraph builds the graph of the configuration: one node per local,
// output, provider configuration and resource, with an edge for every
// reference and depends_on. Orphans (recorded resources no longer
// configured) get a node that depends on their provider.
func (e *Engine) buildGraph(ctx context.Context, recorded map[addrs.Resource]*recordedResource) (*configGraph, hcl.Diagnostics) {
	b := &graphBuilder{e: e, root: e.cfg, cfg: e.cfg, cg: &configGraph{
		g:            graph.New[node](),
		resourceDeps: map[addrs.Resource][]addrs.Resource{},
		schemas:      map[addrs.Resource]*protocol.Schema{},
		bodies:       map[addrs.Resource]*resourceBody{},
	}, recorded: recorded}
	b.addProviders(ctx)
	e.cfg.Walk(func(m *configs.Config) {
		b.cfg = m
		b.addModuleCall()
		b.addLocals()
		b.addOutputs()
		for _, r := range m.SortedResources() {
			b.addResource(ctx, r)
		}
	})
	b.cfg = e.cfg
	e.setImplied(b.addOrphans(recorded))
	b.resolvePriorRefs()
	if b.diags.HasErrors() || b.checkCycles() {
		return b.cg, b.diags
	}
	b.resourceDependencies()
	return b.cg, b.diags
}

func (b *graphBuilder) addLocals() {
	for _, name := range slices.Sorted(maps.Keys(b.cfg.Locals)) {
		n := node{kind: nkLocal, mod: b.cfg.Path, name: name}
		b.add(n)
		b.connect(n, b.exprRefs(b.cfg.Locals[name].Expr))
	}
}

func (b *graphBuilder) addOutputs() {
	for _, name := range slices.Sorted(maps.Keys(b.cfg.Outputs)) {
		o := b.cfg.Outputs[name]
		n := node{kind: nkOutput, mod: b.cfg.Path, name: name}
		b.add(n)
		b.connect(n, b.exprRefs(o.Expr))
		b.connectDependsOn(n, o.DependsOn)
	}
}

// add adds a node of the module being built; inside a module, it
// depends on the module's call (which expands the module and sets its
// variables).
func (b *graphBuilder) add(n node) {
	b.cg.g.Add(n)
	if !b.cfg.Path.IsRoot() {
		b.cg.g.Connect(n, node{kind: nkModule, mod: b.cfg.Path})
	}
}

// addProviders adds the provider configurations, with the references of
// their blocks (decoded against each provider's schema).
func (b *graphBuilder) addProviders(ctx context.Context) {
	for _, addr := range sortedProviders(b.cfg.ProviderConfigs) {
		p := b.cfg.ProviderConfigs[addr]
		n := node{kind: nkProvider, prov: addr}
		b.cg.g.Add(n)
		pi, err := b.e.providers.get(ctx, addr)
		if err != nil {
			continue // reported by startProviders
		}
		if pi.schema.Provider != nil && pi.schema.Provider.Block != nil {
			refs, ds := lang.References(hcldec.Variables(p.Config, DecoderSpec(pi.schema.Provider.Block)))
			b.diags = append(b.diags, ds...)
			b.connect(n, refs)
		}
	}
}

// addResource adds one configured resource: its provider (and placement
// candidates), its meta-arguments and its body's references.
func (b *graphBuilder) addResource(ctx context.Context, r *configs.Resource) {
	n := node{kind: nkResource, res: r.Addr}
	b.add(n)
	b.cg.g.Connect(n, node{kind: nkProvider, prov: r.Provider})
	if r.Placement != nil {
		for _, c := range r.Placement.Candidates {
			b.cg.g.Connect(n, node{kind: nkProvider, prov: c})
		}
		b.connect(n, b.exprRefs(r.Placement.Strategy, r.Placement.MaxHourlyCost))
	}
	b.connect(n, b.exprRefs(r.Count, r.ForEach, r.Lifecycle.PreventDestroy, r.Lifecycle.CreateBeforeDestroy))
	if r.Lifecycle.IgnoreChanges != nil {
		if _, static := staticIgnoreList(r.Lifecycle.IgnoreChanges); !static {
			b.connect(n, b.exprRefs(r.Lifecycle.IgnoreChanges))
		}
	}
	b.connectDependsOn(n, r.DependsOn)
	pi, err := b.e.providers.get(ctx, r.Provider)
	if err != nil {
		return // reported by startProviders
	}
	schema, ds := pi.schemaOf(r)
	b.diags = append(b.diags, ds...)
	if schema == nil {
		return
	}
	b.cg.schemas[r.Addr] = schema
	spec := DecoderSpec(schema.Block)
	refs, ds := lang.References(hcldec.Variables(r.Config, spec))
	b.diags = append(b.diags, ds...)
	if len(ds) == 0 {
		b.cg.bodies[r.Addr] = &resourceBody{cfg: r, schema: schema, spec: spec, refs: refs}
	}
	for _, ref := range refs {
		if rr, ok := ref.Subject.(lang.ResourceRef); ok && rr.Resource.InModule(r.Addr.Module) == r.Addr {
			b.diags = append(b.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Self-referential block",
				Detail:   fmt.Sprintf("%s refers to itself. A block cannot use its own attributes; use a local value or another resource.", r.Addr),
				Subject:  ref.Range.Ptr(),
			})
		}
	}
	b.connect(n, refs)
	if r.Placement != nil {
		refs, ds := b.e.candidateRefs(ctx, r)
		b.diags = append(b.diags, ds...)
		b.connect(n, refs)
	}
}

// addOrphans adds the recorded resources no longer configured, destroyed
// through the provider that recorded them: an un-aliased provider needs
// no block (its empty configuration is implied, and returned, without
// changing the loaded configuration).
func (b *graphBuilder) addOrphans(recorded map[addrs.Resource]*recordedResource) map[addrs.ProviderConfig]*configs.Provider {
	implied := map[addrs.ProviderConfig]*configs.Provider{}
	orphanProv := map[addrs.Resource]addrs.ProviderConfig{}
	for addr, rr := range recorded {
		if b.root.Resource(addr) == nil {
			orphanProv[addr.Config()] = rr.provider
		}
	}
	orphans := slices.Collect(maps.Keys(orphanProv))
	slices.SortFunc(orphans, func(x, y addrs.Resource) int { return strings.Compare(x.String(), y.String()) })
	for _, addr := range orphans {
		prov := orphanProv[addr]
		n := node{kind: nkResource, res: addr}
		b.cg.g.Add(n)
		_, declared := b.root.ProviderConfigs[prov]
		if !declared && prov.Alias == "" && implied[prov] == nil {
			implied[prov] = &configs.Provider{Addr: prov, Config: hcl.EmptyBody(), Implied: true}
			b.cg.g.Add(node{kind: nkProvider, prov: prov})
		}
		if !declared && implied[prov] == nil {
			b.diags = append(b.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Provider configuration not present",
				Detail:   fmt.Sprintf("%s was created with provider %s, whose configuration is no longer declared. To destroy it, put the provider block back, apply, then remove it.", addr, prov),
			})
			continue
		}
		b.cg.g.Connect(n, node{kind: nkProvider, prov: prov})
	}
	return implied
}

// checkCycles reports every dependency cycle as a path of real edges; it
// returns true when there is one.
func (b *graphBuilder) checkCycles() bool {
	cycles := b.cg.g.Cycles(nodeLess)
	for _, cyc := range cycles {
		b.diags = append(b.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle",
			Detail:   fmt.Sprintf("These objects depend on each other in a cycle: %s. Break the cycle by removing one of these references.", cyclePath(cyc)),
			Subject:  b.e.nodeRange(cyc[0]),
		})
	}
	return len(cycles) > 0
}

// resourceDependencies records, per resource, the resources it depends
// on directly or through locals (recorded with its objects, and the
// order of destroys).
func (b *graphBuilder) resourceDependencies() {
	for _, r := range b.root.AllResources() {
		seen := map[addrs.Resource]bool{}
		visited := map[node]bool{}
		var visit func(n node)
		visit = func(n node) {
			if visited[n] {
				return
			}
			visited[n] = true
			for _, d := range b.cg.g.DependenciesOf(n) {
				switch d.kind {
				case nkResource:
					if d.res.IsData() {
						// A data source is read, not recorded: what it
						// depends on is what depends on it depends on.
						visit(d)
						break
					}
					seen[d.res] = true
				case nkLocal, nkModule:
					visit(d)
				case nkOutput:
					if !d.mod.IsRoot() {
						visit(d)
					}
				}
			}
		}
		visit(node{kind: nkResource, res: r.Addr})
		deps := make([]addrs.Resource, 0, len(seen))
		for d := range seen {
			deps = append(deps, d)
		}
		sort.Slice(deps, func(i, j int) bool { return deps[i].Less(deps[j]) })
		b.cg.resourceDeps[r.Addr] = deps
	}
}

// connect adds an edge from n to each local, resource and module output
// it refers to (references are resolved in the module being built), and
// reports references to what is not declared.
func (b *graphBuilder) connect(from node, refs []*lang.Reference) {
	b.connectIn(b.cfg, from, refs)
}

func (b *graphBuilder) connectIn(m *configs.Config, from node, refs []*lang.Reference) {
	for _, ref := range refs {
		switch s := ref.Subject.(type) {
		case lang.LocalRef:
			if _, ok := m.Locals[s.Name]; !ok {
				b.diags = append(b.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared local value",
					Detail:   fmt.Sprintf("No local value named %q is declared in a locals block%s. Declare it, or correct the name.", s.Name, inModule(m)),
					Subject:  ref.Range.Ptr(),
				})
				continue
			}
			b.cg.g.Connect(from, node{kind: nkLocal, mod: m.Path, name: s.Name})
		case lang.VarRef:
			if _, ok := m.Variables[s.Name]; !ok {
				b.diags = append(b.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared input variable",
					Detail:   fmt.Sprintf("An input variable named %q is not declared%s. Add a variable %q block, or correct the name.", s.Name, inModule(m), s.Name),
					Subject:  ref.Range.Ptr(),
				})
			}
		case lang.ResourceRef:
			addr := s.Resource.InModule(m.Path.UnkeyedInstance())
			if _, ok := m.Resources[addr]; !ok {
				b.diags = append(b.diags, undeclaredResource(addr, ref.Range))
				continue
			}
			if a, ok := priorStateRef(ref); ok {
				// Reads the prior state: no edge (prior_refs.go), but
				// waits for an object not recorded yet, unless that
				// closes a cycle (resolvePriorRefs).
				if b.recorded != nil && !recordedConfig(b.recorded, addr) {
					b.notRecorded = append(b.notRecorded, priorRefUse{from: from, to: addr, attr: a, rng: ref.Range})
				}
				continue
			}
			b.cg.g.Connect(from, node{kind: nkResource, res: addr})
		case lang.ModuleRef:
			b.connectModule(m, from, s, ref.Range)
		}
	}
}

func (b *graphBuilder) exprRefs(exprs ...hcl.Expression) []*lang.Reference {
	var out []*lang.Reference
	for _, x := range exprs {
		refs, ds := lang.ExprReferences(x)
		b.diags = append(b.diags, ds...)
		out = append(out, refs...)
	}
	return out
}

// dependsOnRefs parses a depends_on list; it lists resources only.
func (b *graphBuilder) dependsOnRefs(trs []hcl.Traversal) []*lang.Reference {
	var out []*lang.Reference
	for _, tr := range trs {
		ref, ds := lang.ParseRef(tr)
		b.diags = append(b.diags, ds...)
		if ref == nil {
			continue
		}
		if mr, ok := ref.Subject.(lang.ModuleRef); ok && mr.Output == "" {
			out = append(out, ref)
			continue
		}
		if _, ok := ref.Subject.(lang.ResourceRef); !ok {
			b.diags = append(b.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on reference",
				Detail:   "depends_on lists resources, lifecycle objects and modules, such as training_run.ft or module.bot; " + ref.Subject.String() + " is not one.",
				Subject:  ref.Range.Ptr(),
			})
			continue
		}
		out = append(out, ref)
	}
	return out
}
