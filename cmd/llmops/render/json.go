package render

import (
	"encoding/json"
	"math/big"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
)

// JSONFormatVersion is the version of the machine-readable formats
// documented in docs/json-format.md.
const JSONFormatVersion = "1.0"

// JSONPlan is the `plan -json` / `show -json PLANFILE` document.
type JSONPlan struct {
	FormatVersion   string                      `json:"format_version"`
	Mode            string                      `json:"mode"`
	Lineage         string                      `json:"lineage,omitempty"`
	PrevSerial      int64                       `json:"prev_serial"`
	ResourceChanges []JSONChange                `json:"resource_changes"`
	ResourceDrift   []JSONChange                `json:"resource_drift"`
	OutputChanges   map[string]JSONOutputChange `json:"output_changes"`
	Summary         JSONSummary                 `json:"summary"`
	Errored         bool                        `json:"errored"`
}

// JSONSummary counts the actions.
type JSONSummary struct {
	Move    int `json:"move,omitempty"`
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Wait    int `json:"wait"`
}

// JSONChange is one instance's change. Before/After hold the values with
// unknown and sensitive parts replaced by null; AfterUnknown,
// BeforeSensitive and AfterSensitive are trees of the same shape with true
// where a value is unknown or sensitive (or true for the whole value).
type JSONChange struct {
	Address         string           `json:"address"`
	ModuleAddress   string           `json:"module_address,omitempty"`
	Mode            string           `json:"mode"`
	PrevAddress     string           `json:"previous_address,omitempty"`
	Type            string           `json:"type"`
	Name            string           `json:"name"`
	Index           any              `json:"index,omitempty"`
	Provider        string           `json:"provider"`
	Action          string           `json:"action"`
	Reason          string           `json:"reason,omitempty"`
	Before          any              `json:"before"`
	After           any              `json:"after"`
	AfterUnknown    any              `json:"after_unknown"`
	BeforeSensitive any              `json:"before_sensitive"`
	AfterSensitive  any              `json:"after_sensitive"`
	RequiresReplace [][]any          `json:"requires_replace,omitempty"`
	Placement       *plans.Placement `json:"placement,omitempty"`
	// Deposed is the key of a deposed object being destroyed (reason
	// "deposed"); absent for the current object of the address.
	Deposed string `json:"deposed,omitempty"`
}

// JSONOutputChange is one output's change; a sensitive output has
// "sensitive": true and no values.
type JSONOutputChange struct {
	Action       string `json:"action"`
	Sensitive    bool   `json:"sensitive"`
	Before       any    `json:"before,omitempty"`
	After        any    `json:"after,omitempty"`
	AfterUnknown bool   `json:"after_unknown,omitempty"`
}

// PlanJSON builds the JSON document of a plan.
func PlanJSON(p *plans.Plan) *JSONPlan {
	cnt := p.Counts()
	out := &JSONPlan{
		FormatVersion:   JSONFormatVersion,
		Mode:            string(p.Mode),
		Lineage:         p.Lineage,
		PrevSerial:      p.PrevSerial,
		ResourceChanges: []JSONChange{},
		ResourceDrift:   []JSONChange{},
		OutputChanges:   map[string]JSONOutputChange{},
		Summary:         JSONSummary{Move: cnt.Move, Add: cnt.Add, Change: cnt.Change, Replace: cnt.Replace, Destroy: cnt.Destroy, Wait: cnt.Wait},
		Errored:         p.Errored,
	}
	for _, ch := range p.Changes {
		out.ResourceChanges = append(out.ResourceChanges, jsonChange(ch))
	}
	for _, ch := range p.Deposed {
		out.ResourceChanges = append(out.ResourceChanges, jsonChange(ch))
	}
	for _, ch := range p.DataReads {
		out.ResourceChanges = append(out.ResourceChanges, jsonChange(ch))
	}
	for _, ch := range p.Drift {
		out.ResourceDrift = append(out.ResourceDrift, jsonChange(ch))
	}
	for _, o := range p.Outputs {
		oc := JSONOutputChange{Action: string(o.Action), Sensitive: o.Sensitive || isSensitive(o.After) || isSensitive(o.Before)}
		if !oc.Sensitive {
			oc.Before, _, _ = JSONValue(o.Before)
			var unk any
			oc.After, unk, _ = JSONValue(o.After)
			oc.AfterUnknown = unk == true
		}
		out.OutputChanges[o.Name] = oc
	}
	return out
}

