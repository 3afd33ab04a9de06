package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/lang"
)

// Prior-state references. A few attributes describe what an object has
// accumulated while it ran, not what this run makes of it: a
// deployment's traffic (traffic://<id>) names the requests its gateway
// captured before this plan. A reference to one of them reads the value
// the prior state records and orders nothing: it adds no graph edge, so
// the retraining loop
//
//	deployment.support.model = training_run.ft.output_model
//	training_run.ft.dataset  = dataset.feedback.id
//	dataset.feedback.source  = deployment.support.traffic
//
// is not a cycle: the dataset snapshots the traffic captured so far, the
// training run retrains on it and the deployment moves to the new model,
// all in one apply.
//
// Where the prior state has no such object yet (the first apply creates
// the deployment), there is nothing before this run to read: the
// reference waits for the object like any other (the dataset starts from
// the new deployment's empty capture), unless waiting would close a cycle
// (the loop above): then the attribute is null in this run and the plan
// warns; coalesce() gives a value to start from.
//
// Every other reference to the same object (deployment.support.endpoint,
// the whole object, depends_on) orders as usual, and cycle detection sees
// every ordering edge, so real cycles are still reported. The rule is this
// table, by kind and attribute: nothing else in the engine names them.

// priorStateAttr is one attribute a reference reads from the prior state.
type priorStateAttr struct {
	kind, attr string
	// ty is the attribute's type, for its null value.
	ty cty.Type
}

var priorStateAttrs = []priorStateAttr{
	{kind: "deployment", attr: "traffic", ty: cty.String},
}

// priorAttrsOf are the prior-state attributes of a managed resource type.
func priorAttrsOf(r addrs.Resource) []priorStateAttr {
	if r.IsData() {
		return nil
	}
	var out []priorStateAttr
	for _, a := range priorStateAttrs {
		if a.kind == r.Type {
			out = append(out, a)
		}
	}
	return out
}

// priorStateRef reports whether ref reads a prior-state attribute:
// RESOURCE.ATTR, or RESOURCE[KEY].ATTR of an expanded resource.
func priorStateRef(ref *lang.Reference) (priorStateAttr, bool) {
	rr, ok := ref.Subject.(lang.ResourceRef)
	if !ok {
		return priorStateAttr{}, false
	}
	attrs := priorAttrsOf(rr.Resource)
	if len(attrs) == 0 {
		return priorStateAttr{}, false
	}
	rest := ref.Remaining
	if len(rest) > 0 {
		if _, idx := rest[0].(hcl.TraverseIndex); idx {
			rest = rest[1:]
		}
	}
	if len(rest) == 0 {
		return priorStateAttr{}, false
	}
	name, ok := rest[0].(hcl.TraverseAttr)
	if !ok {
		return priorStateAttr{}, false
	}
	for _, a := range attrs {
		if a.attr == name.Name {
			return a, true
		}
	}
	return priorStateAttr{}, false
}

// priorRefUse is a prior-state reference from a graph node to an object
// the prior state does not hold.
type priorRefUse struct {
	from node
	to   addrs.Resource
	attr priorStateAttr
	rng  hcl.Range
}

// resolvePriorRefs makes each prior-state reference to an object not
// recorded yet an ordinary edge where that closes no cycle; otherwise the
// value is null in this run (evalData.withPrior), with a warning.
func (b *graphBuilder) resolvePriorRefs() {
	for _, u := range b.notRecorded {
		to := node{kind: nkResource, res: u.to}
		if !b.reaches(to, u.from) {
			b.cg.g.Connect(u.from, to)
			continue
		}
		b.diags = append(b.diags, notRecordedYet(u.to, u.attr, u.rng))
	}
}

// reaches reports whether from depends on to, directly or not.
func (b *graphBuilder) reaches(from, to node) bool {
	seen := map[node]bool{}
	stack := []node{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == to {
			return true
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, b.cg.g.DependenciesOf(n)...)
	}
	return false
}

