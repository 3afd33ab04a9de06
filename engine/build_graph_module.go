package engine

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/lang"
)

// addModuleCall adds the call node of the module being built (none for
// the root): it depends on what its arguments, count, for_each and
// depends_on refer to in the calling module, and on the call of the
// calling module.
func (b *graphBuilder) addModuleCall() {
	m := b.cfg
	call := m.Call()
	if call == nil {
		return
	}
	n := node{kind: nkModule, mod: m.Path}
	b.cg.g.Add(n)
	parent := m.Parent
	if !parent.Path.IsRoot() {
		b.cg.g.Connect(n, node{kind: nkModule, mod: parent.Path})
	}
	var exprs []hcl.Expression
	for _, name := range slices.Sorted(maps.Keys(call.Inputs)) {
		exprs = append(exprs, call.Inputs[name].Expr)
	}
	exprs = append(exprs, call.Count, call.ForEach)
	saved := b.cfg
	b.cfg = parent
	b.connect(n, b.exprRefs(exprs...))
	b.connectDependsOn(n, call.DependsOn)
	b.cfg = saved
}

// connectModule connects from to what a reference to a module call
// needs: the output it names, or every output of the module (and its
// call, for its expansion). In depends_on (from is not an output or a
// local), a whole module also means every resource in it.
func (b *graphBuilder) connectModule(m *configs.Config, from node, ref lang.ModuleRef, rng hcl.Range) {
	child := m.Children[ref.Name]
	if child == nil {
		if _, called := m.ModuleCalls[ref.Name]; called {
			return // the module failed to load: reported already
		}
		b.diags = append(b.diags, undeclaredModule(m, ref.Name, rng))
		return
	}
	b.cg.g.Connect(from, node{kind: nkModule, mod: child.Path})
	if ref.Output != "" {
		if _, ok := child.Outputs[ref.Output]; !ok {
			b.diags = append(b.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference to undeclared module output",
				Detail:   fmt.Sprintf("%s has no output %q (its outputs: %s). Declare it in the module, or correct the name.", child.Path, ref.Output, outputList(child)),
				Subject:  rng.Ptr(),
			})
			return
		}
		b.cg.g.Connect(from, node{kind: nkOutput, mod: child.Path, name: ref.Output})
		return
	}
	for _, name := range slices.Sorted(maps.Keys(child.Outputs)) {
		b.cg.g.Connect(from, node{kind: nkOutput, mod: child.Path, name: name})
	}
}

// connectDependsOn connects from to what a depends_on list names; a
// module there means every resource in it.
func (b *graphBuilder) connectDependsOn(from node, trs []hcl.Traversal) {
	for _, ref := range b.dependsOnRefs(trs) {
		if mr, ok := ref.Subject.(lang.ModuleRef); ok {
			if child := b.cfg.Children[mr.Name]; child != nil {
				b.dependsOnModule(from, child)
			}
		}
		b.connect(from, []*lang.Reference{ref})
	}
}

// dependsOnModule connects from to every resource in the module at
// child (and the modules it calls), for depends_on = [module.x].
func (b *graphBuilder) dependsOnModule(from node, child *configs.Config) {
	child.Walk(func(c *configs.Config) {
		for _, r := range c.SortedResources() {
			b.cg.g.Connect(from, node{kind: nkResource, res: r.Addr})
		}
	})
}

func outputList(c *configs.Config) string {
	names := slices.Sorted(maps.Keys(c.Outputs))
	if len(names) == 0 {
		return "none"
	}
	return fmt.Sprint(names)
}
