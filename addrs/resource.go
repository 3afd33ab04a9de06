package addrs

import (
	"fmt"
	"strings"
)

// Kinds are the lifecycle block types that appear at the top level of a
// configuration without the `resource` keyword. Their default provider is
// `local`.
var Kinds = []string{
	"model", "dataset", "prompt", "training_run", "evaluation",
	"embedding_index", "deployment", "monitor",
}

var kindSet = func() map[string]bool {
	m := make(map[string]bool, len(Kinds))
	for _, k := range Kinds {
		m[k] = true
	}
	return m
}()

// IsKind reports whether name is one of the lifecycle kinds.
func IsKind(name string) bool { return kindSet[name] }

// Resource names one resource block of the configuration: a lifecycle kind
// block (`model "base"`) or a provider-defined resource
// (`resource "null_value" "r"`). Type is the kind or the resource type.
type Resource struct {
	// Module is the module instance the resource belongs to (the root
	// when empty). In configuration addresses (graph nodes, recorded
	// dependencies) it is the module's unkeyed instance: Config.
	Module ModuleInstance
	// Mode tells a managed object from a data source (data.TYPE.NAME).
	Mode ResourceMode
	Type string
	Name string
}

// ResourceMode tells managed resources (created, changed, destroyed and
// recorded by llmops) from data sources (only read).
type ResourceMode uint8

const (
	ManagedResourceMode ResourceMode = iota
	DataResourceMode
)

func (r Resource) String() string {
	s := r.Type + "." + r.Name
	if r.Mode == DataResourceMode {
		s = "data." + s
	}
	if r.Module.IsRoot() {
		return s
	}
	return r.Module.String() + "." + s
}

// IsData reports whether r is a data source.
func (r Resource) IsData() bool { return r.Mode == DataResourceMode }

// InModule is r (relative to its module) placed in module instance m.
func (r Resource) InModule(m ModuleInstance) Resource {
	r.Module = m
	return r
}

// Local is r relative to its module: the address written inside it.
func (r Resource) Local() Resource {
	r.Module = RootModuleInstance
	return r
}

// Config is the configuration address of r: its module path without
// instance keys, naming the block every instance comes from.
func (r Resource) Config() Resource {
	r.Module = r.Module.Module().UnkeyedInstance()
	return r
}

// IsKind reports whether the resource is a lifecycle kind block.
func (r Resource) IsKind() bool { return IsKind(r.Type) }

// Instance returns the instance of r with the given key.
func (r Resource) Instance(k InstanceKey) ResourceInstance {
	return ResourceInstance{Resource: r, Key: k}
}

// ImpliedProviderType is the provider type that serves r when its block
// does not name one: `local` for the kinds, the prefix before the first
// underscore for resource types (`null_value` -> `null`).
func (r Resource) ImpliedProviderType() string {
	return ImpliedProviderType(r.Type)
}

// ImpliedProviderType is Resource.ImpliedProviderType for a bare type name.
func ImpliedProviderType(typ string) string {
	if IsKind(typ) {
		return "local"
	}
	if i := strings.IndexByte(typ, '_'); i > 0 {
		return typ[:i]
	}
	return typ
}

// Less orders resources by type then name.
func (r Resource) Less(o Resource) bool {
	if r.Module != o.Module {
		return r.Module.Less(o.Module)
	}
	if r.Mode != o.Mode {
		return r.Mode > o.Mode // data sources first, as they are read first
	}
	if r.Type != o.Type {
		return r.Type < o.Type
	}
	return r.Name < o.Name
}

// ResourceInstance is one instance of a resource: the resource itself when
// it has neither count nor for_each (Key is NoKey), `r[2]` with count,
// `r["k"]` with for_each.
type ResourceInstance struct {
	Resource Resource
	Key      InstanceKey
}

func (ri ResourceInstance) String() string {
	if ri.Key == NoKey {
		return ri.Resource.String()
	}
	return ri.Resource.String() + ri.Key.String()
}

// Less orders instances by resource, then key.
func (ri ResourceInstance) Less(o ResourceInstance) bool {
	if ri.Resource != o.Resource {
		return ri.Resource.Less(o.Resource)
	}
	return KeyLess(ri.Key, o.Key)
}

// ProviderConfig names one provider configuration: its type and optional
// alias. The zero Alias is the default configuration of that type.
type ProviderConfig struct {
	Type  string
	Alias string
}

func (p ProviderConfig) String() string {
	if p.Alias == "" {
		return p.Type
	}
	return p.Type + "." + p.Alias
}

// ParseProviderConfig parses `type` or `type.alias`.
func ParseProviderConfig(s string) (ProviderConfig, error) {
	parts := strings.Split(s, ".")
	switch {
	case len(parts) == 1 && validName(parts[0]):
		return ProviderConfig{Type: parts[0]}, nil
	case len(parts) == 2 && validName(parts[0]) && validName(parts[1]):
		return ProviderConfig{Type: parts[0], Alias: parts[1]}, nil
	}
	return ProviderConfig{}, fmt.Errorf("invalid provider configuration address %q: want TYPE or TYPE.ALIAS", s)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
