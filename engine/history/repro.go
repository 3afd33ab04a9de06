package history

import (
	"encoding/json"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/state"
)

// EventProviders is the event recorded with each state version that names
// the provider versions and binary hashes used to write it.
const EventProviders = "version.providers"

// ProviderInfo is a provider's version and binary hash.
type ProviderInfo struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256,omitempty"`
}

// ProvidersData encodes the provider record of a version.
func ProvidersData(serial int64, p map[string]ProviderInfo) []byte {
	b, _ := json.Marshal(map[string]any{"serial": serial, "providers": p})
	return b
}

// ProvidersAt returns the providers recorded by the newest version at or
// before serial.
func ProvidersAt(events []state.Event, serial int64) map[string]ProviderInfo {
	var best map[string]ProviderInfo
	var bestSerial int64 = -1
	for _, ev := range events {
		if ev.Kind != EventProviders {
			continue
		}
		var d struct {
			Serial    int64                   `json:"serial"`
			Providers map[string]ProviderInfo `json:"providers"`
		}
		if json.Unmarshal(ev.Data, &d) != nil || d.Serial > serial || d.Serial < bestSerial {
			continue
		}
		best, bestSerial = d.Providers, d.Serial
	}
	return best
}

// Input is one input of a training run, resolved to the object that
// produced it.
type Input struct {
	Attribute string            `json:"attribute"`
	ID        string            `json:"id"`
	Address   string            `json:"address,omitempty"`
	Digest    string            `json:"digest,omitempty"`
	Facts     map[string]string `json:"facts,omitempty"`
}

// RunRecord is what it takes to reproduce one training run.
type RunRecord struct {
	Address         string                  `json:"address"`
	Method          string                  `json:"method,omitempty"`
	Command         []string                `json:"command,omitempty"`
	Hyperparameters json.RawMessage         `json:"hyperparameters,omitempty"`
	Inputs          []Input                 `json:"inputs"`
	OutputModel     string                  `json:"output_model,omitempty"`
	Provider        string                  `json:"provider"`
	Providers       map[string]ProviderInfo `json:"provider_versions,omitempty"`
}

// Reproducibility returns the record of every training run in objs.
func Reproducibility(objs map[addrs.ResourceInstance]*Object, providers map[string]ProviderInfo) []RunRecord {
	byID := map[string]*Object{}
	for _, o := range objs {
		for _, a := range []string{"id", "output_model", "digest"} {
			if s := AttrString(o.Value, a); s != "" {
				if _, taken := byID[s]; !taken || a == "id" {
					byID[s] = o
				}
			}
		}
	}
	var out []RunRecord
	for _, o := range objs {
		if o.Addr.Resource.Type != "training_run" {
			continue
		}
		r := RunRecord{Address: o.Addr.String(), Method: AttrString(o.Value, "method"), OutputModel: AttrString(o.Value, "output_model"),
			Provider: o.Provider.String(), Providers: providers}
		if c := Attr(o.Value, "command"); c != cty.NilVal && c.IsKnown() && !c.IsNull() {
			for it := c.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.Type() == cty.String && !e.IsNull() {
					r.Command = append(r.Command, e.AsString())
				}
			}
		}
		if h := Attr(o.Value, "hyperparameters"); h != cty.NilVal {
			if b, err := json.Marshal(jsonOf(h)); err == nil {
				r.Hyperparameters = b
			}
		}
		for _, a := range []string{"base_model", "dataset", "eval_dataset", "resume_from"} {
			id := AttrString(o.Value, a)
			if id == "" {
				continue
			}
			in := Input{Attribute: a, ID: id}
			if src := byID[id]; src != nil {
				in.Address = src.Addr.String()
				in.Digest = AttrString(src.Value, "digest")
				in.Facts = map[string]string{}
				for _, f := range []string{"source", "revision", "rows", "format"} {
					if v := Attr(src.Value, f); v != cty.NilVal && !v.IsNull() {
						in.Facts[f] = short(v)
					}
				}
			}
			r.Inputs = append(r.Inputs, in)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

func jsonOf(v cty.Value) any {
	if v.IsMarked() || !v.IsKnown() || v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case ty.IsObjectType() || ty.IsMapType():
		m := map[string]any{}
		for k, e := range v.AsValueMap() {
			m[k] = jsonOf(e)
		}
		return m
	default:
		var l []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			l = append(l, jsonOf(e))
		}
		return l
	}
}
