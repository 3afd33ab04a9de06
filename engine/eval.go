package engine

import (
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/lang"
)

// evalData holds the values known so far in a walk, for every module
// instance: variables, locals, resources and module outputs are filled in
// as their nodes finish; the graph guarantees that a value is set before
// anything reads it. moduleData is the lang.Data of one module instance.
type evalData struct {
	cfg  *configs.Config // the root module
	vars cty.Value       // the root module's variables

	mu        sync.RWMutex
	locals    map[localKey]cty.Value
	resources map[addrs.Resource]cty.Value
	// instances holds per-instance values, used to assemble resource values.
	instances map[addrs.Resource]map[addrs.InstanceKey]cty.Value
	// modVars are the variables of each module instance but the root.
	modVars map[addrs.ModuleInstance]cty.Value
	// modOutputs are the outputs of each module instance but the root.
	modOutputs map[addrs.ModuleInstance]map[string]cty.Value
	// modInstances are the instances of each module of the tree; the
	// root's is implied.
	modInstances map[addrs.Module][]addrs.ModuleInstance
	// calls is how each module call expanded in each calling instance.
	calls map[callKey]callExpansion
	// unknownResources makes every resource value unknown (validate).
	unknownResources func(addrs.Resource) cty.Value
	// workspace is llmops.workspace.
	workspace string
	// prior is the state as it was before this run, which prior-state
	// references read (prior_refs.go).
	prior map[addrs.Resource]*recordedResource
	// types are the object types of the configuration's resources (by
	// configuration address), for the value of a resource this walk has
	// not evaluated (prior_refs.go).
	types map[addrs.Resource]cty.Type
}

type localKey struct {
	mod  addrs.ModuleInstance
	name string
}

type callKey struct {
	in   addrs.ModuleInstance
	name string
}

type callExpansion struct {
	exp  expansion
	keys []addrs.InstanceKey
}

func newEvalData(cfg *configs.Config, vars map[string]cty.Value) *evalData {
	vm := make(map[string]cty.Value, len(vars))
	for k, v := range vars {
		vm[k] = v
	}
	return &evalData{
		cfg:          cfg,
		vars:         cty.ObjectVal(vm),
		locals:       map[localKey]cty.Value{},
		resources:    map[addrs.Resource]cty.Value{},
		instances:    map[addrs.Resource]map[addrs.InstanceKey]cty.Value{},
		modVars:      map[addrs.ModuleInstance]cty.Value{},
		modOutputs:   map[addrs.ModuleInstance]map[string]cty.Value{},
		modInstances: map[addrs.Module][]addrs.ModuleInstance{},
		calls:        map[callKey]callExpansion{},
	}
}

// moduleData is the lang.Data of one module instance: references inside
// the module resolve to its own variables, locals, resources and calls.
type moduleData struct {
	d   *evalData
	mod addrs.ModuleInstance
	cfg *configs.Config
}

func (m moduleData) Variables() cty.Value {
	if m.mod.IsRoot() {
		return m.d.vars
	}
	m.d.mu.RLock()
	defer m.d.mu.RUnlock()
	if v, ok := m.d.modVars[m.mod]; ok {
		return v
	}
	// Not evaluated (validate of a module whose call failed): every
	// declared variable is unknown.
	vs := map[string]cty.Value{}
	for n := range m.cfg.Variables {
		vs[n] = cty.DynamicVal
	}
	return cty.ObjectVal(vs)
}

func (m moduleData) GetLocal(ref lang.LocalRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if _, ok := m.cfg.Locals[ref.Name]; !ok {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared local value",
			Detail:   fmt.Sprintf("No local value named %q is declared in a locals block%s. Declare it, or correct the name.", ref.Name, inModule(m.cfg)),
			Subject:  rng.Ptr(),
		}}
	}
	m.d.mu.RLock()
	defer m.d.mu.RUnlock()
	if v, ok := m.d.locals[localKey{m.mod, ref.Name}]; ok {
		return v, nil
	}
	return cty.DynamicVal, nil
}

func (m moduleData) GetResource(ref lang.ResourceRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	cfgAddr := ref.Resource.InModule(m.cfg.Path.UnkeyedInstance())
	rc, ok := m.cfg.Resources[cfgAddr]
	if !ok {
		return cty.DynamicVal, hcl.Diagnostics{undeclaredResource(cfgAddr, rng)}
	}
	if m.d.unknownResources != nil {
		return m.d.unknownResources(cfgAddr), nil
	}
	m.d.mu.RLock()
	defer m.d.mu.RUnlock()
	if attrs := priorAttrsOf(cfgAddr); len(attrs) > 0 {
		return m.d.withPrior(ref.Resource.InModule(m.mod), cfgAddr, rc, attrs), nil
	}
	if v, ok := m.d.resources[ref.Resource.InModule(m.mod)]; ok {
		return v, nil
	}
	return cty.DynamicVal, nil
}

func (m moduleData) GetModule(ref lang.ModuleRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	child := m.cfg.Children[ref.Name]
	if child == nil {
		return cty.DynamicVal, hcl.Diagnostics{undeclaredModule(m.cfg, ref.Name, rng)}
	}
	m.d.mu.RLock()
	defer m.d.mu.RUnlock()
	ce, ok := m.d.calls[callKey{m.mod, ref.Name}]
	if !ok {
		return cty.DynamicVal, nil
	}
	insts := make(map[addrs.InstanceKey]cty.Value, len(ce.keys))
	for _, k := range ce.keys {
		outs := m.d.modOutputs[m.mod.Child(ref.Name, k)]
		attrs := make(map[string]cty.Value, len(child.Outputs))
		for n := range child.Outputs {
			v, ok := outs[n]
			if !ok {
				v = cty.DynamicVal
			}
			attrs[n] = v
		}
		insts[k] = cty.ObjectVal(attrs)
	}
	return assemble(ce.exp, insts), nil
}

