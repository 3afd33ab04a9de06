package serving

import (
	"context"
	"fmt"
	"net"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Deployment statuses.
const (
	StatusServing  = "serving"
	StatusDegraded = "degraded"
	StatusStopped  = "stopped"
)

// PlanOptions are a backend's part of planning.
type PlanOptions struct {
	// RolloutAttrs are the attributes besides replicas and the serve block
	// whose change rolls out a new revision (model, resources, ...).
	RolloutAttrs []string
	// Unknown marks the backend's computed attributes that the change will
	// set anew: on a rollout, on a repair (the deployment was found
	// degraded), or when the prior status is not serving.
	Unknown func(planned *sdk.Object, prior sdk.Object, rollout, repair bool)
}

// Plan is a deployment's ModifyPlan: API keys are write-only (planned
// null; their salted hashes are planned instead, unchanged when the
// configured keys match the recorded hashes); the gateway's host defaults
// to loopback; a new model, serve block, upstream, retrieval (a new index:
// re-indexing shows in the plan), replica count or any of the
// backend's RolloutAttrs plans a new revision (unknown); a deployment that
// refresh found degraded plans back to serving.
func Plan(opts PlanOptions) func(context.Context, *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	return func(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
		planned := req.Planned
		if planned.Value == cty.NilVal || planned.IsNull() || !planned.IsKnown() {
			return nil
		}
		create := req.IsCreate() || len(req.RequiresReplace) > 0
		var prior sdk.Object
		if !create {
			prior = req.Prior
		}
		planned.Set("access", gateway.PlanAccess(req.Config.Attr("access"), prior.Attr("access"), planned.Attr("access"), create))
		var d sdk.Diagnostics
		if acc := planned.Attr("access"); !acc.IsNull() && !acc.GetAttr("api_key_hashes").IsKnown() {
			for i, k := range NestedStrings(req.Config.Attr("access"), "api_keys") {
				if len(k) < 16 {
					warn(&d, cty.GetAttrPath("access").GetAttr("api_keys").IndexInt(i), "Short API key",
						"An API key shorter than 16 characters can be guessed; use a random one, e.g. from `openssl rand -hex 24`.")
				}
			}
		}
		if create {
			if !req.Config.IsSet("host") && req.Config.Known("host") {
				planned.SetString("host", "127.0.0.1")
			}
			if ip := net.ParseIP(req.Config.GetString("host")); ip != nil && !ip.IsLoopback() {
				warn(&d, cty.GetAttrPath("host"), "The endpoint is reachable from the network", fmt.Sprintf("host = %q: the gateway will accept connections from other machines over plain HTTP, API keys included. Put a TLS proxy in front, or keep the default 127.0.0.1.", ip))
			}
			return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
		}
		want := int64(1)
		if up := planned.Attr("upstream"); up != cty.NilVal && !up.IsNull() {
			want = 0 // no replica: the gateway forwards to the hosted API
		} else if planned.IsSet("replicas") {
			want = planned.GetInt("replicas")
		}
		rollout := !valueEq(replicasOf(prior), replicasOf(planned)) || !sameServe(prior.Attr("serve"), planned.Attr("serve")) ||
			!valueEq(prior.Attr("upstream"), planned.Attr("upstream")) || !valueEq(prior.Attr("retrieval"), planned.Attr("retrieval"))
		for _, a := range opts.RolloutAttrs {
			rollout = rollout || !valueEq(prior.Attr(a), planned.Attr(a))
		}
		if rollout {
			planned.SetUnknown("revision")
		}
		repair := prior.GetString("status") != StatusServing || prior.GetInt("healthy_replicas") != want || !planned.Known("replicas")
		if rollout || repair {
			planned.SetString("status", StatusServing)
			if planned.Known("replicas") {
				planned.SetInt("healthy_replicas", want)
			} else {
				planned.SetUnknown("healthy_replicas")
			}
		}
		if opts.Unknown != nil {
			opts.Unknown(&planned, prior, rollout, repair)
		}
		return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
	}
}

func warn(d *sdk.Diagnostics, path cty.Path, summary, detail string) {
	*d = append(*d, protocol.Diagnostic{Severity: protocol.Warning, Summary: summary, Detail: detail, Attribute: path})
}

func replicasOf(o sdk.Object) cty.Value {
	v := o.Attr("replicas")
	if v.IsKnown() && v.IsNull() {
		return cty.NumberIntVal(1)
	}
	return v
}

func valueEq(a, b cty.Value) bool {
	if a == cty.NilVal || b == cty.NilVal {
		return a == b
	}
	if !a.IsWhollyKnown() || !b.IsWhollyKnown() {
		return false
	}
	return a.Equals(b).True()
}

// sameServe compares what of the serve block makes a revision: command,
// env and health path (defaults applied).
func sameServe(a, b cty.Value) bool {
	if !a.IsWhollyKnown() || !b.IsWhollyKnown() {
		return false
	}
	if a.IsNull() || b.IsNull() {
		return a.IsNull() == b.IsNull()
	}
	ea, eb := NestedStringMap(a, "env"), NestedStringMap(b, "env")
	if len(ea) != len(eb) {
		return false
	}
	for k, v := range ea {
		if w, ok := eb[k]; !ok || w != v {
			return false
		}
	}
	hp := func(v cty.Value) string {
		if s := NestedString(v, "health_path"); s != "" {
			return s
		}
		return "/health"
	}
	return valueEq(a.GetAttr("command"), b.GetAttr("command")) && hp(a) == hp(b)
}

// nested returns attribute name of an object value, or cty.NilVal when
// the value or the attribute is null, unknown or missing.
func nested(v cty.Value, name string) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsWhollyKnown() {
		return cty.NilVal
	}
	return a
}

// NestedString reads a string attribute of an object value ("" when unset).
func NestedString(v cty.Value, name string) string {
	a := nested(v, name)
	if a == cty.NilVal || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// NestedStrings reads a list of strings attribute of an object value.
func NestedStrings(v cty.Value, name string) []string {
	a := nested(v, name)
	if a == cty.NilVal || !a.CanIterateElements() {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() && e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}

// NestedStringMap reads a map of strings attribute of an object value.
func NestedStringMap(v cty.Value, name string) map[string]string {
	a := nested(v, name)
	if a == cty.NilVal || !a.CanIterateElements() {
		return nil
	}
	out := map[string]string{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() && e.Type() == cty.String {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}
