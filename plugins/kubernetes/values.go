package kubernetes

import (
	"context"
	"encoding/json"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
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

func stringMap(a cty.Value) map[string]string {
	if a == cty.NilVal || a.IsNull() || !a.IsWhollyKnown() || !a.CanIterateElements() {
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

func nestedStringMap(v cty.Value, name string) map[string]string { return stringMap(nested(v, name)) }

func nestedMaps(v cty.Value, name string) []map[string]string {
	a := nested(v, name)
	if a == cty.NilVal || !a.CanIterateElements() {
		return nil
	}
	var out []map[string]string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, stringMap(e))
	}
	return out
}

// fromJSON turns a JSON document into a cty value of its implied type.
func fromJSON(raw json.RawMessage) (cty.Value, error) {
	ty, err := ctyjson.ImpliedType(raw)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(raw, ty)
}

// input makes sure an artifact is in the remote store (pushing it from
// this machine's store when needed) and returns its path in the local
// store: the job contract turns it into LLMOPS_INPUTS' digest.
func (m *meta) input(ctx context.Context, id string) (string, error) {
	p, err := m.store.ResolveContext(ctx, id)
	if err != nil {
		return "", err
	}
	pid, err := artifacts.ParseID(id)
	if err != nil {
		return "", err
	}
	if err := m.store.Push(ctx, pid); err != nil {
		return "", errorf("pushing %s to the remote artifact store: %v", id, err)
	}
	return p, nil
}

// datasetEnv fills a job's dataset variables from a dataset id.
func (m *meta) datasetEnv(ctx context.Context, e *jobs.Env, id string, eval bool) error {
	dir, err := m.input(ctx, id)
	if err != nil {
		return err
	}
	info, err := jobs.ReadDatasetInfo(dir)
	if err != nil {
		return err
	}
	info.DatasetEnv(e, dir, eval)
	return nil
}

// requestOf maps the resources and kubernetes blocks to the Job's request.
func (m *meta) requestOf(st sdk.Object) (jobRequest, sdk.Diagnostics) {
	var d sdk.Diagnostics
	r := jobRequest{Image: m.image, Nodes: 1}
	if res := st.Attr("resources"); res != cty.NilVal {
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
			r.MemoryMiB = int64(f*1024 + 0.5)
		}
		if s := nestedString(res, "max_duration"); s != "" {
			dur, err := schema.ParseDuration(s)
			if err != nil {
				d.AttrErrorf(attr("resources").GetAttr("max_duration"), "Invalid duration", "%v", err)
			}
			r.DeadlineSecs = int64(dur.Seconds() + 0.999)
		}
	}
	if kb := st.Attr("kubernetes"); kb != cty.NilVal && !kb.IsNull() {
		if s := nestedString(kb, "image"); s != "" {
			r.Image = s
		}
		r.NodeSelector = nestedStringMap(kb, "node_selector")
		for _, t := range nestedMaps(kb, "tolerations") {
			r.Tolerations = append(r.Tolerations, toleration{Key: t["key"], Operator: t["operator"], Value: t["value"], Effect: t["effect"]})
		}
		r.PriorityClass = nestedString(kb, "priority_class")
		r.Queue = nestedString(kb, "queue")
		r.ServiceAccount = nestedString(kb, "service_account")
		if s := nestedString(kb, "queue_timeout"); s != "" {
			dur, err := schema.ParseDuration(s)
			if err != nil {
				d.AttrErrorf(attr("kubernetes").GetAttr("queue_timeout"), "Invalid duration", "%v", err)
			}
			r.QueueTimeout = int64(dur.Seconds() + 0.999)
		}
	}
	if r.Image == "" {
		d.AttrErrorf(attr("kubernetes").GetAttr("image"), "Missing image", "Set image in the provider \"kubernetes\" block (the default for every job) or in this object's kubernetes block: the container image that holds the command.")
	}
	return r, d
}

// retryPolicy is the `retry` block.
type retryPolicy struct {
	Attempts int      `json:"attempts"`
	On       []string `json:"on"`
}

func (p retryPolicy) allows(ending string, attempt int) bool {
	return attempt < p.Attempts && contains(p.On, ending)
}

func retryOf(st sdk.Object) retryPolicy {
	p := retryPolicy{Attempts: 1, On: []string{"preempted", "node_fail"}}
	v := st.Attr("retry")
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return p
	}
	if n, ok := nestedInt(v, "attempts"); ok && n > 0 {
		p.Attempts = int(n)
	}
	if nested(v, "on") != cty.NilVal {
		p.On = nestedStrings(v, "on")
	}
	return p
}
