package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// GraphDOT renders the configuration's dependency graph in Graphviz DOT:
// an edge a -> b means a depends on b.
func (e *Engine) GraphDOT(ctx context.Context) (string, hcl.Diagnostics) {
	diags := e.startProviders(ctx, nil)
	if diags.HasErrors() {
		return "", diags
	}
	cg, ds := e.buildGraph(ctx, nil)
	diags = append(diags, ds...)
	if cg == nil || diags.HasErrors() {
		return "", diags
	}
	var b strings.Builder
	b.WriteString("digraph llmops {\n  rankdir = \"RL\";\n  node [shape = box];\n")
	nodes := cg.g.Nodes()
	sort.Slice(nodes, func(i, j int) bool { return nodeLess(nodes[i], nodes[j]) })
	for _, n := range nodes {
		shape := "box"
		switch n.kind {
		case nkLocal, nkOutput:
			shape = "note"
		case nkProvider:
			shape = "diamond"
		case nkModule:
			shape = "folder"
		}
		fmt.Fprintf(&b, "  %q [shape = %s];\n", n.String(), shape)
	}
	for _, n := range nodes {
		deps := cg.g.DependenciesOf(n)
		sort.Slice(deps, func(i, j int) bool { return nodeLess(deps[i], deps[j]) })
		for _, d := range deps {
			fmt.Fprintf(&b, "  %q -> %q;\n", n.String(), d.String())
		}
	}
	b.WriteString("}\n")
	return b.String(), diags
}
