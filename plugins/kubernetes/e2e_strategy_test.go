package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// The deployment strategies on the real control plane, each by what the
// cluster shows: the watch of the namespace's Deployments and of the
// stable Service records every change the rollout makes, in order.
//
//   - blue_green: revision 2's Deployment is made with all its replicas;
//     the stable Service keeps selecting revision 1 while revision 2's
//     pods are not Ready (here: held unschedulable until the test labels
//     a node for them), then switches straight to revision 2, and
//     revision 1 is deleted. A revision that is not Ready within
//     serve.health_timeout is deleted and revision 2 keeps serving.
//   - rolling: one replica at a time: revision 2 is scaled up by one,
//     then revision 1 down by one, the stable Service selecting both
//     revisions meanwhile, then revision 2 alone.
//   - recreate: revision 1 is deleted before revision 2 is made; in
//     between, the stable Service selects no pod.

// history is what a watch saw of a deployment's Deployments and stable
// Service.
type history struct {
	mu sync.Mutex
	// deps are the Deployment events, in the API server's order.
	deps []depEvent
	// selectors are the stable Service's successive revision selectors
	// ("" when it selects every revision of the deployment).
	selectors []string
}

type depEvent struct {
	typ             watch.EventType
	name            string
	replicas, ready int32
}

func (e depEvent) String() string {
	return fmt.Sprintf("%s %s replicas=%d ready=%d", e.typ, e.name, e.replicas, e.ready)
}

func (h *history) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, e := range h.deps {
		b.WriteString("  " + e.String() + "\n")
	}
	fmt.Fprintf(&b, "  stable Service selectors: %q", h.selectors)
	return b.String()
}

// watchRollout records the Deployments and the stable Service of
// deployment id until the test ends.
func (w *e2e) watchRollout(id string) *history {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w.t.Cleanup(cancel)
	h := &history{}
	apps := w.c.client.AppsV1().Deployments(w.ns)
	dl, err := apps.List(ctx, metav1.ListOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range dl.Items {
		h.deps = append(h.deps, depEvent{typ: "EXISTING", name: d.Name, replicas: ptrOr(d.Spec.Replicas, 0), ready: d.Status.ReadyReplicas})
	}
	svcs := w.c.client.CoreV1().Services(w.ns)
	sl, err := svcs.List(ctx, metav1.ListOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range sl.Items {
		if s.Name == stableName(id) {
			h.selectors = append(h.selectors, s.Spec.Selector[LabelRevision])
		}
	}
	dw, err := apps.Watch(ctx, metav1.ListOptions{ResourceVersion: dl.ResourceVersion})
	if err != nil {
		w.t.Fatal(err)
	}
	sw, err := svcs.Watch(ctx, metav1.ListOptions{ResourceVersion: sl.ResourceVersion, FieldSelector: "metadata.name=" + stableName(id)})
	if err != nil {
		w.t.Fatal(err)
	}
	go func() {
		for ev := range dw.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok {
				h.mu.Lock()
				h.deps = append(h.deps, depEvent{typ: ev.Type, name: d.Name, replicas: ptrOr(d.Spec.Replicas, 0), ready: d.Status.ReadyReplicas})
				h.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev := range sw.ResultChan() {
			if s, ok := ev.Object.(*corev1.Service); ok && ev.Type != watch.Deleted {
				sel := s.Spec.Selector[LabelRevision]
				h.mu.Lock()
				if n := len(h.selectors); n == 0 || h.selectors[n-1] != sel {
					h.selectors = append(h.selectors, sel)
				}
				h.mu.Unlock()
			}
		}
	}()
	w.t.Cleanup(func() { dw.Stop(); sw.Stop() })
	return h
}

// events returns a copy of the Deployment events so far.
func (h *history) events() []depEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]depEvent(nil), h.deps...)
}

func (h *history) selectorsSeen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.selectors...)
}

// background runs the CLI without waiting for it.
func (w *e2e) background(args ...string) <-chan cliResult {
	done := make(chan cliResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(w.bin, "llmops"), args...)
		cmd.Dir, cmd.Env = w.dir, w.env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := cliResult{stdout: out.String(), stderr: errb.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code, r.stderr = -1, err.Error()
		}
		done <- r
	}()
	return done
}

// strategyDeployment is a deployment of two 1-GPU replicas by strategy;
// extra goes into the block (a kubernetes block, a health_timeout).
func strategyDeployment(strategy, gen, extra, healthTimeout string) string {
	return fmt.Sprintf(`
deployment "d" {
  provider = kubernetes
  model    = model.base.id
  replicas = 2
  strategy = %q
  serve {
    command        = ["vllm", "serve", "{model_path}", "--port", "{port}"]
    env            = { GEN = %q }
    health_timeout = %q
  }
  access {
    public = true
  }
  resources {
    gpus = 1
  }
%s
}
`, strategy, gen, healthTimeout, extra)
}

