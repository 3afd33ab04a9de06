package sdk

import (
	"context"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Offer is one way a provider could run an object (see Provider.Offers).
type Offer = protocol.Offer

// OffersRequest asks what the provider can offer for one object of a
// resource type; Config is the object's configuration.
type OffersRequest struct {
	TypeName string
	Config   Object
	Meta     any
}

// GetOffers implements protocol.OfferProvider: providers whose Offers is
// nil report Unsupported, which the engine treats as available at no cost.
func (a *adapter) GetOffers(ctx context.Context, req protocol.GetOffersRequest) (resp protocol.GetOffersResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	defer recoverTo(&resp.Diagnostics, "GetOffers")
	if a.p.Offers == nil {
		return protocol.GetOffersResponse{Unsupported: true}
	}
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	cctx, done := a.call(ctx, req.TypeName, "GetOffers")
	defer done()
	offers, diags := a.p.Offers(cctx, &OffersRequest{TypeName: req.TypeName, Config: newObject(orNull(req.Config, ri.ty), ri.ty), Meta: a.getMeta()})
	return protocol.GetOffersResponse{Offers: offers, Diagnostics: diags}
}
