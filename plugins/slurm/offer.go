package slurm

import (
	"context"
	"fmt"

	"github.com/llmops/llmops/plugins/sdk"
)

// Offer is what the provider can say about running a job with given
// resources on one partition: the answer to a placement request (hybrid
// placement), computed from Capacity.
type Offer struct {
	Partition string
	// Available: the job would start now (enough usable nodes, and enough
	// free GPUs of the type on each).
	Available bool
	GPUType   string // the requested type, "any" when unset
	// FreeGPUs counts the free GPUs of the type in the partition;
	// MaxFreeOnNode the most on one node.
	FreeGPUs, MaxFreeOnNode int
	// PendingJobs is the queue the job would join (a rough wait estimate).
	PendingJobs int
	// Reason says why the offer is not available now, for the plan:
	// "GPU type a100 missing", "1 of 2 GPUs free, 3 jobs queued", ...
	Reason string
}

// offerFor judges a capacity against a job's resources.
func offerFor(c Capacity, r resources) Offer {
	t := r.GPUType
	if t == "" {
		t = "any"
	}
	o := Offer{Partition: c.Partition, GPUType: t, PendingJobs: c.PendingJobs}
	o.FreeGPUs, o.MaxFreeOnNode = c.Free(t)
	nodes := max(r.Nodes, 1)
	switch {
	case c.Usable == 0:
		o.Reason = fmt.Sprintf("partition %s has no usable node (%d down, drained or failing)", c.Partition, c.Nodes)
	case c.Usable < nodes:
		o.Reason = fmt.Sprintf("partition %s has %d usable nodes, the job needs %d", c.Partition, c.Usable, nodes)
	case r.GPUs > 0 && t != "any" && !hasType(c, t):
		o.Reason = fmt.Sprintf("GPU type %s missing in partition %s (it has %s)", t, c.Partition, typeList(c))
	case r.GPUs > 0 && o.MaxFreeOnNode < r.GPUs:
		o.Reason = fmt.Sprintf("%d of %d %s GPUs free (at most %d on one node; %d needed per node), %d jobs queued",
			o.FreeGPUs, totalOf(c, t), t, o.MaxFreeOnNode, r.GPUs, c.PendingJobs)
	case r.GPUs > 0 && nodes > 1 && o.FreeGPUs < r.GPUs*nodes:
		o.Reason = fmt.Sprintf("%d %s GPUs free, %d nodes x %d needed, %d jobs queued", o.FreeGPUs, t, nodes, r.GPUs, c.PendingJobs)
	default:
		o.Available = true
	}
	return o
}

func hasType(c Capacity, t string) bool {
	g, ok := c.GPUs[t]
	return ok && g.Total > 0
}

func totalOf(c Capacity, t string) int {
	n := 0
	for name, g := range c.GPUs {
		if t == "any" || name == t {
			n += g.Total
		}
	}
	return n
}

func typeList(c Capacity) string {
	var out string
	for _, t := range c.Types() {
		if t == "" {
			t = "untyped"
		}
		if out != "" {
			out += ", "
		}
		out += t
	}
	if out == "" {
		return "no GPUs"
	}
	return out
}

// Offers answers a placement request: one offer per partition the job may
// go to (its own, the provider's, else every partition).
func (m *meta) Offers(ctx context.Context, r resources) ([]Offer, error) {
	part := r.Partition
	if part == "" {
		part = m.partition
	}
	caps, err := m.Capacities(ctx, part)
	if err != nil {
		return nil, err
	}
	out := make([]Offer, 0, len(caps))
	for _, c := range caps {
		out = append(out, offerFor(c, r))
	}
	return out, nil
}

// offers answers the engine's GetOffers for a placement block: one offer
// per partition the object may use, priced at the provider's
// price_per_hour.
func offers(ctx context.Context, req *sdk.OffersRequest) ([]sdk.Offer, sdk.Diagnostics) {
	var d sdk.Diagnostics
	m, ok := req.Meta.(*meta)
	if !ok || m == nil {
		d.Errorf("Provider not configured", "the slurm provider was asked for offers before it was configured")
		return nil, d
	}
	r, rd := resourcesOf(m, req.Config)
	if rd.HasErrors() {
		return nil, rd
	}
	os, err := m.Offers(ctx, r)
	if err != nil {
		d.Errorf("Cannot read the cluster's capacity", "%v", err)
		return nil, d
	}
	out := make([]sdk.Offer, 0, len(os))
	for _, o := range os {
		out = append(out, sdk.Offer{
			Available: o.Available, Reason: o.Reason, GPUType: o.GPUType, GPUCount: int64(r.GPUs),
			PricePerHour: m.pricePerHour, Location: "partition " + o.Partition,
		})
	}
	return out, d
}
