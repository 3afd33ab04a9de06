package local_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func checkBlock(bounds map[string][2]*float64) cty.Value {
	m := map[string]cty.Value{}
	for name, b := range bounds {
		c := map[string]cty.Value{"min": cty.NullVal(cty.Number), "max": cty.NullVal(cty.Number)}
		if b[0] != nil {
			c["min"] = cty.NumberFloatVal(*b[0])
		}
		if b[1] != nil {
			c["max"] = cty.NumberFloatVal(*b[1])
		}
		m[name] = obj(c)
	}
	return cty.MapVal(m)
}

func fp(f float64) *float64 { return &f }

func breachesOf(st cty.Value) map[string]string {
	out := map[string]string{}
	for it := st.GetAttr("breaches").ElementIterator(); it.Next(); {
		_, b := it.Element()
		out[b.GetAttr("check").AsString()] = b.GetAttr("kind").AsString()
	}
	return out
}

func TestMonitorMetricsAndEvalChecks(t *testing.T) {
	t.Parallel()
	h, model := deployFixture(t)
	dep := h.apply("deployment", cty.NilVal, h.deployment(depCfg{model: model, tag: "m", keys: []string{depKey}}))
	if dep.diags.HasErrors() {
		t.Fatal(diagText(dep.diags))
	}
	ep := attrStr(dep.state, "endpoint")
	ev := h.apply("evaluation", cty.NilVal, h.fill("evaluation", map[string]cty.Value{
		"model": str(model), "command": strs(testJobCommand(t)), "env": smap(map[string]string{"LLMOPS_TEST_JOB": "eval", "LLMOPS_TEST_ACCURACY": "0.9"}),
	}))
	if ev.diags.HasErrors() {
		t.Fatal(diagText(ev.diags))
	}
	cfg := h.fill("monitor", map[string]cty.Value{
		"deployment":  str(attrStr(dep.state, "id")),
		"interval":    str("1s"),
		"evaluations": smap(map[string]string{"quality": attrStr(ev.state, "id")}),
		"api_key":     str(depKey),
		"check": checkBlock(map[string][2]*float64{
			"p95_latency_ms":               {nil, fp(0.0001)}, // impossible
			"error_rate":                   {nil, fp(0.5)},
			"requests_per_minute":          {fp(0), nil},
			"eval:quality.accuracy":        {fp(0.95), nil},    // 0.9: a breach
			"eval:quality.endpoint_status": {fp(200), fp(200)}, // the rerun reached the endpoint with the key
			"eval:quality.model_path_set":  {nil, fp(0)},       // and was not given the model path
		}),
	})
	mo := h.apply("monitor", cty.NilVal, cfg)
	if mo.diags.HasErrors() {
		t.Fatal(diagText(mo.diags))
	}
	st := mo.state
	if attrStr(st, "status") != "breach" || !strings.HasPrefix(attrStr(st, "id"), "mon-") || attrStr(st, "last_checked") == "" || num64(st, "deployment_revision") != 1 {
		t.Fatalf("created monitor: %#v", st)
	}
	if b := breachesOf(st); len(b) != 1 || b["eval:quality.accuracy"] != "min" {
		t.Fatalf("breaches at creation (no traffic yet, so no latency): %v", b)
	}
	if _, ok := st.GetAttr("values").AsValueMap()["p95_latency_ms"]; ok {
		t.Fatalf("a latency without traffic: %#v", st.GetAttr("values"))
	}
	// Within the interval, a refresh reuses the reading. The interval is
	// made an hour for this read: with 1s, a loaded machine can take longer
	// than that between the reading (taken before the evaluation's rerun)
	// and this read, which would then rightly measure again.
	within := st.AsValueMap()
	within["interval"] = cty.StringVal("1h")
	if rr := h.read("monitor", cty.ObjectVal(within)); rr.NewState != cty.NilVal && !rr.NewState.RawEquals(cty.ObjectVal(within)) {
		t.Fatalf("a second read within the interval changed the state")
	}
	for i := 0; i < 5; i++ {
		if r := complete(t, ep, depKey); r.code != 200 {
			t.Fatal(r)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	rr := h.read("monitor", st)
	if rr.Diagnostics.HasErrors() {
		t.Fatal(diagText(rr.Diagnostics))
	}
	st = rr.NewState
	b := breachesOf(st)
	if attrStr(st, "status") != "breach" || b["p95_latency_ms"] != "max" || b["eval:quality.accuracy"] != "min" || len(b) != 2 {
		t.Fatalf("after traffic: status %s breaches %v values %#v", attrStr(st, "status"), b, st.GetAttr("values"))
	}
	vals := st.GetAttr("values").AsValueMap()
	if v, _ := vals["error_rate"].AsBigFloat().Float64(); v != 0 {
		t.Fatalf("error_rate %v", v)
	}
	if v, _ := vals["requests_per_minute"].AsBigFloat().Float64(); v <= 0 {
		t.Fatalf("requests_per_minute %v", v)
	}
	// Import by id restores the configuration and the last reading.
	ir := h.p.ImportResourceState(t.Context(), protocol.ImportResourceStateRequest{TypeName: "monitor", ID: attrStr(st, "id")})
	if ir.Diagnostics.HasErrors() || len(ir.Imported) != 1 {
		t.Fatalf("import: %s", diagText(ir.Diagnostics))
	}
	if imp := ir.Imported[0].State; attrStr(imp, "deployment") != attrStr(st, "deployment") || attrStr(imp, "status") != "breach" || !imp.GetAttr("api_key").IsNull() {
		t.Fatalf("imported: %#v", imp)
	}
	if d := h.delete("monitor", st); d.HasErrors() {
		t.Fatal(diagText(d))
	}
	if rr := h.read("monitor", st); rr.NewState != cty.NilVal && !rr.NewState.IsNull() {
		t.Fatalf("read after delete: %#v", rr.NewState)
	}
}

func TestMonitorValidation(t *testing.T) {
	h, _ := deployFixture(t)
	for _, c := range []struct {
		checks string
		want   string
	}{
		{"p99_latency", "not a check of the local provider"},
		{"eval:quality", "eval:<evaluation>.<metric>"},
		{"eval:other.accuracy", "not a key of evaluations"},
	} {
		cfg := h.fill("monitor", map[string]cty.Value{
			"deployment":  str("dep-0123456789abcdef"),
			"evaluations": smap(map[string]string{"quality": "eval-0123456789abcdef"}),
			"check":       checkBlock(map[string][2]*float64{c.checks: {nil, fp(1)}}),
		})
		r := h.plan("monitor", cty.NilVal, cfg)
		if !strings.Contains(diagText(r.Diagnostics), c.want) {
			t.Errorf("check %q: want %q, got %s", c.checks, c.want, diagText(r.Diagnostics))
		}
	}
	cfg := h.fill("monitor", map[string]cty.Value{"deployment": str("dep-0123456789abcdef"), "check": checkBlock(map[string][2]*float64{"error_rate": {nil, fp(0.1)}})})
	if a := h.apply("monitor", cty.NilVal, cfg); !strings.Contains(diagText(a.diags), "no deployment dep-0123456789abcdef serves through an llmops gateway") {
		t.Errorf("a monitor of a missing deployment: %s", diagText(a.diags))
	}
}

// A monitor watches a deployment that another provider (slurm) serves
// through llmops' gateway: it finds it by the listing that provider
// published in the shared artifact store, and says so when it is gone.
func TestMonitorWatchesListedDeployment(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir())
	replica := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"model":"m","choices":[{"text":"ok"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`)
	}))
	defer replica.Close()
	hash, err := gateway.HashKey(depKey)
	if err != nil {
		t.Fatal(err)
	}
	const id = "dep-00000000000000aa"
	srv, err := gateway.NewServer(&gateway.Config{Deployment: id, Revision: 3, Backends: []gateway.Backend{{URL: replica.URL, Revision: 3}}, KeyHashes: []string{hash}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gw := httptest.NewServer(srv)
	defer gw.Close()
	if err := gateway.Publish(h.store, gateway.Listing{Deployment: id, Provider: "slurm", Endpoint: gw.URL + "/v1", Revision: 3}); err != nil {
		t.Fatal(err)
	}
	cfg := h.fill("monitor", map[string]cty.Value{
		"deployment": str(id),
		"interval":   str("1s"),
		"check": checkBlock(map[string][2]*float64{
			"error_rate":          {nil, fp(0.01)},
			"requests_per_minute": {fp(0), nil},
		}),
	})
	mo := h.apply("monitor", cty.NilVal, cfg)
	if mo.diags.HasErrors() {
		t.Fatal(diagText(mo.diags))
	}
	if num64(mo.state, "deployment_revision") != 3 {
		t.Fatalf("the monitor does not read the listed revision: %#v", mo.state)
	}
	for i := 0; i < 4; i++ {
		if r := complete(t, gw.URL+"/v1", depKey); r.code != 200 {
			t.Fatal(r)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	rr := h.read("monitor", mo.state)
	if rr.Diagnostics.HasErrors() {
		t.Fatal(diagText(rr.Diagnostics))
	}
	st := rr.NewState
	vals := st.GetAttr("values").AsValueMap()
	if attrStr(st, "status") != "ok" || vals["requests_per_minute"] == cty.NilVal {
		t.Fatalf("after traffic through the listed gateway: status %s values %#v", attrStr(st, "status"), st.GetAttr("values"))
	}
	if v, _ := vals["requests_per_minute"].AsBigFloat().Float64(); v <= 0 {
		t.Fatalf("requests_per_minute %v after 4 requests", v)
	}
	// The serving provider destroys the deployment: no data, and a new
	// monitor of it is refused with what to do.
	if err := gateway.Withdraw(h.store, id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if rr := h.read("monitor", st); rr.Diagnostics.HasErrors() || attrStr(rr.NewState, "status") != "no_data" {
		t.Fatalf("a monitor of a withdrawn deployment: status %s %s", attrStr(rr.NewState, "status"), diagText(rr.Diagnostics))
	}
	if a := h.apply("monitor", cty.NilVal, cfg); !strings.Contains(diagText(a.diags), "no deployment "+id+" serves through an llmops gateway") {
		t.Fatalf("a monitor of a withdrawn deployment: %s", diagText(a.diags))
	}
}