func (w *e2e) stableSelector(id string) string {
	w.t.Helper()
	svc, err := w.c.client.CoreV1().Services(w.ns).Get(context.Background(), stableName(id), metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("the stable Service: %v", err)
	}
	return svc.Spec.Selector[LabelRevision]
}

func (w *e2e) deploymentGone(name string) {
	w.t.Helper()
	poll(w.t, time.Minute, "Deployment "+name+" to be deleted", func() bool {
		_, err := w.c.client.AppsV1().Deployments(w.ns).Get(context.Background(), name, metav1.GetOptions{})
		return err != nil
	})
}

// labelNode sets (value != "") or removes a label of a node.
func (w *e2e) labelNode(node, key, value string) {
	w.t.Helper()
	v := "null"
	if value != "" {
		v = fmt.Sprintf("%q", value)
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, key, v)
	if _, err := w.c.client.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func TestE2EBlueGreenSwitchesOnlyWhenReady(t *testing.T) {
	w := newE2E(t)
	w.write("deploy.llmops.hcl", strategyDeployment("blue_green", "a", "", "2m"))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	id := w.values("deployment.d")["id"].(string)
	r1, r2, r3 := revisionName(id, 1), revisionName(id, 2), revisionName(id, 3)
	if sel := w.stableSelector(id); sel != "1" {
		t.Fatalf("the stable Service selects revision %q, want 1", sel)
	}
	h := w.watchRollout(id)

	// Revision 2's pods need a node label no node has yet: they stay
	// Pending (unschedulable) until the test sets it.
	pool := "llmops.io/e2e-pool"
	w.write("deploy.llmops.hcl", strategyDeployment("blue_green", "b", fmt.Sprintf("  kubernetes {\n    node_selector = { %q = %q }\n  }", pool, w.ns), "2m"))
	apply := w.background("apply", "-auto-approve")
	ctx := context.Background()
	poll(t, time.Minute, "revision 2's two pods to be unschedulable", func() bool {
		pods, err := w.c.client.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRevisionName + "=" + r2})
		if err != nil || len(pods.Items) != 2 {
			return false
		}
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodPending {
				return false
			}
		}
		return (&meta{client: w.c.client}).podTrouble(ctx, w.ns, r2) != ""
	})
	d2, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, r2, metav1.GetOptions{})
	if err != nil || *d2.Spec.Replicas != 2 || d2.Status.ReadyReplicas != 0 {
		t.Fatalf("revision 2's Deployment while its pods wait: %+v %v", d2, err)
	}
	if sel := w.stableSelector(id); sel != "1" {
		t.Fatalf("the stable Service selects revision %q while revision 2 is not Ready, want 1", sel)
	}
	if d1, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, r1, metav1.GetOptions{}); err != nil || d1.Status.ReadyReplicas != 2 {
		t.Fatalf("revision 1 while revision 2 waits: %+v %v", d1, err)
	}
	w.labelNode("kwok-gpu-0", pool, w.ns)
	t.Cleanup(func() { w.labelNode("kwok-gpu-0", pool, "") })
	if r := <-apply; r.code != 0 {
		t.Fatalf("apply of revision 2: %s", r)
	}
	if sel := w.stableSelector(id); sel != "2" {
		t.Fatalf("after the rollout the stable Service selects revision %q, want 2", sel)
	}
	w.deploymentGone(r1)
	if got := h.selectorsSeen(); strings.Join(got, ",") != "1,2" {
		t.Fatalf("the stable Service's selectors %q, want revision 1 then 2 (never both):\n%s", got, h)
	}
	// The switch came after revision 2 was Ready: revision 1 was
	// scaled down or deleted only after revision 2 had two Ready pods.
	ready2 := false
	for _, e := range h.events() {
		if e.name == r2 && e.ready == 2 {
			ready2 = true
		}
		if e.name == r1 && (e.typ == watch.Deleted || e.replicas < 2) && !ready2 {
			t.Fatalf("revision 1 was taken down before revision 2 was Ready:\n%s", h)
		}
	}

	// A revision that is never Ready: deleted after serve.health_timeout;
	// revision 2 keeps serving.
	w.write("deploy.llmops.hcl", strategyDeployment("blue_green", "c", fmt.Sprintf("  kubernetes {\n    node_selector = { %q = \"nowhere\" }\n  }", pool), "5s"))
	r := w.llmops(1, "apply", "-auto-approve")
	if !strings.Contains(r.stdout+r.stderr, "serve.health_timeout") || !strings.Contains(r.stdout+r.stderr, "revision 2 keeps serving") {
		t.Fatalf("a revision that is not Ready in time:\n%s", r)
	}
	w.deploymentGone(r3)
	if sel := w.stableSelector(id); sel != "2" {
		t.Fatalf("after the failed rollout the stable Service selects revision %q, want 2", sel)
	}
	if d2, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, r2, metav1.GetOptions{}); err != nil || d2.Status.ReadyReplicas != 2 {
		t.Fatalf("revision 2 after the failed rollout: %+v %v", d2, err)
	}
	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}

