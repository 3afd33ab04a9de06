package local_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

const depKey = "sk-deploy-test-0123456789"

// deployFixture stores the fixture model and returns a harness and the
// model's id.
func deployFixture(t *testing.T) (*harness, string) {
	t.Helper()
	fx := fixtures(t)
	h := newHarness(t, t.TempDir(), fx)
	mo := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("file://" + filepath.Join(fx, "base"))}))
	if mo.diags.HasErrors() {
		t.Fatal(diagText(mo.diags))
	}
	t.Cleanup(func() { killDeployments(h.store) })
	return h, attrStr(mo.state, "id")
}

// killDeployments stops every gateway and replica recorded under store.
func killDeployments(store string) {
	recs, _ := filepath.Glob(filepath.Join(store, "runs", "local", "deployment", "*", "deployment.json"))
	for _, p := range recs {
		var r struct {
			Gateway  struct{ PID int }
			Replicas []struct{ PID int }
		}
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &r)
		pids := []int{r.Gateway.PID}
		for _, x := range r.Replicas {
			pids = append(pids, x.PID)
		}
		for _, pid := range pids {
			if pid > 0 {
				syscall.Kill(-pid, syscall.SIGKILL)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

type depCfg struct {
	model, tag, mode, timeout, strategy string
	replicas                            int
	keys                                []string
	public                              bool
	rpm                                 float64
}

func (h *harness) deployment(c depCfg) cty.Value {
	env := map[string]string{"LLMOPS_TEST_JOB": "serve", "LLMOPS_TEST_SERVE_TAG": c.tag}
	if c.mode != "" {
		env["LLMOPS_TEST_SERVE_MODE"] = c.mode
	}
	serve := map[string]cty.Value{"command": strs(testJobCommand(h.t), "-model", "{model_path}", "-port", "{port}"), "env": smap(env),
		"health_path": cty.NullVal(cty.String), "health_timeout": cty.NullVal(cty.String)}
	if c.timeout != "" {
		serve["health_timeout"] = str(c.timeout)
	}
	access := map[string]cty.Value{"api_keys": cty.NullVal(cty.List(cty.String)), "api_key_hashes": cty.NullVal(cty.List(cty.String)),
		"public": cty.NullVal(cty.Bool), "requests_per_minute": cty.NullVal(cty.Number)}
	if len(c.keys) > 0 {
		access["api_keys"] = strs(c.keys...)
	}
	if c.public {
		access["public"] = cty.True
	}
	if c.rpm > 0 {
		access["requests_per_minute"] = cty.NumberFloatVal(c.rpm)
	}
	m := map[string]cty.Value{"model": str(c.model), "serve": obj(serve), "access": obj(access)}
	if c.replicas > 0 {
		m["replicas"] = cty.NumberIntVal(int64(c.replicas))
	}
	if c.strategy != "" {
		m["strategy"] = str(c.strategy)
	}
	return h.fill("deployment", m)
}

type completionReply struct {
	code     int
	model    string
	revision string
	body     string
}

var testClient = &http.Client{Timeout: 10 * time.Second}

func complete(t testing.TB, endpoint, key string) completionReply {
	t.Helper()
	req, _ := http.NewRequest("POST", endpoint+"/completions", strings.NewReader(`{"prompt":"Hello","max_tokens":8}`))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return completionReply{code: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct{ Model string }
	json.Unmarshal(b, &doc)
	return completionReply{code: resp.StatusCode, model: doc.Model, revision: resp.Header.Get("X-LLMOps-Revision"), body: string(b)}
}

type rawReply struct {
	code       int
	retryAfter string
	body       string
}

func completeRaw(t testing.TB, endpoint, key string) rawReply {
	t.Helper()
	req, _ := http.NewRequest("POST", endpoint+"/completions", strings.NewReader(`{"prompt":"Hello","max_tokens":8}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := testClient.Do(req)
	if err != nil {
		return rawReply{code: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawReply{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
}

func num64(v cty.Value, name string) int64 {
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return -1
	}
	i, _ := a.AsBigFloat().Int64()
	return i
}

// hammer sends completions until stop is closed and returns the failures.
func hammer(t testing.TB, endpoint, key string, workers int) (stop func() (ok int, failed []string)) {
	done := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed []string
	n := 0
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r := complete(t, endpoint, key)
				mu.Lock()
				if r.code != 200 {
					failed = append(failed, fmt.Sprintf("%d %s", r.code, r.body))
				} else {
					n++
				}
				mu.Unlock()
			}
		}()
	}
	return func() (int, []string) {
		close(done)
		wg.Wait()
		return n, failed
	}
}

func TestDeploymentLifecycle(t *testing.T) {
	t.Parallel()
	h, model := deployFixture(t)
	cfg := depCfg{model: model, tag: "v1", replicas: 2, keys: []string{depKey}}
	a := h.apply("deployment", cty.NilVal, h.deployment(cfg))
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	st := a.state
	ep := attrStr(st, "endpoint")
	if !strings.HasPrefix(attrStr(st, "id"), "dep-") || !strings.HasPrefix(ep, "http://127.0.0.1:") || !strings.HasSuffix(ep, "/v1") ||
		num64(st, "revision") != 1 || attrStr(st, "status") != "serving" || num64(st, "healthy_replicas") != 2 {
		t.Fatalf("created state: %#v", st)
	}
	acc := st.GetAttr("access")
	if !acc.GetAttr("api_keys").IsNull() || acc.GetAttr("api_key_hashes").LengthInt() != 1 {
		t.Fatalf("access in state: %#v (api_keys must be null, one hash)", acc)
	}
	// The key is nowhere on disk.
	filepath.Walk(filepath.Join(h.store, "runs", "local", "deployment"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), depKey) {
				t.Errorf("the API key is in clear in %s", p)
			}
		}
		return nil
	})
	if r := complete(t, ep, depKey); r.code != 200 || r.model != "v1" || r.revision != "1" {
		t.Fatalf("completion with the key: %+v", r)
	}
	if r := complete(t, ep, ""); r.code != 401 {
		t.Fatalf("completion without the key: %+v", r)
	}

	// Same configuration: no change. Another key: an update of the hashes.
	pr := h.plan("deployment", st, h.deployment(cfg))
	if pr.Diagnostics.HasErrors() || !pr.PlannedState.RawEquals(st) {
		t.Fatalf("an unchanged configuration must plan no change: %s\n%#v", diagText(pr.Diagnostics), pr.PlannedState)
	}
	cfg2 := cfg
	cfg2.keys = []string{"sk-another-key-0123456789"}
	pr = h.plan("deployment", st, h.deployment(cfg2))
	if pr.PlannedState.GetAttr("access").GetAttr("api_key_hashes").IsKnown() || num64(pr.PlannedState, "revision") != 1 {
		t.Fatalf("a changed key must plan new hashes and no new revision: %#v", pr.PlannedState.GetAttr("access"))
	}

	// Blue/green to a new serve environment: same endpoint, revision 2,
	// no failed request meanwhile.
	stop := hammer(t, ep, depKey, 4)
	cfg.tag = "v2"
	a = h.apply("deployment", st, h.deployment(cfg))
	ok, failed := stop()
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	st = a.state
	if attrStr(st, "endpoint") != ep || num64(st, "revision") != 2 {
		t.Fatalf("after the update: endpoint %s revision %d", attrStr(st, "endpoint"), num64(st, "revision"))
	}
	if len(failed) > 0 || ok == 0 {
		t.Fatalf("during the blue/green switch %d requests succeeded and %d failed: %v", ok, len(failed), failed[:min(3, len(failed))])
	}
	if r := complete(t, ep, depKey); r.model != "v2" || r.revision != "2" {
		t.Fatalf("after the switch: %+v", r)
	}

	// A revision that never gets healthy: apply fails with its log, the
	// old revision keeps serving.
	bad := cfg
	bad.tag, bad.mode, bad.timeout = "v3", "unhealthy", "1500ms"
	a = h.apply("deployment", st, h.deployment(bad))
	if !a.diags.HasErrors() || !strings.Contains(diagText(a.diags), "CUDA out of memory") || !strings.Contains(diagText(a.diags), "revision 2 keeps serving") {
		t.Fatalf("an unhealthy revision: %s", diagText(a.diags))
	}
	if r := complete(t, ep, depKey); r.code != 200 || r.model != "v2" {
		t.Fatalf("after the failed rollout: %+v", r)
	}
	if num64(a.state, "revision") != 2 || attrStr(a.state, "status") != "serving" {
		t.Fatalf("state after the failed rollout: %#v", a.state)
	}

	// A replica killed: refresh says degraded, the plan restarts it in the
	// same revision.
	rec := readRecord(t, h.store, attrStr(st, "id"))
	victim := rec.Replicas[0].PID
	syscall.Kill(-victim, syscall.SIGKILL)
	waitFor(5*time.Second, func() bool { return !alive(victim) })
	rr := h.read("deployment", st)
	if attrStr(rr.NewState, "status") != "degraded" || num64(rr.NewState, "healthy_replicas") != 1 {
		t.Fatalf("refresh after killing a replica: %s %#v", diagText(rr.Diagnostics), rr.NewState)
	}
	pr = h.plan("deployment", rr.NewState, h.deployment(cfg))
	if attrStr(pr.PlannedState, "status") != "serving" || num64(pr.PlannedState, "revision") != 2 {
		t.Fatalf("plan after the kill: %#v", pr.PlannedState)
	}
	a = h.apply("deployment", rr.NewState, h.deployment(cfg))
	if a.diags.HasErrors() || num64(a.state, "healthy_replicas") != 2 || num64(a.state, "revision") != 2 {
		t.Fatalf("repair: %s %#v", diagText(a.diags), a.state)
	}
	st = a.state
	if rr := h.read("deployment", st); rr.NewState != cty.NilVal && !rr.NewState.RawEquals(st) {
		t.Fatalf("refresh after the repair changed the state: %#v", rr.NewState)
	}

	// Import by id.
	ir := h.p.ImportResourceState(t.Context(), protocol.ImportResourceStateRequest{TypeName: "deployment", ID: attrStr(st, "id")})
	if ir.Diagnostics.HasErrors() || len(ir.Imported) != 1 {
		t.Fatalf("import: %s", diagText(ir.Diagnostics))
	}
	imp := ir.Imported[0].State
	if attrStr(imp, "endpoint") != ep || attrStr(imp, "model") != model || num64(imp, "replicas") != 2 {
		t.Fatalf("imported: %#v", imp)
	}
	pr = h.plan("deployment", imp, h.deployment(cfg))
	if !pr.PlannedState.GetAttr("access").GetAttr("api_key_hashes").RawEquals(imp.GetAttr("access").GetAttr("api_key_hashes")) {
		t.Fatalf("the imported hashes must match the configured key")
	}

	// Delete stops everything.
	if d := h.delete("deployment", st); d.HasErrors() {
		t.Fatal(diagText(d))
	}
	for _, x := range append(rec.Replicas, struct{ PID int }{rec.Gateway.PID}) {
		if waitFor(2*time.Second, func() bool { return !alive(x.PID) }) == false {
			t.Errorf("process %d survived the delete", x.PID)
		}
	}
	if rr := h.read("deployment", st); rr.NewState != cty.NilVal && !rr.NewState.IsNull() {
		t.Fatalf("read after delete: %#v", rr.NewState)
	}
}

type depRecordView struct {
	Gateway  struct{ PID int }
	Replicas []struct{ PID int }
	Port     int
}

func readRecord(t testing.TB, store, id string) depRecordView {
	var r depRecordView
	b, err := os.ReadFile(filepath.Join(store, "runs", "local", "deployment", id, "deployment.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &r))
	return r
}

func TestDeploymentStrategies(t *testing.T) {
	t.Parallel()
	h, model := deployFixture(t)
	for _, strategy := range []string{"rolling", "recreate"} {
		cfg := depCfg{model: model, tag: "a", replicas: 2, keys: []string{depKey}, strategy: strategy}
		a := h.apply("deployment", cty.NilVal, h.deployment(cfg))
		if a.diags.HasErrors() {
			t.Fatal(diagText(a.diags))
		}
		ep := attrStr(a.state, "endpoint")
		stop := hammer(t, ep, depKey, 2)
		cfg.tag, cfg.replicas = "b", 3
		b := h.apply("deployment", a.state, h.deployment(cfg))
		ok, failed := stop()
		if b.diags.HasErrors() || num64(b.state, "revision") != 2 || num64(b.state, "healthy_replicas") != 3 || attrStr(b.state, "endpoint") != ep {
			t.Fatalf("%s: %s %#v", strategy, diagText(b.diags), b.state)
		}
		if r := complete(t, ep, depKey); r.model != "b" {
			t.Fatalf("%s: after the update: %+v", strategy, r)
		}
		if strategy == "rolling" && len(failed) > 0 {
			t.Fatalf("rolling: %d ok, %d failed: %v", ok, len(failed), failed[0])
		}
		t.Logf("%s: %d requests ok, %d refused during the update", strategy, ok, len(failed))
		if len(readRecord(t, h.store, attrStr(b.state, "id")).Replicas) != 3 {
			t.Fatalf("%s: the old replicas were not all stopped", strategy)
		}
		h.delete("deployment", b.state)
	}
}

func TestDeploymentPublicAndRateLimit(t *testing.T) {
	t.Parallel()
	h, model := deployFixture(t)
	a := h.apply("deployment", cty.NilVal, h.deployment(depCfg{model: model, tag: "p", public: true, rpm: 3}))
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	defer h.delete("deployment", a.state)
	ep := attrStr(a.state, "endpoint")
	for i := 0; i < 3; i++ {
		if r := complete(t, ep, ""); r.code != 200 {
			t.Fatalf("public request %d: %+v", i, r)
		}
	}
	if r := complete(t, ep, ""); r.code != 429 {
		t.Fatalf("past the rate limit: %+v", r)
	}
	if !a.state.GetAttr("access").GetAttr("api_key_hashes").IsNull() {
		t.Fatalf("a public deployment has no hashes")
	}
}

func TestDeploymentValidation(t *testing.T) {
	h, model := deployFixture(t)
	for _, c := range []struct {
		name string
		cfg  cty.Value
		want string
	}{
		{"no keys", h.deployment(depCfg{model: model}), "public = true"},
		{"public with keys", h.deployment(depCfg{model: model, public: true, keys: []string{depKey}}), "no api_keys"},
		{"not a model id", h.deployment(depCfg{model: "file://base", keys: []string{depKey}}), "not a model id"},
		{"bad timeout", h.deployment(depCfg{model: model, keys: []string{depKey}, timeout: "soon"}), "not a duration"},
	} {
		r := h.plan("deployment", cty.NilVal, c.cfg)
		if !r.Diagnostics.HasErrors() || !strings.Contains(diagText(r.Diagnostics), c.want) {
			t.Errorf("%s: want an error with %q, got %s", c.name, c.want, diagText(r.Diagnostics))
		}
	}
	r := h.plan("deployment", cty.NilVal, h.deployment(depCfg{model: model, keys: []string{"short"}}))
	if r.Diagnostics.HasErrors() || !strings.Contains(diagText(r.Diagnostics), "Short API key") {
		t.Errorf("a short key: want a warning, got %s", diagText(r.Diagnostics))
	}
}
