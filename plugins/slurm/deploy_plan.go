package slurm

import (
	"context"
	"fmt"
	"net"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Planning and access of deployments, as the local provider does them
// (same attributes, same behaviour): API keys are write-only (planned
// null; their salted hashes are planned instead, unchanged when the
// configured keys match the recorded hashes); what the replica jobs run
// (model, serve block, replica count, resources, where they are
// submitted) plans a new revision; a deployment that refresh found
// degraded plans back to serving, with new jobs.

// rolloutAttrs are the attributes whose change rolls out a new revision.
var rolloutAttrs = []string{"model", "resources", "partition", "account", "qos", "node_ports"}

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
				warn(&d, attr("access").GetAttr("api_keys").IndexInt(i), "Short API key",
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
	if planned.IsSet("replicas") {
		want = planned.GetInt("replicas")
	}
	rollout := !valueEq(replicasOf(prior), replicasOf(planned)) || !sameServe(prior.Attr("serve"), planned.Attr("serve"))
	for _, a := range rolloutAttrs {
		rollout = rollout || !valueEq(prior.Attr(a), planned.Attr(a))
	}
	if rollout {
		planned.SetUnknown("revision")
	}
	repair := prior.GetString("status") != deployServing || prior.GetInt("healthy_replicas") != want || !planned.Known("replicas")
	if rollout || repair {
		planned.SetString("status", deployServing)
		if planned.Known("replicas") {
			planned.SetInt("healthy_replicas", want)
		} else {
			planned.SetUnknown("healthy_replicas")
		}
		// New jobs, on nodes and ports known once they run.
		planned.SetUnknown("backends")
		planned.SetUnknown("job_ids")
	}
	return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
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

func strList(l []string) cty.Value {
	if len(l) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(l))
	for i, s := range l {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func optString(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}