// notRecordedYet is the warning on a prior-state reference to an object
// the prior state does not hold.
func notRecordedYet(addr addrs.Resource, a priorStateAttr, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  fmt.Sprintf("%s.%s is null in this run", addr, a.attr),
		Detail: fmt.Sprintf("%s.%s reads what the state recorded before this run, and %s is not in the state yet; waiting for it to be created would be a dependency cycle. "+
			"The value is null until an apply has created it; coalesce(%s.%s, ...) gives a value to start from (docs/monitoring.md).",
			addr, a.attr, addr, addr, a.attr),
		Subject: rng.Ptr(),
	}
}

// recordedConfig reports whether the prior state holds an object of the
// configuration address addr (in any instance of its module).
func recordedConfig(recorded map[addrs.Resource]*recordedResource, addr addrs.Resource) bool {
	for r, rr := range recorded {
		if r.Config() == addr && len(rr.instances) > 0 {
			return true
		}
	}
	return false
}

// withPrior is the value of resource r as references see it, with its
// prior-state attributes taken from the prior state (d.mu held for
// reading). cur is its value in this walk so far (cty.DynamicVal when
// not evaluated yet: a reference that orders nothing may run first).
func (d *evalData) withPrior(r, cfgAddr addrs.Resource, cfg *configs.Resource, attrs []priorStateAttr) cty.Value {
	exp := expandSingle
	switch {
	case cfg.Count != nil:
		exp = expandCount
	case cfg.ForEach != nil:
		exp = expandForEach
	}
	var rec map[addrs.InstanceKey]*recordedObject
	if rr := d.prior[r]; rr != nil {
		rec = rr.instances
	}
	cur, evaluated := d.instances[r]
	keys := map[addrs.InstanceKey]bool{}
	switch {
	case exp == expandSingle:
		keys[addrs.NoKey] = true
	case evaluated:
		for k := range cur {
			keys[k] = true
		}
	default:
		for k := range rec {
			keys[k] = true
		}
	}
	out := make(map[addrs.InstanceKey]cty.Value, len(keys))
	for k := range keys {
		m := map[string]cty.Value{}
		var marks cty.ValueMarks
		base := false
		if v, ok := cur[k]; ok && v != cty.NilVal {
			bv, bm := v.Unmark()
			if bv.IsKnown() && !bv.IsNull() && bv.Type().IsObjectType() {
				if bm := bv.AsValueMap(); bm != nil {
					m, base = bm, true
				}
			}
			marks = bm
		}
		if ty, ok := d.types[cfgAddr]; !base && ok && ty.IsObjectType() {
			// Not evaluated in this walk (the reference orders nothing,
			// or -target left the object out): its other attributes are
			// unknown, as any unevaluated resource's are.
			for name, at := range ty.AttributeTypes() {
				m[name] = cty.UnknownVal(at)
			}
		}
		for _, a := range attrs {
			// Not recorded at all: the reference waited for the object
			// created in this run (resolvePriorRefs) and reads its value;
			// null when it could not wait.
			if _, has := m[a.attr]; len(rec) > 0 || !has || !base {
				m[a.attr] = priorValue(rec[k], a)
			}
		}
		out[k] = cty.ObjectVal(m).WithMarks(marks)
	}
	return assemble(exp, out)
}

// priorValue is attribute a of a recorded object (null without one).
func priorValue(o *recordedObject, a priorStateAttr) cty.Value {
	if o == nil || o.value == cty.NilVal || o.value.IsNull() || !o.value.IsKnown() {
		return cty.NullVal(a.ty)
	}
	v, marks := o.value.Unmark()
	if !v.Type().IsObjectType() || !v.Type().HasAttribute(a.attr) {
		return cty.NullVal(a.ty)
	}
	return v.GetAttr(a.attr).WithMarks(marks)
}
