package local

import (
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// done prepares a final state: `version` belongs to the engine, which sets
// it after apply; the provider leaves it as it is, or null when the plan
// left it unknown.
func done(st sdk.Object) sdk.Object {
	if !st.Known("version") {
		st.SetNull("version")
	}
	return st
}

// attrErr is an error diagnostic about one attribute.
func attrErr(path cty.Path, summary string, err error) sdk.Diagnostics {
	var d sdk.Diagnostics
	d.AttrErrorf(path, summary, "%s", err.Error())
	return d
}

func errResp(path cty.Path, summary string, err error) *sdk.Response {
	return &sdk.Response{Diagnostics: attrErr(path, summary, err)}
}

func attr(name string) cty.Path { return cty.GetAttrPath(name) }

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func setTime(st *sdk.Object, name string, t time.Time) {
	if t.IsZero() {
		st.SetNull(name)
		return
	}
	st.SetString(name, timestamp(t))
}

// intAttr reads a whole-number attribute of a nested block value.
func nestedInt(v cty.Value, name string) (int64, bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().HasAttribute(name) {
		return 0, false
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return 0, false
	}
	i, _ := a.AsBigFloat().Int64()
	return i, true
}

func nestedString(v cty.Value, name string) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().HasAttribute(name) {
		return ""
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	return a.AsString()
}

func nestedStrings(v cty.Value, name string) []string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().HasAttribute(name) {
		return nil
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsWhollyKnown() {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func nestedStringMap(v cty.Value, name string) map[string]string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().HasAttribute(name) {
		return nil
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsWhollyKnown() {
		return nil
	}
	out := map[string]string{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// warn appends a warning.
func warn(d *sdk.Diagnostics, path cty.Path, summary, detail string) {
	*d = append(*d, protocol.Diagnostic{Severity: protocol.Warning, Summary: summary, Detail: detail, Attribute: path})
}

// The metric and JSON helpers are shared with every provider's jobs.
var (
	numberMap = jobs.NumberMap
	floatMap  = jobs.FloatMap
	toJSON    = jobs.ToJSON
)
