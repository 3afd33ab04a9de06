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
	planned.Set("access", planAccess(req.Config.Attr("access"), prior.Attr("access"), planned.Attr("access"), create))
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

// planAccess plans the access block: api_keys null, api_key_hashes the
// configured hashes, the prior hashes when the configured keys match them,
// null when public, else unknown (new salted hashes at apply).
func planAccess(cfg, prior, planned cty.Value, create bool) cty.Value {
	if planned == cty.NilVal || planned.IsNull() || !planned.IsKnown() {
		return planned
	}
	m := planned.AsValueMap()
	listT := cty.List(cty.String)
	m["api_keys"] = cty.NullVal(listT)
	keys, hashes, public := cfg.GetAttr("api_keys"), cfg.GetAttr("api_key_hashes"), cfg.GetAttr("public")
	switch {
	case !hashes.IsKnown() || !hashes.IsNull():
		m["api_key_hashes"] = hashes
	case !public.IsKnown():
		m["api_key_hashes"] = cty.UnknownVal(listT)
	case !public.IsNull() && public.True():
		m["api_key_hashes"] = cty.NullVal(listT)
	case !keys.IsWhollyKnown():
		m["api_key_hashes"] = cty.UnknownVal(listT)
	case !create && prior != cty.NilVal && !prior.IsNull() && hashesMatch(prior.GetAttr("api_key_hashes"), keys):
		m["api_key_hashes"] = prior.GetAttr("api_key_hashes")
	default:
		m["api_key_hashes"] = cty.UnknownVal(listT)
	}
	return cty.ObjectVal(m)
}

// hashesMatch reports whether the keys are exactly the keys the hashes
// were made from (each key matching a different hash).
func hashesMatch(hashes, keys cty.Value) bool {
	if hashes.IsNull() || !hashes.IsWhollyKnown() || keys.IsNull() {
		return false
	}
	hs, ks := ctyStrings(hashes), ctyStrings(keys)
	if len(hs) != len(ks) || len(ks) == 0 {
		return false
	}
	used := make([]bool, len(hs))
	for _, k := range ks {
		found := false
		for i, h := range hs {
			if !used[i] && gateway.KeyMatches(h, k) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func ctyStrings(v cty.Value) []string {
	var out []string
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

// accessFor is the gateway's access for an apply: the planned hashes when
// known, else new salted hashes of the configured keys.
func accessFor(cfg, planned sdk.Object) (depAccess, error) {
	acc, pl := cfg.Attr("access"), planned.Attr("access")
	var a depAccess
	if acc.IsNull() && pl.IsNull() {
		return a, fmt.Errorf("no access block: set access { api_keys = [...] } or access { public = true }")
	}
	src := pl
	if src.IsNull() {
		src = acc
	}
	if v := src.GetAttr("public"); v.IsKnown() && !v.IsNull() && v.True() {
		a.Public = true
	}
	if v := src.GetAttr("requests_per_minute"); v.IsKnown() && !v.IsNull() {
		a.RequestsPerMinute, _ = v.AsBigFloat().Float64()
	}
	if a.Public {
		return a, nil
	}
	if hs := ctyStrings(pl.GetAttr("api_key_hashes")); len(hs) > 0 {
		for _, h := range hs {
			if err := gateway.CheckKeyHash(h); err != nil {
				return a, err
			}
		}
		a.KeyHashes = hs
		return a, nil
	}
	if !acc.IsNull() {
		for _, k := range ctyStrings(acc.GetAttr("api_keys")) {
			h, err := gateway.HashKey(k)
			if err != nil {
				return a, err
			}
			a.KeyHashes = append(a.KeyHashes, h)
		}
	}
	if len(a.KeyHashes) == 0 {
		return a, fmt.Errorf("no API keys and not public: set api_keys, or public = true")
	}
	return a, nil
}

// accessState is the access block of a state: the configured values with
// api_keys null and the hashes in force (values the block lacks, as after
// an import, come from the record).
func accessState(cur cty.Value, a depAccess) cty.Value {
	listT := cty.List(cty.String)
	m := map[string]cty.Value{
		"api_keys":            cty.NullVal(listT),
		"api_key_hashes":      cty.NullVal(listT),
		"public":              cty.NullVal(cty.Bool),
		"requests_per_minute": cty.NullVal(cty.Number),
	}
	if cur != cty.NilVal && !cur.IsNull() && cur.IsKnown() {
		m["public"], m["requests_per_minute"] = cur.GetAttr("public"), cur.GetAttr("requests_per_minute")
	} else {
		if a.Public {
			m["public"] = cty.True
		}
		if a.RequestsPerMinute > 0 {
			m["requests_per_minute"] = cty.NumberFloatVal(a.RequestsPerMinute)
		}
	}
	if len(a.KeyHashes) > 0 {
		m["api_key_hashes"] = strList(a.KeyHashes)
	}
	return cty.ObjectVal(m)
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
