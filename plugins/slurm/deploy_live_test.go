package slurm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Two replicas with a GPU each fill the test cluster's two GPUs; the
// gateway balances over both jobs. A blue/green update then needs two more
// GPUs: its jobs wait in the queue past queue_timeout, are cancelled, and
// the first revision keeps serving.
func TestLiveDeploymentOnAFullCluster(t *testing.T) {
	h := newHarness(t, nil)
	serve := serveBinary(t, h.env)
	model := h.model(map[string]string{"weights.bin": "w"})
	const key = "sk-live-0123456789abcdef"
	cfg := func(tag string) cty.Value {
		return toCty(h.ty("deployment"), map[string]any{
			"model":    model,
			"replicas": 2,
			"serve": map[string]any{
				"command": []string{serve, "--port={port}", "--model={model_path}", "--tag=" + tag},
				"env":     map[string]string{"LLMOPS_SLURM_TEST_SERVE": "1"},
			},
			"access":        map[string]any{"api_keys": []string{key}},
			"resources":     map[string]any{"gpus": 1, "max_duration": "20m"},
			"queue_timeout": "4s",
		})
	}
	start := time.Now()
	st, pend := h.create("deployment", cfg("v1"))
	if pend != nil {
		t.Fatalf("a deployment is not a pending object: %+v", pend)
	}
	t.Logf("two replicas serving in %s", time.Since(start).Round(10*time.Millisecond))
	t.Cleanup(func() {
		if d := h.destroy("deployment", st); d.HasErrors() {
			t.Errorf("destroy: %v", d.Err())
		}
	})
	ep := str(st, "endpoint")
	if str(st, "healthy_replicas") != "2" || len(st.GetAttr("job_ids").AsValueSlice()) != 2 {
		t.Fatalf("state: %#v", st)
	}
	jobs, gpus := map[string]bool{}, map[string]bool{}
	for i := 0; i < 10; i++ {
		c := call(ep, key)
		if c.code != 200 || c.doc["model"] != "v1" {
			t.Fatalf("completion: %+v", c)
		}
		jobs[c.doc["job"].(string)] = true
		gpus[c.doc["gpus"].(string)] = true
	}
	if len(jobs) != 2 || gpus[""] {
		t.Fatalf("the gateway reached jobs %v, which saw CUDA_VISIBLE_DEVICES %v", jobs, gpus)
	}
	for _, id := range st.GetAttr("job_ids").AsValueSlice() {
		if s := h.slurmState(id.AsString()); s != "RUNNING" {
			t.Fatalf("job %s is %s", id.AsString(), s)
		}
	}

	// The update cannot start: no GPU is free while revision 1 runs.
	upd := cfg("v2")
	pr := h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "deployment", PriorState: st, ProposedNewState: upd, Config: upd})
	if pr.Diagnostics.HasErrors() || len(pr.RequiresReplace) > 0 || pr.PlannedState.GetAttr("revision").IsKnown() {
		t.Fatalf("plan of the update: %v %v %#v", pr.Diagnostics.Err(), pr.RequiresReplace, pr.PlannedState)
	}
	ar := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "deployment", PriorState: st, PlannedState: pr.PlannedState, Config: upd})
	if !ar.Diagnostics.HasErrors() {
		t.Fatalf("the update on a full cluster succeeded")
	}
	msg := ar.Diagnostics.Err().Error()
	t.Logf("the update on a full cluster: %s", msg)
	for _, want := range []string{"revision 1 keeps serving", "still queued", "queue timeout (4s)"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("the error does not say %q: %s", want, msg)
		}
	}
	if str(ar.NewState, "revision") != "1" || str(ar.NewState, "healthy_replicas") != "2" {
		t.Fatalf("the state after the failed update: %#v", ar.NewState)
	}
	st = ar.NewState
	if c := call(ep, key); c.code != 200 || c.doc["model"] != "v1" {
		t.Fatalf("after the failed update: %+v", c)
	}
	queued, _ := h.meta.sched.PendingJobs(context.Background(), "")
	if queued != 0 {
		t.Fatalf("%d jobs are left in the queue", queued)
	}
}
