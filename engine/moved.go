package engine

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
)

// applyMoves carries out the configuration's moved blocks on the recorded
// objects, in memory, before the graph is built: an object recorded at a
// block's from is planned at its to, as the object it is (nothing is
// replaced); the plan says where it came from (PrevAddr) and apply records
// the move (recorder.move). It returns the moves made, new address to
// old. A block whose from holds nothing is done (or never applied) and is
// skipped; moving onto an address that holds an object is an error.
func (e *Engine) applyMoves(recorded map[addrs.Resource]*recordedResource) hcl.Diagnostics {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.moves == nil {
		e.moves = map[addrs.ResourceInstance]addrs.ResourceInstance{}
	}
	var diags hcl.Diagnostics
	e.cfg.Walk(func(m *configs.Config) {
		for _, mv := range m.Moved {
			for _, mi := range recordedModuleInstances(recorded, m.Path) {
				diags = append(diags, e.applyMove(recorded, mv, mv.From.In(mi), mv.To.In(mi))...)
			}
		}
	})
	return diags
}

// recordedModuleInstances are the instances of module p that hold
// recorded objects (directly or in modules they call); the root's is the
// root.
func recordedModuleInstances(recorded map[addrs.Resource]*recordedResource, p addrs.Module) []addrs.ModuleInstance {
	if p.IsRoot() {
		return []addrs.ModuleInstance{addrs.RootModuleInstance}
	}
	seen := map[addrs.ModuleInstance]bool{}
	for r := range recorded {
		for mi := r.Module; !mi.IsRoot(); mi, _, _ = mi.Parent() {
			if mi.Module() == p {
				seen[mi] = true
				break
			}
		}
	}
	out := make([]addrs.ModuleInstance, 0, len(seen))
	for mi := range seen {
		out = append(out, mi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// applyMove moves what one moved block names in one module instance.
func (e *Engine) applyMove(recorded map[addrs.Resource]*recordedResource, mv *configs.Moved, from, to addrs.MoveEndpoint) hcl.Diagnostics {
	var pairs [][2]addrs.ResourceInstance
	switch {
	case from.IsModule:
		pairs = moduleMoves(recorded, from.Module, to.Module)
	case !from.Keyed && !to.Keyed:
		// A whole resource: every instance keeps its key.
		if rr := recorded[from.Instance.Resource]; rr != nil {
			for _, k := range sortedKeys(rr.instances) {
				pairs = append(pairs, [2]addrs.ResourceInstance{from.Instance.Resource.Instance(k), to.Instance.Resource.Instance(k)})
			}
		}
	default:
		// One instance, into or out of count or for_each.
		pairs = append(pairs, [2]addrs.ResourceInstance{from.Instance, to.Instance})
	}
	var diags hcl.Diagnostics
	for _, p := range pairs {
		if d := e.moveInstance(recorded, p[0], p[1], mv); d != nil {
			diags = append(diags, d)
		}
	}
	return diags
}

// moduleMoves lists the recorded instances inside module instance from
// with their addresses inside to: a call without a key on both sides
// keeps each instance's key (module.a["x"] moves to module.b["x"]).
func moduleMoves(recorded map[addrs.Resource]*recordedResource, from, to addrs.ModuleInstance) [][2]addrs.ResourceInstance {
	fs, ts := from.Steps(), to.Steps()
	var out [][2]addrs.ResourceInstance
	for r, rr := range recorded {
		ms := r.Module.Steps()
		if len(ms) < len(fs) {
			continue
		}
		match := true
		for i, st := range fs {
			if ms[i].Name != st.Name || (st.Key != addrs.NoKey && ms[i].Key != st.Key) {
				match = false
				break
			}
		}
		last := len(fs) - 1
		if !match || (fs[last].Key == addrs.NoKey && ms[last].Key != addrs.NoKey && ts[len(ts)-1].Key != addrs.NoKey) {
			continue
		}
		var mod addrs.ModuleInstance
		for i, st := range ts {
			k := st.Key
			if i == len(ts)-1 && k == addrs.NoKey && fs[last].Key == addrs.NoKey {
				k = ms[last].Key
			}
			mod = mod.Child(st.Name, k)
		}
		for _, st := range ms[len(fs):] {
			mod = mod.Child(st.Name, st.Key)
		}
		for k := range rr.instances {
			out = append(out, [2]addrs.ResourceInstance{r.Instance(k), r.InModule(mod).Instance(k)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].Less(out[j][0]) })
	return out
}

// moveInstance moves one recorded object in memory.
func (e *Engine) moveInstance(recorded map[addrs.Resource]*recordedResource, from, to addrs.ResourceInstance, mv *configs.Moved) *hcl.Diagnostic {
	rr := recorded[from.Resource]
	if rr == nil || rr.instances[from.Key] == nil {
		return nil
	}
	if dst := recorded[to.Resource]; dst != nil && dst.instances[to.Key] != nil {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Moved object collides with an existing object",
			Detail: fmt.Sprintf("The moved block says %s is now %s, but an object is already recorded at %s. Remove that object first (`llmops state rm %s` forgets it, a plan without its block destroys it), or correct the block.",
				from, to, to, to),
			Subject: mv.DeclRange.Ptr(),
		}
	}
	ro := rr.instances[from.Key]
	delete(rr.instances, from.Key)
	if len(rr.instances) == 0 {
		delete(recorded, from.Resource)
	}
	dst := recorded[to.Resource]
	if dst == nil {
		dst = &recordedResource{provider: rr.provider, instances: map[addrs.InstanceKey]*recordedObject{}}
		recorded[to.Resource] = dst
	}
	obj := *ro.obj
	obj.Addr = to
	dst.instances[to.Key] = &recordedObject{obj: &obj, value: ro.value}
	orig := from
	if prev, ok := e.moves[from]; ok {
		orig = prev // a chain of moves: the state still has the first address
		delete(e.moves, from)
	}
	e.moves[to] = orig
	return nil
}

// movedFrom is where the state records the object a moved block put at
// ri, when one did.
func (e *Engine) movedFrom(ri addrs.ResourceInstance) (addrs.ResourceInstance, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	prev, ok := e.moves[ri]
	return prev, ok
}
