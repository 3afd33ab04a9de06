package conformance

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

type suite struct {
	cfg    Config
	p      protocol.Provider
	name   string
	schema protocol.GetSchemaResponse
	// workDir and artifactDir are passed to ConfigureProvider.
	workDir, artifactDir string
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func (s *suite) getSchema(t *testing.T) {
	r := s.p.GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if r.Diagnostics.HasErrors() {
		t.Fatalf("GetSchema returned errors:%s", diagString(r.Diagnostics))
	}
	s.schema = r
	if r.ProviderVersion == "" {
		t.Errorf("GetSchema: ProviderVersion is empty; llmops records it in .llmops.lock.hcl (set sdk.Provider.Version)")
	}
	if r.Provider == nil {
		t.Errorf("GetSchema: no provider schema; return an empty block when the provider has no configuration")
	} else {
		checkBlock(t, "provider", r.Provider.Block)
	}
	names := make([]string, 0, len(r.ResourceTypes))
	for name, sch := range r.ResourceTypes {
		names = append(names, name)
		if sch == nil || sch.Block == nil {
			t.Errorf("resource type %q: no schema", name)
			continue
		}
		if !identRE.MatchString(name) {
			t.Errorf("resource type %q: not a valid name (lower case letters, digits and underscores)", name)
		}
		if schema.IsKind(name) {
			checkKind(t, name, sch.Block)
		} else if s.name != "" && !strings.HasPrefix(name, s.name+"_") && name != s.name {
			t.Errorf("resource type %q: names of the %s provider's types must start with %q, so llmops finds their provider", name, s.name, s.name+"_")
		}
		if sch.Version < 0 {
			t.Errorf("resource type %q: negative schema version %d", name, sch.Version)
		}
		checkBlock(t, name, sch.Block)
	}
	sort.Strings(names)
	s.checkDataSchemas(t)
	for _, c := range s.cfg.Cases {
		if _, ok := r.ResourceTypes[c.TypeName]; !ok {
			t.Errorf("case %q: the provider serves no resource type %q; it serves %s", c.Name, c.TypeName, strings.Join(names, ", "))
		}
	}
}

// checkKind checks that a provider's schema of a lifecycle kind (`model`,
// `training_run`, ...) includes the kind's core schema (package schema)
// unchanged: a provider may add attributes, not drop or change core ones.
func checkKind(t *testing.T, kind string, got *protocol.Block) {
	t.Helper()
	var walk func(where string, core, got *protocol.Block)
	walk = func(where string, core, got *protocol.Block) {
		for _, n := range core.AttributeNames() {
			ca, ga := core.Attributes[n], got.Attributes[n]
			switch {
			case ga == nil:
				t.Errorf("%s.%s: the core attribute of kind %s is missing", where, n, kind)
			case !ga.Type.Equals(ca.Type) || ga.Required != ca.Required || ga.Optional != ca.Optional || ga.Computed != ca.Computed || ga.Sensitive != ca.Sensitive:
				t.Errorf("%s.%s: differs from the core schema of kind %s (type %s required=%v optional=%v computed=%v sensitive=%v; core: type %s required=%v optional=%v computed=%v sensitive=%v)",
					where, n, kind, ga.Type.FriendlyName(), ga.Required, ga.Optional, ga.Computed, ga.Sensitive,
					ca.Type.FriendlyName(), ca.Required, ca.Optional, ca.Computed, ca.Sensitive)
			}
		}
		for _, n := range core.BlockTypeNames() {
			cb, gb := core.BlockTypes[n], got.BlockTypes[n]
			if gb == nil || gb.Nesting != cb.Nesting {
				t.Errorf("%s.%s: the core block of kind %s is missing or nested differently", where, n, kind)
				continue
			}
			walk(where+"."+n, &cb.Block, &gb.Block)
		}
	}
	walk(kind, schema.Block(kind), got)
}

// checkBlock reports schema mistakes: attribute modes, types, names, block
// nesting and limits.
func checkBlock(t *testing.T, where string, b *protocol.Block) {
	t.Helper()
	if b == nil {
		return
	}
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		at := where + "." + name
		if a == nil {
			t.Errorf("%s: attribute without definition", at)
			continue
		}
		if !identRE.MatchString(name) {
			t.Errorf("%s: not a valid attribute name", at)
		}
		modes := 0
		for _, m := range []bool{a.Required, a.Optional, a.Computed} {
			if m {
				modes++
			}
		}
		if !(modes == 1 || (modes == 2 && a.Optional && a.Computed)) {
			t.Errorf("%s: must be exactly one of required, optional or computed, or optional+computed (required=%v optional=%v computed=%v)",
				at, a.Required, a.Optional, a.Computed)
		}
		if a.Type == cty.NilType {
			t.Errorf("%s: no type", at)
		} else if _, err := ctyjson.MarshalType(a.Type); err != nil {
			t.Errorf("%s: type %s cannot be serialised: %v", at, a.Type.FriendlyName(), err)
		}
		if _, dup := b.BlockTypes[name]; dup {
			t.Errorf("%s: both an attribute and a nested block", at)
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		at := where + "." + name
		if nb == nil {
			t.Errorf("%s: nested block without definition", at)
			continue
		}
		if !identRE.MatchString(name) {
			t.Errorf("%s: not a valid block name", at)
		}
		if nb.Nesting < protocol.NestingSingle || nb.Nesting > protocol.NestingMap {
			t.Errorf("%s: invalid nesting %d", at, nb.Nesting)
		}
		if nb.MinItems < 0 || nb.MaxItems < 0 || (nb.MaxItems > 0 && nb.MinItems > nb.MaxItems) {
			t.Errorf("%s: invalid item limits min=%d max=%d", at, nb.MinItems, nb.MaxItems)
		}
		checkBlock(t, at, &nb.Block)
	}
}

// fill completes a configuration written with only some attributes: the
// missing attributes are null, and the value is converted to the schema's
// implied type.
func fill(b *protocol.Block, v cty.Value) (cty.Value, error) {
	ty := b.ImpliedType()
	if v == cty.NilVal {
		v = cty.EmptyObjectVal
	}
	if v.IsNull() || !v.Type().IsObjectType() {
		return convert.Convert(v, ty)
	}
	attrs := map[string]cty.Value{}
	for n, at := range ty.AttributeTypes() {
		if v.Type().HasAttribute(n) {
			attrs[n] = v.GetAttr(n)
		} else {
			attrs[n] = cty.NullVal(at)
		}
	}
	for n := range v.Type().AttributeTypes() {
		if !ty.HasAttribute(n) {
			return cty.NilVal, fmt.Errorf("the schema has no attribute %q", n)
		}
	}
	return convert.Convert(cty.ObjectVal(attrs), ty)
}

// proposed builds the proposed new state as the engine does: the
// configuration, with computed attributes it leaves unset taken from the
// prior state.
func proposed(b *protocol.Block, prior, config cty.Value) cty.Value {
	if prior.IsNull() || config.IsNull() {
		return config
	}
	attrs := config.AsValueMap()
	for n, a := range b.Attributes {
		if a.Computed && attrs[n].IsNull() {
			attrs[n] = prior.GetAttr(n)
		}
	}
	for n, nb := range b.BlockTypes {
		if nb.Nesting == protocol.NestingSingle && !attrs[n].IsNull() && attrs[n].IsKnown() && !prior.GetAttr(n).IsNull() {
			attrs[n] = proposed(&nb.Block, prior.GetAttr(n), attrs[n])
		}
	}
	return cty.ObjectVal(attrs)
}

// preserved reports configuration values that did not survive into got:
// every attribute the configuration sets (known, non-null) must come back
// as it was.
func preserved(b *protocol.Block, config, got cty.Value) []string {
	var out []string
	if config.IsNull() || got.IsNull() || !got.IsKnown() {
		return nil
	}
	for _, n := range b.AttributeNames() {
		cv := config.GetAttr(n)
		if cv.IsNull() || !cv.IsWhollyKnown() {
			continue
		}
		gv := got.GetAttr(n)
		if gv.RawEquals(cv) {
			continue
		}
		if eq := gv.Equals(cv); eq.IsKnown() && eq.True() && gv.Type().Equals(cv.Type()) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: configuration says %#v, got %#v", n, cv, gv))
	}
	return out
}

// valueDiff lists the top-level attributes in which a and b differ.
func valueDiff(a, b cty.Value) string {
	if a.IsNull() || b.IsNull() || !a.IsKnown() || !b.IsKnown() || !a.Type().IsObjectType() || !b.Type().IsObjectType() {
		return fmt.Sprintf("\n  want %#v\n   got %#v", a, b)
	}
	s := ""
	for n := range a.Type().AttributeTypes() {
		if !b.Type().HasAttribute(n) {
			s += fmt.Sprintf("\n  %s: missing", n)
			continue
		}
		if av, bv := a.GetAttr(n), b.GetAttr(n); !av.RawEquals(bv) {
			s += fmt.Sprintf("\n  %s: want %#v, got %#v", n, av, bv)
		}
	}
	return s
}

// unknownLeaves returns a copy of config with every set top-level attribute
// made unknown, as when it depends on resources not yet created.
func unknownLeaves(config cty.Value) cty.Value {
	attrs := config.AsValueMap()
	for n, v := range attrs {
		if !v.IsNull() {
			attrs[n] = cty.UnknownVal(v.Type())
		}
	}
	return cty.ObjectVal(attrs)
}

// inconsistent lists top-level attributes whose known planned value differs
// from the applied one.
func inconsistent(b *protocol.Block, planned, applied cty.Value) []string {
	var out []string
	if planned.IsNull() || applied.IsNull() || !planned.IsKnown() || !applied.IsKnown() {
		return nil
	}
	for _, n := range b.AttributeNames() {
		pv, av := planned.GetAttr(n), applied.GetAttr(n)
		if !pv.IsWhollyKnown() || pv.RawEquals(av) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: planned %#v, applied %#v", n, pv, av))
	}
	return out
}
