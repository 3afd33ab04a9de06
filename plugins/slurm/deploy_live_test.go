package slurm

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/plugins/sdk/serving"
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

// mode = "cli": the serving job is submitted with sbatch, read with
// scontrol and cancelled with scancel; a replica whose job an
// administrator cancelled reads as degraded and is resubmitted by Update.
func TestLiveDeploymentCLIMode(t *testing.T) {
	env := needSlurm(t)
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("no sbatch on PATH")
	}
	t.Setenv("SLURM_CONF", env.Conf)
	h := newHarness(t, map[string]any{"mode": "cli", "url": nil, "user": nil, "token_file": nil})
	serve := serveBinary(t, env)
	const key = "sk-live-cli-0123456789"
	cfg := toCty(h.ty("deployment"), map[string]any{
		"model": h.model(map[string]string{"weights.bin": "w"}),
		"serve": map[string]any{
			"command": []string{serve, "--port={port}", "--model={model_path}", "--tag=cli"},
			"env":     map[string]string{"LLMOPS_SLURM_TEST_SERVE": "1"},
		},
		"access":     map[string]any{"api_keys": []string{key}},
		"node_ports": "21000-21999",
	})
	st, _ := h.create("deployment", cfg)
	ep, jid := str(st, "endpoint"), st.GetAttr("job_ids").Index(cty.NumberIntVal(0)).AsString()
	if c := call(ep, key); c.code != 200 || c.doc["model"] != "cli" || c.doc["job"] != jid {
		t.Fatalf("completion: %+v", c)
	}
	if p, _ := strconv.Atoi(c0(call(ep, key).doc["port"])); p < 21000 || p > 21999 {
		t.Fatalf("the replica listens on port %d, outside node_ports", p)
	}
	if err := h.meta.sched.Cancel(context.Background(), jid); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); h.slurmState(jid) == "RUNNING" && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	rr := h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "deployment", CurrentState: st})
	if str(rr.NewState, "status") != serving.StatusDegraded || str(rr.NewState, "healthy_replicas") != "0" {
		t.Fatalf("after scancel: %#v", rr.NewState)
	}
	pr := h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "deployment", PriorState: rr.NewState, ProposedNewState: cfg, Config: cfg})
	ar := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "deployment", PriorState: rr.NewState, PlannedState: pr.PlannedState, Config: cfg})
	if ar.Diagnostics.HasErrors() {
		t.Fatal(ar.Diagnostics.Err())
	}
	st = ar.NewState
	jid2 := st.GetAttr("job_ids").Index(cty.NumberIntVal(0)).AsString()
	if c := call(ep, key); c.code != 200 || c.doc["job"] != jid2 || jid2 == jid || str(st, "revision") != "1" {
		t.Fatalf("after the repair: %+v %#v", c, st)
	}
	if d := h.destroy("deployment", st); d.HasErrors() {
		t.Fatal(d.Err())
	}
	if s := h.slurmState(jid2); s != "CANCELLED" {
		t.Errorf("after destroy: %s", s)
	}
}

func c0(v any) string { s, _ := v.(string); return s }

// A replica whose job nears its time limit reads as degraded (within
// renew_before, at most half the limit), and the repair submits its
// successor and switches to it blue/green before Slurm ends the old job:
// no request fails, the revision stays.
func TestLiveDeploymentRenewsBeforeTimeLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	serve := serveBinary(t, h.env)
	const key = "sk-live-renew-0123456789"
	cfg := toCty(h.ty("deployment"), map[string]any{
		"model": h.model(map[string]string{"weights.bin": "w"}),
		"serve": map[string]any{
			"command": []string{serve, "--port={port}", "--model={model_path}", "--tag=renew"},
			"env":     map[string]string{"LLMOPS_SLURM_TEST_SERVE": "1"},
		},
		"access":       map[string]any{"api_keys": []string{key}},
		"resources":    map[string]any{"max_duration": "1m"}, // --time=1
		"renew_before": "50s",                                // capped at half the limit: 30s
	})
	st, _ := h.create("deployment", cfg)
	t.Cleanup(func() {
		if d := h.destroy("deployment", st); d.HasErrors() {
			t.Errorf("destroy: %v", d.Err())
		}
	})
	ep, jid := str(st, "endpoint"), st.GetAttr("job_ids").Index(cty.NumberIntVal(0)).AsString()
	ji, err := h.meta.sched.Job(context.Background(), jid)
	if err != nil || ji.Deadline.Sub(ji.Start) != time.Minute {
		t.Fatalf("Slurm job %s: %+v %v (want a 1 minute limit)", jid, ji, err)
	}
	stop := hammer(ep, key, 2)
	var rr *protocol.ReadResourceResponse
	for {
		r := h.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: "deployment", CurrentState: st})
		rr = &r
		if str(rr.NewState, "status") != serving.StatusServing || time.Now().After(ji.Deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	left := time.Until(ji.Deadline)
	t.Logf("degraded with %s left before the time limit", left.Round(time.Second))
	if str(rr.NewState, "status") != serving.StatusDegraded || left <= 0 || left > 31*time.Second {
		t.Fatalf("the replica was not reported as expiring in its window (%s left): %#v", left, rr.NewState)
	}
	pr := h.p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "deployment", PriorState: rr.NewState, ProposedNewState: cfg, Config: cfg})
	ar := h.p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "deployment", PriorState: rr.NewState, PlannedState: pr.PlannedState, Config: cfg})
	ok, failed := stop()
	if ar.Diagnostics.HasErrors() {
		t.Fatal(ar.Diagnostics.Err())
	}
	st = ar.NewState
	jid2 := st.GetAttr("job_ids").Index(cty.NumberIntVal(0)).AsString()
	t.Logf("renewed: Slurm job %s -> %s, %d requests served meanwhile", jid, jid2, ok)
	if len(failed) > 0 || ok == 0 {
		t.Fatalf("during the renewal %d requests succeeded and %d failed, e.g. %v", ok, len(failed), failed[:min(3, len(failed))])
	}
	if jid2 == jid || str(st, "revision") != "1" || str(st, "status") != serving.StatusServing {
		t.Fatalf("after the renewal: %#v", st)
	}
	if c := call(ep, key); c.code != 200 || c.doc["job"] != jid2 {
		t.Fatalf("after the renewal: %+v", c)
	}
	if s := h.slurmState(jid); s == "RUNNING" || s == "PENDING" {
		t.Errorf("the expiring job %s is still %s", jid, s)
	}
}