func jsonChange(ch *plans.ResourceInstanceChange) JSONChange {
	jc := JSONChange{
		Address:       ch.Addr.String(),
		Mode:          mode(ch.Addr.Resource),
		ModuleAddress: ch.Addr.Resource.Module.String(),
		PrevAddress:   prevAddr(ch),
		Type:          ch.Addr.Resource.Type,
		Name:          ch.Addr.Resource.Name,
		Index:         KeyJSON(ch.Addr.Key),
		Provider:      ch.Provider.String(),
		Action:        string(ch.Action),
		Reason:        string(ch.Reason),
	}
	jc.Before, _, jc.BeforeSensitive = JSONValue(ch.Before)
	jc.After, jc.AfterUnknown, jc.AfterSensitive = JSONValue(ch.After)
	for _, p := range ch.RequiresReplace {
		jc.RequiresReplace = append(jc.RequiresReplace, PathJSON(p))
	}
	jc.Placement = ch.Placement
	jc.Deposed = ch.DeposedKey
	return jc
}

// KeyJSON is an instance key as JSON: a number, a string, or nil.
func KeyJSON(k addrs.InstanceKey) any {
	switch k := k.(type) {
	case addrs.IntKey:
		return int(k)
	case addrs.StringKey:
		return string(k)
	}
	return nil
}

// PathJSON is a cty path as a list of attribute names and keys.
func PathJSON(p cty.Path) []any {
	out := []any{}
	for _, s := range p {
		switch s := s.(type) {
		case cty.GetAttrStep:
			out = append(out, s.Name)
		case cty.IndexStep:
			switch {
			case !s.Key.IsKnown():
				out = append(out, "*")
			case s.Key.Type() == cty.String:
				out = append(out, s.Key.AsString())
			case s.Key.Type() == cty.Number:
				i, _ := s.Key.AsBigFloat().Int64()
				out = append(out, i)
			}
		}
	}
	return out
}

// JSONValue converts v for JSON output: the value with unknown and
// sensitive parts as null, and the unknown and sensitive trees (false
// when nothing is unknown or sensitive).
func JSONValue(v cty.Value) (val any, unknown any, sensitive any) {
	if v == cty.NilVal {
		return nil, false, false
	}
	if isSensitive(v) {
		return nil, false, true
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		return nil, true, false
	}
	if v.IsNull() {
		return nil, false, false
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), false, false
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return i, false, false
			}
		}
		return json.Number(bf.Text('g', -1)), false, false
	case ty == cty.Bool:
		return v.True(), false, false
	case ty.IsObjectType() || ty.IsMapType():
		m := map[string]any{}
		um := map[string]any{}
		sm := map[string]any{}
		for k, ev := range v.AsValueMap() {
			a, u, s := JSONValue(ev)
			m[k] = a
			if u != false {
				um[k] = u
			}
			if s != false {
				sm[k] = s
			}
		}
		return m, treeOrFalse(um), treeOrFalse(sm)
	default:
		var l, ul, sl []any
		anyU, anyS := false, false
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			a, u, s := JSONValue(ev)
			l = append(l, a)
			ul = append(ul, u)
			sl = append(sl, s)
			anyU = anyU || u != false
			anyS = anyS || s != false
		}
		if l == nil {
			l = []any{}
		}
		var ru, rs any = false, false
		if anyU {
			ru = ul
		}
		if anyS {
			rs = sl
		}
		return l, ru, rs
	}
}

func treeOrFalse(m map[string]any) any {
	if len(m) == 0 {
		return false
	}
	return m
}

// SortedNames returns map keys sorted.
func SortedNames[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mode is "managed" or "data", as in Terraform's JSON plan.
func mode(r addrs.Resource) string {
	if r.IsData() {
		return "data"
	}
	return "managed"
}

func prevAddr(ch *plans.ResourceInstanceChange) string {
	if ch.PrevAddr == nil {
		return ""
	}
	return ch.PrevAddr.String()
}