func TestE2ERollingUpdateOneReplicaAtATime(t *testing.T) {
	w := newE2E(t)
	w.write("deploy.llmops.hcl", strategyDeployment("rolling", "a", "", "1m"))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	id := w.values("deployment.d")["id"].(string)
	r1, r2 := revisionName(id, 1), revisionName(id, 2)
	h := w.watchRollout(id)
	w.write("deploy.llmops.hcl", strategyDeployment("rolling", "b", "", "1m"))
	w.llmops(0, "apply", "-auto-approve")
	w.deploymentGone(r1)
	if v := w.values("deployment.d"); fmt.Sprint(v["revision"]) != "2" || v["status"] != "serving" || fmt.Sprint(v["healthy_replicas"]) != "2" {
		t.Fatalf("after the rolling update: %v", v)
	}
	if got := h.selectorsSeen(); strings.Join(got, ",") != "1,,2" {
		t.Fatalf("the stable Service's selectors %q, want revision 1, both revisions, then revision 2:\n%s", got, h)
	}
	// Revision 1 goes 2 -> 1 -> deleted, revision 2 1 -> 2, interleaved:
	// revision 1 loses a replica only once revision 2 has one Ready, and
	// revision 2 gets its second only after that.
	var steps []string
	ready2 := int32(0)
	last := map[string]int32{r1: 2}
	for _, e := range h.events() {
		if e.name == r2 {
			ready2 = max(ready2, e.ready)
		}
		switch {
		case e.typ == watch.Deleted && e.name == r1:
			steps = append(steps, "r1 deleted")
		case e.name == r1 && e.replicas != last[r1]:
			steps = append(steps, fmt.Sprintf("r1 scaled to %d with r2 ready %d", e.replicas, ready2))
		case e.name == r2 && e.replicas != last[r2]:
			steps = append(steps, fmt.Sprintf("r2 scaled to %d", e.replicas))
		}
		if e.typ != watch.Deleted {
			last[e.name] = e.replicas
		}
	}
	want := "r2 scaled to 1; r1 scaled to 1 with r2 ready 1; r2 scaled to 2; r1 deleted"
	if got := strings.Join(steps, "; "); got != want {
		t.Fatalf("the rolling update's steps:\n  %s\nwant\n  %s\n%s", got, want, h)
	}
	w.llmops(0, "plan", "-detailed-exitcode")
	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}

func TestE2ERecreateStopsTheOldRevisionFirst(t *testing.T) {
	w := newE2E(t)
	w.write("deploy.llmops.hcl", strategyDeployment("recreate", "a", "", "1m"))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	id := w.values("deployment.d")["id"].(string)
	r1, r2 := revisionName(id, 1), revisionName(id, 2)
	h := w.watchRollout(id)
	w.write("deploy.llmops.hcl", strategyDeployment("recreate", "b", "", "1m"))
	w.llmops(0, "apply", "-auto-approve")
	if v := w.values("deployment.d"); fmt.Sprint(v["revision"]) != "2" || v["status"] != "serving" {
		t.Fatalf("after the update: %v", v)
	}
	deleted1, added2 := -1, -1
	for i, e := range h.events() {
		if e.name == r1 && e.typ == watch.Deleted && deleted1 < 0 {
			deleted1 = i
		}
		if e.name == r2 && e.typ == watch.Added && added2 < 0 {
			added2 = i
		}
	}
	if deleted1 < 0 || added2 < 0 || deleted1 > added2 {
		t.Fatalf("revision 1 was not deleted before revision 2 was made:\n%s", h)
	}
	if got := h.selectorsSeen(); strings.Join(got, ",") != "1,"+noRevision+",2" {
		t.Fatalf("the stable Service's selectors %q, want revision 1, none (%s), revision 2:\n%s", got, noRevision, h)
	}
	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}
