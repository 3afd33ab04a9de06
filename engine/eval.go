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

// evalData holds the values known so far in a walk and implements
// lang.Data. Locals and resources are filled in as their nodes finish;
// the graph guarantees that a value is set before anything reads it.
type evalData struct {
	cfg  *configs.Config
	vars cty.Value

	mu        sync.RWMutex
	locals    map[string]cty.Value
	resources map[addrs.Resource]cty.Value
	// instances holds per-instance values, used to assemble resource values.
	instances map[addrs.Resource]map[addrs.InstanceKey]cty.Value
	// unknownResources makes every resource value unknown (validate).
	unknownResources func(addrs.Resource) cty.Value
}

func newEvalData(cfg *configs.Config, vars map[string]cty.Value) *evalData {
	vm := make(map[string]cty.Value, len(vars))
	for k, v := range vars {
		vm[k] = v
	}
	return &evalData{
		cfg:       cfg,
		vars:      cty.ObjectVal(vm),
		locals:    map[string]cty.Value{},
		resources: map[addrs.Resource]cty.Value{},
		instances: map[addrs.Resource]map[addrs.InstanceKey]cty.Value{},
	}
}

func (d *evalData) Variables() cty.Value { return d.vars }

func (d *evalData) GetLocal(ref lang.LocalRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if _, ok := d.cfg.Locals[ref.Name]; !ok {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared local value",
			Detail:   fmt.Sprintf("No local value named %q is declared in a locals block. Declare it, or correct the name.", ref.Name),
			Subject:  rng.Ptr(),
		}}
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if v, ok := d.locals[ref.Name]; ok {
		return v, nil
	}
	return cty.DynamicVal, nil
}

func (d *evalData) GetResource(ref lang.ResourceRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if _, ok := d.cfg.Resources[ref.Resource]; !ok {
		return cty.DynamicVal, hcl.Diagnostics{undeclaredResource(ref.Resource, rng)}
	}
	if d.unknownResources != nil {
		return d.unknownResources(ref.Resource), nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if v, ok := d.resources[ref.Resource]; ok {
		return v, nil
	}
	return cty.DynamicVal, nil
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

func (d *evalData) setLocal(name string, v cty.Value) {
	d.mu.Lock()
	d.locals[name] = v
	d.mu.Unlock()
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
	var v cty.Value
	switch exp {
	case expandSingle:
		v = insts[addrs.NoKey]
		if v == cty.NilVal {
			v = cty.DynamicVal
		}
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
		v = cty.TupleVal(elems)
	case expandForEach:
		m := make(map[string]cty.Value, len(insts))
		for k, iv := range insts {
			if sk, ok := k.(addrs.StringKey); ok {
				m[string(sk)] = iv
			}
		}
		v = cty.ObjectVal(m)
	}
	d.mu.Lock()
	d.instances[r] = insts
	d.resources[r] = v
	d.mu.Unlock()
}

func (d *evalData) scope(key addrs.InstanceKey, each cty.Value) *lang.Scope {
	s := &lang.Scope{Data: d, BaseDir: d.cfg.Dir}
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
