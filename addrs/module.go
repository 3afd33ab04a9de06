package addrs

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// ModuleInstance is the path of one instance of a module: empty for the
// root module, `module.support_bot["en"]` for an instance of a module
// call with for_each, `module.a.module.b` for a nested call. It is held
// in its canonical spelling, so that it stays comparable (a map key, part
// of a ResourceInstance) and costs nothing to print.
type ModuleInstance struct{ path string }

// RootModuleInstance is the root module's only instance.
var RootModuleInstance = ModuleInstance{}

// ModuleInstanceStep is one call in a module instance path.
type ModuleInstanceStep struct {
	Name string
	Key  InstanceKey
}

func (s ModuleInstanceStep) String() string {
	if s.Key == nil || s.Key == NoKey {
		return "module." + s.Name
	}
	return "module." + s.Name + s.Key.String()
}

// IsRoot reports whether m is the root module.
func (m ModuleInstance) IsRoot() bool { return m.path == "" }

// String is the canonical spelling, "" for the root.
func (m ModuleInstance) String() string { return m.path }

// Child is the instance of the module call name (with key) inside m.
func (m ModuleInstance) Child(name string, key InstanceKey) ModuleInstance {
	s := ModuleInstanceStep{Name: name, Key: key}.String()
	if m.path == "" {
		return ModuleInstance{path: s}
	}
	return ModuleInstance{path: m.path + "." + s}
}

// Steps are the module calls of the path, outermost first.
func (m ModuleInstance) Steps() []ModuleInstanceStep {
	if m.path == "" {
		return nil
	}
	if v, ok := stepCache.Load(m.path); ok {
		return v.([]ModuleInstanceStep)
	}
	steps, rest, err := parseModuleSteps(mustTraversal(m.path))
	if err != nil || len(rest) > 0 {
		panic(fmt.Sprintf("addrs: invalid module instance %q", m.path))
	}
	stepCache.Store(m.path, steps)
	return steps
}

var stepCache sync.Map

func mustTraversal(s string) hcl.Traversal {
	tr, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		panic(fmt.Sprintf("addrs: invalid path %q", s))
	}
	return tr
}

// Parent is the module instance that calls m, with the call's step; the
// root has no parent (ok false).
func (m ModuleInstance) Parent() (parent ModuleInstance, last ModuleInstanceStep, ok bool) {
	steps := m.Steps()
	if len(steps) == 0 {
		return m, ModuleInstanceStep{}, false
	}
	for _, s := range steps[:len(steps)-1] {
		parent = parent.Child(s.Name, s.Key)
	}
	return parent, steps[len(steps)-1], true
}

// Module is the static path of m: the same calls without instance keys.
func (m ModuleInstance) Module() Module {
	var out Module
	for _, s := range m.Steps() {
		out = out.Child(s.Name)
	}
	return out
}

// Contains reports whether o is m or an instance nested inside m.
func (m ModuleInstance) Contains(o ModuleInstance) bool {
	return m.path == "" || o.path == m.path || strings.HasPrefix(o.path, m.path+".")
}

// Less orders module instances: the root first, then by their steps.
func (m ModuleInstance) Less(o ModuleInstance) bool {
	a, b := m.Steps(), o.Steps()
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].Name != b[i].Name {
			return a[i].Name < b[i].Name
		}
		if a[i].Key != b[i].Key {
			return KeyLess(orNoKey(a[i].Key), orNoKey(b[i].Key))
		}
	}
	return len(a) < len(b)
}

func orNoKey(k InstanceKey) InstanceKey {
	if k == nil {
		return NoKey
	}
	return k
}

// Module is the static path of a module in the configuration tree:
// empty for the root, `module.a.module.b` for a nested call. It names a
// module block, whatever count or for_each make of it.
type Module struct{ path string }

// RootModule is the root module's path.
var RootModule = Module{}

// IsRoot reports whether m is the root module.
func (m Module) IsRoot() bool { return m.path == "" }

func (m Module) String() string { return m.path }

// Child is the module called name inside m.
func (m Module) Child(name string) Module {
	if m.path == "" {
		return Module{path: "module." + name}
	}
	return Module{path: m.path + ".module." + name}
}

// Names are the call names of the path, outermost first.
func (m Module) Names() []string {
	if m.path == "" {
		return nil
	}
	parts := strings.Split(m.path, ".")
	out := make([]string, 0, len(parts)/2)
	for i := 1; i < len(parts); i += 2 {
		out = append(out, parts[i])
	}
	return out
}

// Parent is the module that calls m and the call's name; the root has none.
func (m Module) Parent() (Module, string, bool) {
	names := m.Names()
	if len(names) == 0 {
		return m, "", false
	}
	var p Module
	for _, n := range names[:len(names)-1] {
		p = p.Child(n)
	}
	return p, names[len(names)-1], true
}

// UnkeyedInstance is the instance of m whose calls have no keys: the only
// instance when no call on the path sets count or for_each. Configuration
// addresses (graph nodes, recorded dependencies) use it.
func (m Module) UnkeyedInstance() ModuleInstance { return ModuleInstance{path: m.path} }

// ParseModuleInstance parses `module.a["x"].module.b` ("" is the root).
func ParseModuleInstance(s string) (ModuleInstance, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return RootModuleInstance, nil
	}
	tr, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return ModuleInstance{}, fmt.Errorf("invalid module address %q: %s", s, diags[0].Summary)
	}
	steps, rest, err := parseModuleSteps(tr)
	if err != nil {
		return ModuleInstance{}, fmt.Errorf("invalid module address %q: %s", s, err)
	}
	if len(rest) > 0 || len(steps) == 0 {
		return ModuleInstance{}, fmt.Errorf("invalid module address %q: want module.NAME, module.NAME[KEY], module.A.module.B", s)
	}
	var m ModuleInstance
	for _, st := range steps {
		m = m.Child(st.Name, st.Key)
	}
	return m, nil
}

// parseModuleSteps reads the leading `module.NAME[KEY]` steps of a
// traversal and returns what follows them (as a relative traversal whose
// first step is a root).
func parseModuleSteps(tr hcl.Traversal) ([]ModuleInstanceStep, hcl.Traversal, error) {
	var steps []ModuleInstanceStep
	i := 0
	for i < len(tr) && stepName(tr[i]) == "module" {
		if i+1 >= len(tr) {
			return nil, nil, fmt.Errorf("module must be followed by a module name")
		}
		a, ok := tr[i+1].(hcl.TraverseAttr)
		if !ok {
			return nil, nil, fmt.Errorf("module must be followed by .NAME")
		}
		st := ModuleInstanceStep{Name: a.Name, Key: NoKey}
		i += 2
		if i < len(tr) {
			if idx, ok := tr[i].(hcl.TraverseIndex); ok {
				k, err := KeyFromValue(idx.Key)
				if err != nil {
					return nil, nil, err
				}
				st.Key = k
				i++
			}
		}
		steps = append(steps, st)
	}
	rest := tr[i:]
	if len(rest) > 0 && i > 0 {
		a, ok := rest[0].(hcl.TraverseAttr)
		if !ok {
			return nil, nil, fmt.Errorf("an index must follow a module name")
		}
		rest = append(hcl.Traversal{hcl.TraverseRoot{Name: a.Name, SrcRange: a.SrcRange}}, rest[1:]...)
	}
	return steps, rest, nil
}

// stepName is the name of a root or attribute step ("" for an index).
func stepName(t hcl.Traverser) string {
	switch s := t.(type) {
	case hcl.TraverseRoot:
		return s.Name
	case hcl.TraverseAttr:
		return s.Name
	}
	return ""
}
