package render

import (
	"io"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
)

// FuzzPlanRender renders plans built from arbitrary values (given as JSON
// with a type): rendering must never panic, whatever the shape.
func FuzzPlanRender(f *testing.F) {
	f.Add([]byte(`{"a":"x","b":[1,2],"c":{"d":true}}`), []byte(`{"a":"y","b":[1],"c":{"d":false}}`), false)
	f.Add([]byte(`[1,"x",null]`), []byte(`{}`), true)
	f.Add([]byte(`"s"`), []byte(`null`), false)
	f.Fuzz(func(t *testing.T, before, after []byte, sensitive bool) {
		bt, err1 := ctyjson.ImpliedType(before)
		at, err2 := ctyjson.ImpliedType(after)
		if err1 != nil || err2 != nil {
			return
		}
		bv, err1 := ctyjson.Unmarshal(before, bt)
		av, err2 := ctyjson.Unmarshal(after, at)
		if err1 != nil || err2 != nil {
			return
		}
		if sensitive {
			av = av.Mark(values.Sensitive)
		}
		addr := addrs.Resource{Type: "null_value", Name: "r"}.Instance(addrs.StringKey("k"))
		obj := func(v cty.Value) cty.Value { return cty.ObjectVal(map[string]cty.Value{"input": v}) }
		p := &plans.Plan{Mode: plans.NormalMode}
		for _, a := range []plans.Action{plans.Create, plans.Update, plans.DeleteThenCreate, plans.Delete} {
			p.Changes = append(p.Changes, &plans.ResourceInstanceChange{Addr: addr, Action: a, Before: obj(bv), After: obj(av)})
		}
		p.Drift = append(p.Drift, &plans.ResourceInstanceChange{Addr: addr, Action: plans.Update, Before: obj(bv), After: obj(av)})
		p.Outputs = append(p.Outputs, &plans.OutputChange{Name: "o", Action: plans.Update, Before: bv, After: av, Sensitive: sensitive})
		Plan(io.Discard, p, NewColors(false))
		PlanJSON(p)
		HCL(av)
	})
}
