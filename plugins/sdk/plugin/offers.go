package plugin

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// GetOffers implements protocol.OfferProvider over the wire. A provider
// built before offers existed answers Unimplemented: the response then
// says Unsupported.
func (c *Client) GetOffers(ctx context.Context, req protocol.GetOffersRequest) protocol.GetOffersResponse {
	ty, diags := c.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		return protocol.GetOffersResponse{Diagnostics: diags}
	}
	cfg, err := encodeValue(req.Config, ty)
	if err != nil {
		encodeDiags(&diags, "configuration", err)
		return protocol.GetOffersResponse{Diagnostics: diags}
	}
	r, err := c.rpc.GetOffers(ctx, &proto.GetOffers_Request{TypeName: req.TypeName, Config: cfg})
	if err != nil {
		if status.Code(err) == codes.Unimplemented {
			return protocol.GetOffersResponse{Unsupported: true}
		}
		return protocol.GetOffersResponse{Diagnostics: c.rpcDiags(ctx, "GetOffers", err)}
	}
	resp := protocol.GetOffersResponse{Diagnostics: diagsFromProto(r.Diagnostics)}
	for _, o := range r.Offers {
		resp.Offers = append(resp.Offers, protocol.Offer{
			Available: o.Available, Reason: o.Reason, GPUType: o.GpuType, GPUCount: o.GpuCount,
			PricePerHour: o.PricePerHour, QueueEstimate: time.Duration(o.QueueEstimateSeconds) * time.Second, Location: o.Location,
		})
	}
	return resp
}

// GetOffers serves protocol.OfferProvider when the implementation has it.
func (s *server) GetOffers(ctx context.Context, req *proto.GetOffers_Request) (resp *proto.GetOffers_Response, _ error) {
	op, ok := s.impl.(protocol.OfferProvider)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this provider makes no offers")
	}
	resp = &proto.GetOffers_Response{}
	defer recoverDiags(&resp.Diagnostics)
	ty, diags := s.resourceType(ctx, req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diagsToProto(diags)
		return resp, nil
	}
	cfg, err := decodeValue(req.Config, ty)
	if err != nil {
		resp.Diagnostics = errDiag("Invalid resource configuration", err)
		return resp, nil
	}
	r := op.GetOffers(ctx, protocol.GetOffersRequest{TypeName: req.TypeName, Config: cfg})
	if r.Unsupported {
		return nil, status.Error(codes.Unimplemented, "this provider makes no offers")
	}
	resp.Diagnostics = diagsToProto(r.Diagnostics)
	for _, o := range r.Offers {
		resp.Offers = append(resp.Offers, &proto.GetOffers_Offer{
			Available: o.Available, Reason: o.Reason, GpuType: o.GPUType, GpuCount: o.GPUCount,
			PricePerHour: o.PricePerHour, QueueEstimateSeconds: int64(o.QueueEstimate / time.Second), Location: o.Location,
		})
	}
	return resp, nil
}
