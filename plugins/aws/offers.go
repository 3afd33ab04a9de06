package aws

import (
	"context"
	"fmt"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/schema"
)

// offers answers placement: the instance type the object would run on and
// its price from the table (spot or on-demand, times the instance count).
// SageMaker says nothing of free capacity before a job is created, so an
// offer is available whenever the region offers the type and its price is
// known; a capacity or quota refusal at submit time makes the placement
// fall back to its next candidate (protocol.CapacityRefused).
func offers(_ context.Context, req *sdk.OffersRequest) ([]sdk.Offer, sdk.Diagnostics) {
	m := metaOf(req.Meta)
	s, d := m.settingsOf(req.Config, req.TypeName == schema.Deployment)
	if d.HasErrors() {
		return []sdk.Offer{{Available: false, Reason: d[0].Detail}}, nil
	}
	if req.TypeName == schema.Deployment {
		// An endpoint runs one instance per replica, all the time.
		s.count, s.spot = max(req.Config.GetInt("replicas"), 1), false
	}
	price, ok := m.prices.price(s.instanceType, s.spot)
	o := sdk.Offer{GPUType: gpuTypeOf(s), GPUCount: gpuCountOf(s), Location: m.region + "/" + s.instanceType}
	if s.spot {
		o.Location += " (spot)"
	}
	switch {
	case !m.prices.offered(s.instanceType):
		o.Reason = fmt.Sprintf("no such GPU: %s is not offered in %s", s.instanceType, m.region)
	case !ok:
		o.Reason = fmt.Sprintf("no price for %s: add it to the provider's prices", s.instanceType)
	default:
		o.Available = true
		o.PricePerHour = price * float64(s.count)
	}
	return []sdk.Offer{o}, nil
}

func gpuTypeOf(s settings) string {
	if t, ok := lookup(s.instanceType); ok {
		return t.GPUType
	}
	return normalGPU(s.gpuType)
}

func gpuCountOf(s settings) int64 {
	if t, ok := lookup(s.instanceType); ok {
		return t.GPUs * s.count
	}
	return s.gpus * s.count
}
