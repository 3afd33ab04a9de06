package local

import (
	"context"
	"fmt"
	"net"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/gateway"
)

// planDeployment: API keys are write-only (planned null; their salted
// hashes are planned instead, unchanged when the configured keys match the
// recorded hashes); a new model, serve block or replica count plans a new
// revision; a deployment that refresh found degraded plans back to serving.
func planDeployment(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
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
		for i, k := range nestedStrings(req.Config.Attr("access"), "api_keys") {
			if len(k) < 16 {
				warn(&d, attr("access").GetAttr("api_keys").Index(cty.NumberIntVal(int64(i))), "Short API key",
					"An API key shorter than 16 characters can be guessed; use a random one, e.g. from `openssl rand -hex 24`.")
			}
		}
	}
	if create {
		if !req.Config.IsSet("host") && req.Config.Known("host") {
			planned.SetString("host", "127.0.0.1")
		}
		if ip := net.ParseIP(req.Config.GetString("host")); ip != nil && !ip.IsLoopback() {
			warn(&d, attr("host"), "The endpoint is reachable from the network", fmt.Sprintf("host = %q: the gateway will accept connections from other machines over plain HTTP, API keys included. Put a TLS proxy in front, or keep the default 127.0.0.1.", ip))
		}
		return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
	}
	want := int64(1)
	if up := planned.Attr("upstream"); up != cty.NilVal && !up.IsNull() {
		want = 0 // no replica: the gateway forwards to the hosted API
	} else if planned.IsSet("replicas") {
		want = planned.GetInt("replicas")
	}
	rollout := !valueEq(prior.Attr("model"), planned.Attr("model")) || !valueEq(replicasOf(prior), replicasOf(planned)) ||
		!sameServe(prior.Attr("serve"), planned.Attr("serve")) || !valueEq(prior.Attr("upstream"), planned.Attr("upstream"))
	if rollout {
		planned.SetUnknown("revision")
		planned.SetUnknown("model_digest")
	}
	if rollout || prior.GetString("status") != deployServing || prior.GetInt("healthy_replicas") != want || !planned.Known("replicas") {
		planned.SetString("status", deployServing)
		if planned.Known("replicas") {
			planned.SetInt("healthy_replicas", want)
		} else {
			planned.SetUnknown("healthy_replicas")
		}
	}
	if prior.GetString("status") != deployServing {
		planned.SetUnknown("model_digest")
	}
	return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
}

func replicasOf(o sdk.Object) cty.Value {
	v := o.Attr("replicas")
	if v.IsKnown() && v.IsNull() {
		return cty.NumberIntVal(1)
	}
	return v
}

func valueEq(a, b cty.Value) bool {
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
	ea, eb := nestedStringMap(a, "env"), nestedStringMap(b, "env")
	if len(ea) != len(eb) {
		return false
	}
	for k, v := range ea {
		if w, ok := eb[k]; !ok || w != v {
			return false
		}
	}
	hp := func(v cty.Value) string {
		if s := nestedString(v, "health_path"); s != "" {
			return s
		}
		return "/health"
	}
	return valueEq(a.GetAttr("command"), b.GetAttr("command")) && hp(a) == hp(b)
}
