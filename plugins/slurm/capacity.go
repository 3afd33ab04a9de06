package slurm

import (
	"context"
	"sort"
	"strings"
)

// Capacity is what one partition of the cluster can give a job now: the
// input of a placement offer (available GPUs, or a queue to wait in).
type Capacity struct {
	Partition string
	// Nodes is how many nodes the partition has; Usable those that can run
	// jobs (not down, drained, draining, failing or not responding).
	Nodes, Usable int
	// GPUs by type ("" for GPUs without a type), over usable nodes.
	GPUs map[string]GPUCapacity
	// PendingJobs waiting in the partition: a rough queue estimate.
	PendingJobs int
}

// GPUCapacity counts the GPUs of one type.
type GPUCapacity struct {
	Total int
	Free  int
	// MaxFreeOnNode is the most free on one node: a job asking for n GPUs
	// on one node starts now only if n <= MaxFreeOnNode.
	MaxFreeOnNode int
}

// Free returns the free GPUs of a type ("" or "any": every type) and the
// most free on one node.
func (c Capacity) Free(gpuType string) (free, maxOnNode int) {
	for t, g := range c.GPUs {
		if gpuType == "" || gpuType == "any" || t == gpuType {
			free += g.Free
			if g.MaxFreeOnNode > maxOnNode {
				maxOnNode = g.MaxFreeOnNode
			}
		}
	}
	return free, maxOnNode
}

// Types lists the partition's GPU types, sorted.
func (c Capacity) Types() []string { return sortedKeys(c.GPUs) }

// unusableFlags mark nodes that take no new jobs.
var unusableFlags = []string{"DRAIN", "DRAINED", "DRAINING", "FAIL", "FAILING", "NOT_RESPONDING", "MAINTENANCE", "POWERED_DOWN", "POWER_DOWN", "POWERING_DOWN", "REBOOT_REQUESTED", "REBOOT_ISSUED"}

func usable(n nodeInfo) bool {
	switch n.State {
	case "idle", "mixed", "allocated", "alloc", "mix", "completing":
	default:
		return false
	}
	for _, f := range n.Flags {
		if contains(unusableFlags, strings.ToUpper(f)) {
			return false
		}
	}
	return true
}

// computeCapacity sums the GPUs of the usable nodes of a partition ("" for
// every node).
func computeCapacity(nodes []nodeInfo, partition string, pending int) Capacity {
	c := Capacity{Partition: partition, GPUs: map[string]GPUCapacity{}, PendingJobs: pending}
	for _, n := range nodes {
		if partition != "" && !contains(n.Partitions, partition) {
			continue
		}
		c.Nodes++
		if !usable(n) {
			continue
		}
		c.Usable++
		perType := map[string]int{}
		for _, g := range n.GPUs {
			x := c.GPUs[g.Type]
			free := max(g.Total-g.Used, 0)
			x.Total += g.Total
			x.Free += free
			perType[g.Type] += free
			c.GPUs[g.Type] = x
		}
		for t, free := range perType {
			x := c.GPUs[t]
			if free > x.MaxFreeOnNode {
				x.MaxFreeOnNode = free
			}
			c.GPUs[t] = x
		}
	}
	return c
}

// Capacities asks the cluster for the capacity of each partition (or only
// the one named), sorted by partition name.
func (m *meta) Capacities(ctx context.Context, partition string) ([]Capacity, error) {
	nodes, err := m.sched.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	parts := []string{partition}
	if partition == "" {
		seen := map[string]bool{}
		parts = nil
		for _, n := range nodes {
			for _, p := range n.Partitions {
				if !seen[p] {
					seen[p] = true
					parts = append(parts, p)
				}
			}
		}
		sort.Strings(parts)
	}
	var out []Capacity
	for _, p := range parts {
		pending, err := m.sched.PendingJobs(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, computeCapacity(nodes, p, pending))
	}
	return out, nil
}
