package kubernetes

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llmops/llmops/plugins/sdk"
)

// offers answers placement from the cluster's nodes: per node, its
// allocatable nvidia.com/gpu minus what the pods bound to it request. The
// request fits when enough nodes (resources.nodes) matching gpu_type each
// have the GPUs free; otherwise the offer is unavailable with the reason,
// so a placement block falls back to another provider.
func offers(ctx context.Context, req *sdk.OffersRequest) ([]sdk.Offer, sdk.Diagnostics) {
	m := metaOf(req.Meta)
	var d sdk.Diagnostics
	want, nodes, gpuType := 0, 1, ""
	if res := req.Config.Attr("resources"); res != cty.NilVal {
		if n, ok := nestedInt(res, "gpus"); ok {
			want = int(n)
		}
		if n, ok := nestedInt(res, "nodes"); ok && n > 0 {
			nodes = int(n)
		}
		gpuType = nestedString(res, "gpu_type")
	}
	free, err := m.freeGPUs(ctx, gpuType)
	if err != nil {
		d.FromError("Cannot read the cluster's nodes", err)
		return nil, d
	}
	fit, best := 0, 0
	for _, f := range free {
		if f >= want {
			fit++
		}
		best = max(best, f)
	}
	o := sdk.Offer{GPUType: gpuType, GPUCount: int64(best), PricePerHour: m.price, Location: "kubernetes/" + m.namespace, Available: fit >= nodes}
	if o.GPUType == "" {
		o.GPUType = "any"
	}
	if !o.Available {
		o.Reason = fmt.Sprintf("%d of %d nodes%s have %d nvidia.com/gpu free (most free on one node: %d)", fit, len(free), typeWords(gpuType), want, best)
	}
	return []sdk.Offer{o}, d
}

func typeWords(t string) string {
	if t == "" || strings.EqualFold(t, "any") {
		return ""
	}
	return " of GPU type " + t
}

// freeGPUs returns, per schedulable node matching gpuType, its allocatable
// GPUs minus those requested by its pods that have not ended.
func (m *meta) freeGPUs(ctx context.Context, gpuType string) (map[string]int, error) {
	sel := ""
	if gpuType != "" && !strings.EqualFold(gpuType, "any") {
		labels, ok := m.gpuTypes[strings.ToUpper(gpuType)]
		if !ok {
			return nil, fmt.Errorf("gpu_type %q is not in the GPU type table; add it to the provider's gpu_types", gpuType)
		}
		var parts []string
		for _, k := range sortedKeys(labels) {
			parts = append(parts, k+"="+labels[k])
		}
		sel = strings.Join(parts, ",")
	}
	nl, err := m.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	free := map[string]int{}
	for _, n := range nl.Items {
		if n.Spec.Unschedulable {
			continue
		}
		q := n.Status.Allocatable[ResourceGPU]
		free[n.Name] = int(q.Value())
	}
	pl, err := m.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return nil, err
	}
	for _, p := range pl.Items {
		if _, ok := free[p.Spec.NodeName]; !ok {
			continue
		}
		free[p.Spec.NodeName] -= podGPUs(&p)
	}
	return free, nil
}

func podGPUs(p *corev1.Pod) int {
	n := 0
	for _, c := range p.Spec.Containers {
		q := c.Resources.Limits[ResourceGPU]
		n += int(q.Value())
	}
	return n
}
