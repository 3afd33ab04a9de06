package kubernetes

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Hybrid placement from the cluster's allocatable GPUs: a training run
// with candidates [kubernetes, local] plans onto the cluster while its
// H100 nodes are schedulable, onto this host once they are cordoned (the
// plan says why not Kubernetes), and, asking for 8 GPUs while pods hold
// all of both H100 nodes' GPUs, nowhere, with the free GPUs counted
// after what the pods request.
func TestE2EPlacementFromAllocatableGPUs(t *testing.T) {
	w := newE2E(t)
	run := func(gpus int) string {
		return fmt.Sprintf(`
training_run "ft" {
  base_model = model.base.id
  command    = ["sh", "-c", "mkdir -p $LLMOPS_OUTPUT_DIR/model && echo w > $LLMOPS_OUTPUT_DIR/model/w"]
  resources {
    gpus     = %d
    gpu_type = "H100"
  }
  placement {
    candidates = [kubernetes, local]
    strategy   = "ordered"
  }
}
`, gpus)
	}
	w.write("train.llmops.hcl", run(0))
	w.llmops(0, "init")
	if r := w.llmops(2, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "# placed on kubernetes") {
		t.Fatalf("with schedulable H100 nodes the run does not go to Kubernetes:\n%s", r.stdout)
	}

	ctx := context.Background()
	cordon := func(on bool) {
		for _, n := range []string{"kwok-gpu-0", "kwok-gpu-1"} {
			patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
			if _, err := w.c.client.CoreV1().Nodes().Patch(ctx, n, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cordon(true)
	t.Cleanup(func() { cordon(false) })
	r := w.llmops(2, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "# placed on local") || !strings.Contains(r.stdout, "# not kubernetes: 0 of 0 nodes of GPU type H100") {
		t.Fatalf("with the H100 nodes cordoned the run does not fall back to local, saying why:\n%s", r.stdout)
	}
	cordon(false)

	// Both H100 nodes full: two pods hold their 8 GPUs each.
	for i := 0; i < 2; i++ {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("hog-%d", i), Namespace: w.ns},
			Spec: corev1.PodSpec{NodeName: fmt.Sprintf("kwok-gpu-%d", i), Containers: []corev1.Container{{Name: "c", Image: "hog",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{ResourceGPU: *resource.NewQuantity(8, resource.DecimalSI)}}}}},
		}
		if _, err := w.c.client.CoreV1().Pods(w.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w.write("train.llmops.hcl", run(8))
	r = w.llmops(1, "plan")
	if !strings.Contains(r.stderr, "0 of 2 nodes of GPU type H100 have 8 nvidia.com/gpu free") {
		t.Fatalf("with the H100 nodes full the plan does not say so:\n%s", r)
	}
}