func undeclaredModule(cfg *configs.Config, name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared module",
		Detail:   fmt.Sprintf("No module %q is called%s. Add a module %q block, or correct the name.", name, inModule(cfg), name),
		Subject:  rng.Ptr(),
	}
}

// inModule is " in module.x" for a module, "" for the root.
func inModule(cfg *configs.Config) string {
	if cfg == nil || cfg.Path.IsRoot() {
		return ""
	}
	return " in " + cfg.Path.String()
}

func undeclaredResource(r addrs.Resource, rng hcl.Range) *hcl.Diagnostic {
	what := "resource"
	if r.IsKind() {
		what = r.Type
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Reference to undeclared %s", what),
		Detail:   fmt.Sprintf("No %s named %q is declared (looked for %s). Declare it, or correct the reference.", what, r.Name, r),
		Subject:  rng.Ptr(),
	}
}

func (d *evalData) setLocal(mod addrs.ModuleInstance, name string, v cty.Value) {
	d.mu.Lock()
	d.locals[localKey{mod, name}] = v
	d.mu.Unlock()
}

// setModuleOutput records the value of an output of a module instance.
func (d *evalData) setModuleOutput(mod addrs.ModuleInstance, name string, v cty.Value) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.modOutputs[mod]
	if m == nil {
		m = map[string]cty.Value{}
		d.modOutputs[mod] = m
	}
	m[name] = v
}

// setCall records how the call name expanded in instance in, with the
// variables of each instance it made, and adds them to the instances of
// the called module.
func (d *evalData) setCall(in addrs.ModuleInstance, name string, exp expansion, keys []addrs.InstanceKey, vars map[addrs.InstanceKey]cty.Value) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[callKey{in, name}] = callExpansion{exp: exp, keys: keys}
	p := in.Module().Child(name)
	for _, k := range keys {
		mi := in.Child(name, k)
		d.modVars[mi] = vars[k]
		d.modInstances[p] = append(d.modInstances[p], mi)
	}
	sort.Slice(d.modInstances[p], func(i, j int) bool { return d.modInstances[p][i].Less(d.modInstances[p][j]) })
}

// moduleInstances are the instances of module p known so far (all of
// them once its call node finished).
func (d *evalData) moduleInstances(p addrs.Module) []addrs.ModuleInstance {
	if p.IsRoot() {
		return []addrs.ModuleInstance{addrs.RootModuleInstance}
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]addrs.ModuleInstance(nil), d.modInstances[p]...)
}

// expansion describes how a resource expands into instances.
type expansion int

const (
	expandSingle expansion = iota
	expandCount
	expandForEach
)

// setResource records the instance values of r and assembles the resource
// value that references see.
func (d *evalData) setResource(r addrs.Resource, exp expansion, insts map[addrs.InstanceKey]cty.Value) {
	v := assemble(exp, insts)
	d.mu.Lock()
	d.instances[r] = insts
	d.resources[r] = v
	d.mu.Unlock()
}

// assemble is the value of an expanded object (resource or module call)
// as references see it: the single instance, a tuple for count, an
// object by key for for_each.
func assemble(exp expansion, insts map[addrs.InstanceKey]cty.Value) cty.Value {
	switch exp {
	case expandCount:
		keys := make([]int, 0, len(insts))
		for k := range insts {
			if ik, ok := k.(addrs.IntKey); ok {
				keys = append(keys, int(ik))
			}
		}
		sort.Ints(keys)
		elems := make([]cty.Value, 0, len(keys))
		for _, k := range keys {
			elems = append(elems, insts[addrs.IntKey(k)])
		}
		return cty.TupleVal(elems)
	case expandForEach:
		m := make(map[string]cty.Value, len(insts))
		for k, iv := range insts {
			if sk, ok := k.(addrs.StringKey); ok {
				m[string(sk)] = iv
			}
		}
		return cty.ObjectVal(m)
	}
	v := insts[addrs.NoKey]
	if v == cty.NilVal {
		v = cty.DynamicVal
	}
	return v
}

// scope is the scope of a block of module instance mod (an instance of
// it, with key and each.value, when count or for_each applies).
func (d *evalData) scope(mod addrs.ModuleInstance, key addrs.InstanceKey, each cty.Value) *lang.Scope {
	cfg := d.cfg.Descendant(mod.Module())
	if cfg == nil {
		cfg = d.cfg
	}
	s := &lang.Scope{Data: moduleData{d: d, mod: mod, cfg: cfg}, BaseDir: cfg.Dir, RootDir: d.cfg.Dir, Workspace: d.workspace}
	switch k := key.(type) {
	case addrs.IntKey:
		i := int(k)
		s.CountIndex = &i
	case addrs.StringKey:
		str := string(k)
		s.EachKey = &str
		s.EachValue = each
	}
	return s
}

// rootScope is the scope of the root module's blocks without count or
// for_each (providers, the artifacts block, root locals and outputs).
func (d *evalData) rootScope() *lang.Scope {
	return d.scope(addrs.RootModuleInstance, addrs.NoKey, cty.NilVal)
}

// newEvalData is the values of a walk of this engine's configuration,
// whose graph is cg.
func (e *Engine) newEvalData(cg *configGraph) *evalData {
	d := newEvalData(e.cfg, e.opts.Variables)
	d.types = make(map[addrs.Resource]cty.Type, len(cg.schemas))
	for r, s := range cg.schemas {
		d.types[r] = s.Block.ImpliedType()
	}
	d.workspace = e.opts.Workspace
	d.prior = e.recorded
	return d
}
