package engine

import (
	"context"
	"fmt"
	"slices"
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
	nkModule  // a module call: its expansion and its instances' variables
)

// node is a vertex of the dependency graph. Locals and outputs are
// those of module mod (the root when empty), a module call node is the
// call of mod, and a resource node is a configuration address (its
// module path has no instance keys): each node stands for every instance
// of what it names.
type node struct {
	kind nodeKind
	mod  addrs.Module
	name string // local or output name
	res  addrs.Resource
	prov addrs.ProviderConfig
}

func (n node) String() string {
	prefix := ""
	if !n.mod.IsRoot() {
		prefix = n.mod.String() + "."
	}
	switch n.kind {
	case nkLocal:
		return prefix + "local." + n.name
	case nkOutput:
		return prefix + "output." + n.name
	case nkModule:
		return n.mod.String()
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
	// bodies are the decoder spec and references of each resource's
	// configuration block, found while building the graph and reused by
	// every evaluation of its instances.
	bodies map[addrs.Resource]*resourceBody
}

// resourceBody is what evaluating a resource's configuration block needs
// beside its scope: the decoder spec of its schema and the references in
// the block under that spec.
type resourceBody struct {
	// cfg and schema are what spec and refs were found for: an instance
	// evaluated with another (a placement candidate's) finds its own.
	cfg    *configs.Resource
	schema *protocol.Schema
	spec   hcldec.ObjectSpec
	refs   []*lang.Reference
}

// resourceProvider returns the started provider of a configured resource.
func (e *Engine) resourceProvider(ctx context.Context, r *configs.Resource) (*providerInstance, hcl.Diagnostics) {
	pi, err := e.providers.get(ctx, r.Provider)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot start provider %s", r.Provider), Detail: err.Error(), Subject: r.DeclRange.Ptr()}}
	}
	return pi, nil
}

func (e *Engine) nodeRange(n node) *hcl.Range {
	m := e.cfg.Descendant(n.mod)
	switch n.kind {
	case nkLocal:
		if l, ok := m.Locals[n.name]; ok {
			return l.DeclRange.Ptr()
		}
	case nkOutput:
		if o, ok := m.Outputs[n.name]; ok {
			return o.DeclRange.Ptr()
		}
	case nkModule:
		if c := m.Call(); c != nil {
			return c.DeclRange.Ptr()
		}
	case nkProvider:
		if p := e.providerConfig(n.prov); p != nil {
			return p.DeclRange.Ptr()
		}
	case nkResource, nkDestroy:
		if r := e.cfg.Resource(n.res); r != nil {
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
	diags := e.applyMoves(recorded)
	if diags.HasErrors() {
		return nil, diags
	}
	diags = append(diags, e.startProviders(ctx, recorded)...)
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
