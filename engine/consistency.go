package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// The consistency checks hold providers to the contract Terraform users
// rely on (its objchange.AssertPlanValid and AssertObjectCompatible):
//
//   - a plan keeps every configured value: for each attribute the
//     configuration sets, the planned value is the engine's proposal
//     (the configuration, or the prior value where ignore_changes says
//     so); an attribute that is not computed and not set plans as null;
//   - an apply delivers the plan: every known planned value is the value
//     of the new object; unknown planned values may become anything.
//
// A violation is the provider's bug, reported as such, and never loses an
// object that exists: the engine records it before failing.

// inconsistency is one attribute at fault.
type inconsistency struct {
	path      cty.Path
	want, got cty.Value
	why       string
}

// checkPlan compares a provider's planned value with the configuration
// and the engine's proposal. b is the schema of the values.
func checkPlan(b *protocol.Block, config, proposed, planned cty.Value) []inconsistency {
	var out []inconsistency
	checkPlanBlock(b, nil, config, proposed, planned, &out)
	return out
}

func checkPlanBlock(b *protocol.Block, path cty.Path, config, proposed, planned cty.Value, out *[]inconsistency) {
	if config.IsNull() || !config.IsKnown() {
		return
	}
	if planned.IsNull() || !planned.IsKnown() {
		*out = append(*out, inconsistency{path: path, want: proposed, got: planned, why: "the block is configured, but the plan has no value for it"})
		return
	}
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		if engineOwned(path, name) {
			continue
		}
		p := append(path.Copy(), cty.GetAttrStep{Name: name})
		cv, pv, nv := attrOf(config, name), attrOf(proposed, name), attrOf(planned, name)
		if cv == cty.NilVal || nv == cty.NilVal {
			continue
		}
		switch {
		case a.WriteOnly:
			if !nv.IsNull() {
				*out = append(*out, inconsistency{path: p, want: cty.NullVal(a.Type), got: nv, why: "the attribute is write-only, so it must plan as null"})
			}
		case !cv.IsNull():
			if !cv.IsWhollyKnown() || pv == cty.NilVal {
				continue // known only after apply: nothing to hold the plan to yet
			}
			if !values.Equal(pv, nv) {
				*out = append(*out, inconsistency{path: p, want: pv, got: nv, why: "the plan changes the configured value"})
			}
		case !a.Computed:
			if !nv.IsNull() {
				*out = append(*out, inconsistency{path: p, want: cv, got: nv, why: "the attribute is not set and not computed, so it must plan as null"})
			}
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		p := append(path.Copy(), cty.GetAttrStep{Name: name})
		cv, pv, nv := attrOf(config, name), attrOf(proposed, name), attrOf(planned, name)
		if cv == cty.NilVal || nv == cty.NilVal || cv.IsNull() || !cv.IsKnown() {
			continue
		}
		if pv == cty.NilVal {
			pv = cv
		}
		switch nb.Nesting {
		case protocol.NestingSingle:
			checkPlanBlock(&nb.Block, p, cv, pv, nv, out)
		case protocol.NestingList, protocol.NestingMap:
			if !nv.IsKnown() || nv.IsNull() || cv.LengthInt() != nv.LengthInt() {
				*out = append(*out, inconsistency{path: p, want: cv, got: nv, why: "the plan has another number of blocks than the configuration"})
				continue
			}
			for it := cv.ElementIterator(); it.Next(); {
				k, ce := it.Element()
				ne, pe := indexOf(nv, k), indexOf(pv, k)
				if ne == cty.NilVal {
					*out = append(*out, inconsistency{path: append(p.Copy(), cty.IndexStep{Key: k}), want: ce, got: cty.NullVal(ce.Type()), why: "the plan drops a configured block"})
					continue
				}
				if pe == cty.NilVal {
					pe = ce
				}
				checkPlanBlock(&nb.Block, append(p.Copy(), cty.IndexStep{Key: k}), ce, pe, ne, out)
			}
		case protocol.NestingSet:
			if nv.IsWhollyKnown() && cv.IsWhollyKnown() && cv.LengthInt() != nv.LengthInt() {
				*out = append(*out, inconsistency{path: p, want: cv, got: nv, why: "the plan has another number of blocks than the configuration"})
			}
		}
	}
}

// checkApplied compares the new object a provider returned with the known
// values of the plan it was given.
func checkApplied(planned, got cty.Value) []inconsistency {
	var out []inconsistency
	checkCompatible(nil, planned, got, &out)
	return out
}

func checkCompatible(path cty.Path, planned, got cty.Value, out *[]inconsistency) {
	if !planned.IsKnown() {
		return // unknown planned values may become anything
	}
	if len(path) == 1 {
		if s, ok := path[0].(cty.GetAttrStep); ok && engineOwned(nil, s.Name) {
			return
		}
	}
	if planned.IsWhollyKnown() {
		if values.Equal(planned, got) {
			return
		}
		if !planned.Type().IsObjectType() || planned.IsNull() || got.IsNull() || !got.IsKnown() || !got.Type().IsObjectType() {
			*out = append(*out, inconsistency{path: path, want: planned, got: got, why: "the new value differs from the planned one"})
			return
		}
		// Name the attributes that differ (or the object, if none does
		// on its own).
		n := len(*out)
		checkFields(path, planned, got, out)
		if len(*out) == n {
			*out = append(*out, inconsistency{path: path, want: planned, got: got, why: "the new value differs from the planned one"})
		}
		return
	}
	// Partly known: compare what is known, element by element.
	if got.IsNull() || !got.IsKnown() || planned.IsNull() {
		*out = append(*out, inconsistency{path: path, want: planned, got: got, why: "the new value differs from the planned one"})
		return
	}
	checkFields(path, planned, got, out)
}

