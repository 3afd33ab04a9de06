package addrs

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ParseResourceInstance parses `TYPE.NAME`, `TYPE.NAME[0]` or
// `TYPE.NAME["key"]`, where TYPE is a kind or a resource type. The prefix
// `resource.` is accepted and ignored, so `resource.null_value.r` works too.
func ParseResourceInstance(s string) (ResourceInstance, error) {
	s = strings.TrimSpace(s)
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return ResourceInstance{}, fmt.Errorf("invalid address %q: %s", s, diags[0].Summary)
	}
	steps, trav, err := parseModuleSteps(trav)
	if err != nil {
		return ResourceInstance{}, fmt.Errorf("invalid address %q: %s", s, err)
	}
	var mod ModuleInstance
	for _, st := range steps {
		mod = mod.Child(st.Name, st.Key)
	}
	mode := ManagedResourceMode
	if len(trav) > 2 && trav.RootName() == "data" {
		mode = DataResourceMode
		trav = trav[1:]
		if a, ok := trav[0].(hcl.TraverseAttr); ok {
			trav[0] = hcl.TraverseRoot{Name: a.Name, SrcRange: a.SrcRange}
		}
	}
	if len(trav) > 0 && trav.RootName() == "resource" {
		trav = trav[1:]
		if len(trav) > 0 {
			if a, ok := trav[0].(hcl.TraverseAttr); ok {
				trav[0] = hcl.TraverseRoot{Name: a.Name, SrcRange: a.SrcRange}
			}
		}
	}
	if len(trav) < 2 || len(trav) > 3 {
		return ResourceInstance{}, fmt.Errorf("invalid address %q: want TYPE.NAME, TYPE.NAME[INDEX] or TYPE.NAME[\"KEY\"], optionally after module.NAME or module.NAME[KEY]", s)
	}
	root, ok := trav[0].(hcl.TraverseRoot)
	if !ok {
		return ResourceInstance{}, fmt.Errorf("invalid address %q", s)
	}
	name, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return ResourceInstance{}, fmt.Errorf("invalid address %q: the resource name must follow the type after a dot", s)
	}
	ri := ResourceInstance{Resource: Resource{Module: mod, Mode: mode, Type: root.Name, Name: name.Name}, Key: NoKey}
	if len(trav) == 3 {
		idx, ok := trav[2].(hcl.TraverseIndex)
		if !ok {
			return ResourceInstance{}, fmt.Errorf("invalid address %q: only an index may follow the resource name", s)
		}
		k, err := KeyFromValue(idx.Key)
		if err != nil {
			return ResourceInstance{}, fmt.Errorf("invalid address %q: %s", s, err)
		}
		ri.Key = k
	}
	return ri, nil
}

// ParseResource parses a resource address without an instance key, such
// as training_run.ft or module.bot.training_run.ft.
func ParseResource(s string) (Resource, error) {
	ri, err := ParseResourceInstance(s)
	if err != nil {
		return Resource{}, err
	}
	if ri.Key != NoKey {
		return Resource{}, fmt.Errorf("invalid resource address %q: it names an instance; leave out the index", s)
	}
	return ri.Resource, nil
}

func KeyFromValue(v cty.Value) (InstanceKey, error) {
	if v.IsNull() || !v.IsKnown() {
		return nil, fmt.Errorf("instance key must be a known number or string")
	}
	switch v.Type() {
	case cty.Number:
		bf := v.AsBigFloat()
		i, acc := bf.Int64()
		if acc != 0 || i < 0 {
			return nil, fmt.Errorf("an index must be a whole number not less than zero")
		}
		return IntKey(int(i)), nil
	case cty.String:
		return StringKey(v.AsString()), nil
	}
	return nil, fmt.Errorf("instance key must be a number or a string, not %s", v.Type().FriendlyName())
}

// Pattern selects resources and instances for -target and -exclude. It is
// an address (`training_run.ft`, `null_value.r[3]`,
// `module.bot["en"].training_run.ft`), a module (`module.bot`, everything
// in every instance of it; `module.bot["en"]`, everything in that
// instance), or a glob over the address text (`training_run.*`,
// `null_value.r[*]`, `*.prod`, `module.bot*`).
type Pattern struct {
	text string
	glob bool
	re   *regexp.Regexp
	// inst is the parsed address of a pattern that is no glob.
	inst ResourceInstance
	// mod is set for a pattern that names a module.
	mod   ModuleInstance
	isMod bool
}

// ParsePattern checks and returns a pattern.
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "resource.")
	if strings.ContainsAny(s, "*?") {
		var b strings.Builder
		b.WriteString("^")
		for _, part := range strings.Split(s, "*") {
			b.WriteString(strings.ReplaceAll(regexp.QuoteMeta(part), `\?`, "."))
			b.WriteString(".*")
		}
		re := strings.TrimSuffix(b.String(), ".*") + "$"
		return Pattern{text: s, glob: true, re: regexp.MustCompile(re)}, nil
	}
	if m, err := ParseModuleInstance(s); err == nil && !m.IsRoot() {
		return Pattern{text: m.String(), mod: m, isMod: true}, nil
	}
	ri, err := ParseResourceInstance(s)
	if err != nil {
		return Pattern{}, err
	}
	return Pattern{text: ri.String(), inst: ri}, nil
}

func (p Pattern) String() string { return p.text }

// moduleMatch reports whether module instance m is p's module or inside
// it; a step of p without a key matches every key (when keyed is false,
// m may be a configuration address, whose steps without keys match every
// key of p).
func (p Pattern) moduleMatch(m ModuleInstance, keyed bool) bool {
	ps, ms := p.mod.Steps(), m.Steps()
	if len(ms) < len(ps) {
		return false
	}
	for i, st := range ps {
		if ms[i].Name != st.Name {
			return false
		}
		if st.Key != NoKey && ms[i].Key != st.Key && (keyed || ms[i].Key != NoKey) {
			return false
		}
	}
	return true
}

// MatchInstance reports whether the pattern selects the instance: an exact
// instance address, the address of its resource (all instances), a module
// it is in, or a glob that matches either.
func (p Pattern) MatchInstance(ri ResourceInstance) bool {
	if p.isMod {
		return p.moduleMatch(ri.Resource.Module, true)
	}
	rs, is := ri.Resource.String(), ri.String()
	if !p.glob {
		return p.text == rs || p.text == is
	}
	return p.re.MatchString(rs) || p.re.MatchString(is)
}

// MatchResource reports whether the pattern could select some instance of
// r, a resource or configuration address.
func (p Pattern) MatchResource(r Resource) bool {
	if p.isMod {
		return p.moduleMatch(r.Module, false)
	}
	rs := r.String()
	if !p.glob {
		if p.text == rs || strings.HasPrefix(p.text, rs+"[") {
			return true
		}
		// A configuration address selects the instances of its module's
		// instances: module.bot.x.y covers module.bot["en"].x.y.
		return p.inst.Resource.Config() == r
	}
	if p.re.MatchString(rs) {
		return true
	}
	// A glob with an index part, such as `r.x[*]`, selects instances of r.
	if i := strings.LastIndexByte(p.text, '['); i > 0 && !strings.Contains(p.text[i:], ".") {
		sub, err := ParsePattern(p.text[:i])
		return err == nil && sub.MatchResource(r)
	}
	return false
}
