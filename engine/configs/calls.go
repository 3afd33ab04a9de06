package configs

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/llmops/llmops/addrs"
)

// ModuleCallsIn reads only the module blocks of the module in dir (at
// path p of the tree): what `llmops init` needs to fetch modules before
// the whole configuration can load. File names in diagnostics are
// relative to root.
func ModuleCallsIn(root, dir string, p addrs.Module) (map[string]*ModuleCall, hcl.Diagnostics) {
	abs, srcs, diags := readDir(dir)
	c := &Config{Path: p, Dir: abs, ModuleCalls: map[string]*ModuleCall{}}
	if diags.HasErrors() {
		return c.ModuleCalls, diags
	}
	parser := hclparse.NewParser()
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"name"}}}}
	for _, n := range sortedNames(srcs) {
		name := relName(root, abs, n)
		if ds := CheckNesting(srcs[n], name); ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		f, ds := parser.ParseHCL(srcs[n], name)
		diags = append(diags, ds...)
		if f == nil || ds.HasErrors() {
			continue
		}
		content, _, ds := f.Body.PartialContent(schema)
		diags = append(diags, ds...)
		for _, b := range content.Blocks {
			diags = append(diags, c.addModuleCall(b)...)
		}
	}
	return c.ModuleCalls, diags
}
