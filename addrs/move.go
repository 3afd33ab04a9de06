package addrs

import "fmt"

// MoveEndpoint is one side of a `moved` block, relative to the module
// that declares it: a resource (all its instances, `training_run.ft`), one
// instance (`training_run.ft[0]`, `dataset.d["eu"]`), or a module call or
// instance (`module.bot`, `module.bot["en"]`), possibly in a module
// (`module.bot.training_run.ft`).
type MoveEndpoint struct {
	// IsModule is set for a module endpoint, named by Module.
	IsModule bool
	Module   ModuleInstance
	// Instance is a resource endpoint; Keyed says whether it names one
	// instance (an index was written) or the whole resource.
	Instance ResourceInstance
	Keyed    bool
}

func (e MoveEndpoint) String() string {
	if e.IsModule {
		return e.Module.String()
	}
	if e.Keyed {
		return e.Instance.String()
	}
	return e.Instance.Resource.String()
}

// ParseMoveEndpoint parses one side of a moved block.
func ParseMoveEndpoint(s string) (MoveEndpoint, error) {
	if m, err := ParseModuleInstance(s); err == nil && !m.IsRoot() {
		return MoveEndpoint{IsModule: true, Module: m}, nil
	}
	ri, err := ParseResourceInstance(s)
	if err != nil {
		return MoveEndpoint{}, fmt.Errorf("%s; a moved block moves a resource, an instance or a module", err)
	}
	if ri.Resource.IsData() {
		return MoveEndpoint{}, fmt.Errorf("%s is a data source: data sources are read, not recorded, so they need no moved block", s)
	}
	return MoveEndpoint{Instance: ri, Keyed: ri.Key != NoKey}, nil
}

// In is the endpoint placed inside module instance m (the module that
// declares the moved block).
func (e MoveEndpoint) In(m ModuleInstance) MoveEndpoint {
	if m.IsRoot() {
		return e
	}
	if e.IsModule {
		e.Module = ModuleInstance{path: m.path + "." + e.Module.path}
		return e
	}
	mod := m
	if !e.Instance.Resource.Module.IsRoot() {
		mod = ModuleInstance{path: m.path + "." + e.Instance.Resource.Module.path}
	}
	e.Instance.Resource.Module = mod
	return e
}
