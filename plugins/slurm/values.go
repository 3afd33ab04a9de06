package slurm

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

// done prepares a final state: `version` belongs to the engine.
func done(st sdk.Object) sdk.Object {
	if !st.Known("version") {
		st.SetNull("version")
	}
	return st
}

func setTime(st *sdk.Object, name string, t time.Time) {
	if t.IsZero() {
		st.SetNull(name)
		return
	}
	st.SetString(name, t.UTC().Format(time.RFC3339))
}

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

func nestedInt(v cty.Value, name string) (int64, bool) {
	a := nested(v, name)
	if a == cty.NilVal || a.Type() != cty.Number {
		return 0, false
	}
	i, _ := a.AsBigFloat().Int64()
	return i, true
}

func nestedString(v cty.Value, name string) string {
	a := nested(v, name)
	if a == cty.NilVal || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

func nestedStrings(v cty.Value, name string) []string {
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

func nestedStringMap(v cty.Value, name string) map[string]string {
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// quoteArgv renders a command for messages.
func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}") {
			b, _ := json.Marshal(a)
			q[i] = string(b)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// resourcesOf maps the `resources` block (and the object's partition,
// account and qos, else the provider's) to the scheduler request.
func resourcesOf(m *meta, st sdk.Object) (resources, sdk.Diagnostics) {
	var d sdk.Diagnostics
	r := resources{
		Partition: firstNonEmpty(st.GetString("partition"), m.partition),
		Account:   firstNonEmpty(st.GetString("account"), m.account),
		QOS:       firstNonEmpty(st.GetString("qos"), m.qos),
	}
	res := st.Attr("resources")
	if res == cty.NilVal {
		return r, d
	}
	if n, ok := nestedInt(res, "nodes"); ok {
		r.Nodes = int(n)
	}
	if n, ok := nestedInt(res, "gpus"); ok {
		r.GPUs = int(n)
	}
	r.GPUType = nestedString(res, "gpu_type")
	if n, ok := nestedInt(res, "cpus"); ok {
		r.CPUs = int(n)
	}
	if a := nested(res, "memory_gb"); a != cty.NilVal {
		f, _ := a.AsBigFloat().Float64()
		r.MemMB = int64(f*1024 + 0.5)
	}
	if s := nestedString(res, "max_duration"); s != "" {
		dur, err := schema.ParseDuration(s)
		if err != nil {
			d.AttrErrorf(cty.GetAttrPath("resources").GetAttr("max_duration"), "Invalid duration", "%v", err)
		}
		r.Minutes = minutes(dur)
	}
	return r, d
}

// retryOf reads the `retry` block: attempts in all (default 1: no retry),
// and the failures that allow another attempt (default preempted and
// node_fail).
func retryOf(st sdk.Object) retryPolicy {
	p := retryPolicy{Attempts: 1}
	v := st.Attr("retry")
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return p
	}
	if n, ok := nestedInt(v, "attempts"); ok && n > 0 {
		p.Attempts = int(n)
	}
	p.On = nestedStrings(v, "on")
	if nested(v, "on") == cty.NilVal {
		p.On = []string{failPreempted, failNodeFail}
	}
	return p
}

// The metric and JSON helpers are shared with every provider's jobs.
var (
	numberMap = jobs.NumberMap
	floatMap  = jobs.FloatMap
	toJSON    = jobs.ToJSON
)
