package local

import (
	"context"
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

// offers answers placement: this host can run an object when it has as
// many GPUs as the object asks for (of the type, when one is named), as
// nvidia-smi reports them. The price is the provider's price_per_hour.
func offers(ctx context.Context, req *sdk.OffersRequest) ([]sdk.Offer, sdk.Diagnostics) {
	m := metaOf(req.Meta)
	price := 0.0
	if m != nil {
		price = m.pricePerHour
	}
	want, wantType := 0, ""
	if res := req.Config.Attr("resources"); res != cty.NilVal && res.IsKnown() && !res.IsNull() && res.Type().IsObjectType() {
		if g := res.GetAttr("gpus"); g.IsKnown() && !g.IsNull() {
			f, _ := g.AsBigFloat().Int64()
			want = int(f)
		}
		if res.Type().HasAttribute("gpu_type") {
			if t := res.GetAttr("gpu_type"); t.IsKnown() && !t.IsNull() && t.AsString() != "any" {
				wantType = t.AsString()
			}
		}
	}
	offer := sdk.Offer{Available: true, GPUCount: int64(want), GPUType: wantType, PricePerHour: price, Location: "this host"}
	if want == 0 {
		return []sdk.Offer{offer}, nil
	}
	gpus, err := listGPUs(ctx)
	if err != nil {
		offer.Available = false
		offer.Reason = fmt.Sprintf("no GPUs here (nvidia-smi: %v)", err)
		return []sdk.Offer{offer}, nil
	}
	n := 0
	for _, g := range gpus {
		if wantType == "" || containsFold(g.Name, wantType) {
			n++
		}
	}
	switch {
	case n == 0 && wantType != "":
		offer.Available, offer.Reason = false, fmt.Sprintf("GPU type %s missing here (%d other GPUs)", wantType, len(gpus))
	case n < want:
		offer.Available, offer.Reason = false, fmt.Sprintf("%d GPUs asked, %d here", want, n)
	}
	return []sdk.Offer{offer}, nil
}

func containsFold(s, sub string) bool {
	ls, lsub := []rune(s), []rune(sub)
	for i := 0; i+len(lsub) <= len(ls); i++ {
		match := true
		for j := range lsub {
			a, b := ls[i+j], lsub[j]
			if a >= 'A' && a <= 'Z' {
				a += 'a' - 'A'
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			if a != b {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
