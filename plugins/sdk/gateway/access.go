package gateway

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"
)

// Access is a deployment's access configuration as its provider records
// it: hashes only, never keys. It is what the gateway's Config carries.
type Access struct {
	Public            bool     `json:"public,omitempty"`
	KeyHashes         []string `json:"key_hashes,omitempty"`
	RequestsPerMinute float64  `json:"requests_per_minute,omitempty"`
}

var stringList = cty.List(cty.String)

// PlanAccess plans a deployment's access block (cfg is the configured
// block, prior and planned the prior state's and the proposed one):
// api_keys null, api_key_hashes the configured hashes, the prior hashes
// when the configured keys match them, null when public, else unknown (new
// salted hashes at apply).
func PlanAccess(cfg, prior, planned cty.Value, create bool) cty.Value {
	if planned == cty.NilVal || planned.IsNull() || !planned.IsKnown() {
		return planned
	}
	m := planned.AsValueMap()
	m["api_keys"] = cty.NullVal(stringList)
	keys, hashes, public := cfg.GetAttr("api_keys"), cfg.GetAttr("api_key_hashes"), cfg.GetAttr("public")
	switch {
	case !hashes.IsKnown() || !hashes.IsNull():
		m["api_key_hashes"] = hashes
	case !public.IsKnown():
		m["api_key_hashes"] = cty.UnknownVal(stringList)
	case !public.IsNull() && public.True():
		m["api_key_hashes"] = cty.NullVal(stringList)
	case !keys.IsWhollyKnown():
		m["api_key_hashes"] = cty.UnknownVal(stringList)
	case !create && prior != cty.NilVal && !prior.IsNull() && hashesMatch(prior.GetAttr("api_key_hashes"), keys):
		m["api_key_hashes"] = prior.GetAttr("api_key_hashes")
	default:
		m["api_key_hashes"] = cty.UnknownVal(stringList)
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
			if !used[i] && KeyMatches(h, k) {
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

// ctyStrings is the non-null elements of a known list of strings.
func ctyStrings(v cty.Value) []string {
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

// AccessFor is the gateway's access for an apply, from the configured and
// the planned access blocks: the planned hashes when known, else new
// salted hashes of the configured keys.
func AccessFor(cfg, planned cty.Value) (Access, error) {
	var a Access
	if cfg.IsNull() && planned.IsNull() {
		return a, fmt.Errorf("no access block: set access { api_keys = [...] } or access { public = true }")
	}
	src := planned
	if src.IsNull() {
		src = cfg
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
	if hs := ctyStrings(planned.GetAttr("api_key_hashes")); len(hs) > 0 {
		for _, h := range hs {
			if err := CheckKeyHash(h); err != nil {
				return a, err
			}
		}
		a.KeyHashes = hs
		return a, nil
	}
	if !cfg.IsNull() {
		for _, k := range ctyStrings(cfg.GetAttr("api_keys")) {
			h, err := HashKey(k)
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

// AccessState is the access block of a deployment's state: the configured
// values (cur) with api_keys null and the hashes in force (values the block
// lacks, as after an import, come from a).
func AccessState(cur cty.Value, a Access) cty.Value {
	m := map[string]cty.Value{
		"api_keys":            cty.NullVal(stringList),
		"api_key_hashes":      cty.NullVal(stringList),
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
		vals := make([]cty.Value, len(a.KeyHashes))
		for i, h := range a.KeyHashes {
			vals[i] = cty.StringVal(h)
		}
		m["api_key_hashes"] = cty.ListVal(vals)
	}
	return cty.ObjectVal(m)
}