// checkFields compares the attributes or elements of two known, non-null
// values.
func checkFields(path cty.Path, planned, got cty.Value, out *[]inconsistency) {
	ty := planned.Type()
	switch {
	case ty.IsObjectType():
		if !got.Type().IsObjectType() {
			*out = append(*out, inconsistency{path: path, want: planned, got: got, why: "the new value has another type"})
			return
		}
		names := make([]string, 0, len(ty.AttributeTypes()))
		for name := range ty.AttributeTypes() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			g := cty.NullVal(ty.AttributeType(name))
			if got.Type().HasAttribute(name) {
				g = got.GetAttr(name)
			}
			checkCompatible(append(path.Copy(), cty.GetAttrStep{Name: name}), planned.GetAttr(name), g, out)
		}
	case ty.IsListType() || ty.IsTupleType() || ty.IsMapType():
		if got.LengthInt() != planned.LengthInt() {
			*out = append(*out, inconsistency{path: path, want: planned, got: got, why: "the new value has another number of elements"})
			return
		}
		for it := planned.ElementIterator(); it.Next(); {
			k, pe := it.Element()
			ge := indexOf(got, k)
			if ge == cty.NilVal {
				*out = append(*out, inconsistency{path: append(path.Copy(), cty.IndexStep{Key: k}), want: pe, got: cty.NullVal(pe.Type()), why: "the new value lacks a planned element"})
				continue
			}
			checkCompatible(append(path.Copy(), cty.IndexStep{Key: k}), pe, ge, out)
		}
	}
	// Sets with unknown elements cannot be paired element by element.
}

// engineOwned reports the attributes that llmops itself sets on lifecycle
// kind objects (version), which providers leave alone.
func engineOwned(path cty.Path, name string) bool {
	return len(path) == 0 && name == "version"
}

// inconsistencyDiag reports a provider's broken promise as an error that
// names the provider as the one at fault, the address, each attribute
// path and the values (sensitive ones hidden).
func inconsistencyDiag(summary string, prov addrs.ProviderConfig, ri addrs.ResourceInstance, sensitive []cty.Path, subject *hcl.Range, found []inconsistency) *hcl.Diagnostic {
	var lines []string
	for _, f := range found {
		where := protocol.PathString(f.path)
		if where == "" {
			where = "(the whole object)"
		}
		lines = append(lines, fmt.Sprintf("  - %s: %s: wanted %s, got %s", where, f.why, showValue(f.want, f.path, sensitive), showValue(f.got, f.path, sensitive)))
	}
	what := "its plan"
	if summary == summaryInconsistentResult {
		what = "the object it created or updated"
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail: fmt.Sprintf("Provider %s produced an unexpected value for %s in %s:\n%s\n\nThis is a bug in the provider %s, which should be reported to its authors; llmops cannot work around it.",
			prov, ri, what, strings.Join(lines, "\n"), prov.Type),
		Subject: subject,
	}
}

// Summaries of the consistency errors, as Terraform words them.
const (
	summaryInvalidPlan        = "Provider produced invalid plan"
	summaryInconsistentResult = "Provider produced inconsistent result after apply"
	summaryInconsistentFinal  = "Provider produced inconsistent final plan"
)

// showValue renders a value for a consistency error: "(sensitive)" for a
// value at or under a sensitive path, "(known after apply)" for unknowns.
func showValue(v cty.Value, path cty.Path, sensitive []cty.Path) string {
	for _, sp := range sensitive {
		if pathHasPrefix(path, sp) {
			return "(sensitive)"
		}
	}
	if v == cty.NilVal {
		return "null"
	}
	u, marks := v.UnmarkDeepWithPaths()
	if len(marks) > 0 {
		return "(sensitive)"
	}
	if !u.IsWhollyKnown() {
		return "(known after apply)"
	}
	enc, err := values.Encode(u)
	if err != nil {
		return u.GoString()
	}
	s := string(enc.Value)
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// pathHasPrefix reports whether p starts with prefix.
func pathHasPrefix(p, prefix cty.Path) bool {
	if len(prefix) > len(p) {
		return false
	}
	return p[:len(prefix)].Equals(prefix)
}

// indexOf returns v[k] for lists, tuples, maps and objects, or cty.NilVal.
func indexOf(v cty.Value, k cty.Value) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return cty.NilVal
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		if k.Type() == cty.String && ty.HasAttribute(k.AsString()) {
			return v.GetAttr(k.AsString())
		}
	case ty.IsListType() || ty.IsTupleType() || ty.IsMapType():
		if v.HasIndex(k).True() {
			return v.Index(k)
		}
	}
	return cty.NilVal
}
