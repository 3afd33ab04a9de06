package null

import (
	"context"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

func valueResource(h *hooks) *sdk.Resource {
	return &sdk.Resource{
		Schema: sdk.Block{
			Description: "Stores a value in state and echoes it as output; replaced when triggers_replace changes.",
			Attributes: sdk.Attributes{
				"input": sdk.Attr(cty.DynamicPseudoType).Optional().
					Description("Any value; it is copied to output."),
				"triggers_replace": sdk.Attr(cty.DynamicPseudoType).Optional().ForceNew().
					Description("Any value; a change replaces the object."),
				"output": sdk.Attr(cty.DynamicPseudoType).Computed().UseStateForUnknown().
					Description("The input, as of the last apply."),
				"id": sdk.Attr(cty.String).Computed().UseStateForUnknown().
					Description("A random identifier chosen at create."),
			},
		},
		// The plan looks only at prior and config.
		PurePlan: true,
		ModifyPlan: func(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			// On update, output follows input: unknown when input changes
			// (or is unknown). On create the framework already made it unknown.
			if req.IsCreate() {
				return nil
			}
			in, prior := req.Planned.Attr("input"), req.Prior.Attr("input")
			if in.IsWhollyKnown() && in.RawEquals(prior) {
				return nil
			}
			planned := req.Planned
			planned.SetUnknown("output")
			return &sdk.ModifyPlanResponse{Planned: planned}
		},
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			if r := h.apply(ctx); r != nil {
				return r
			}
			st := req.Planned
			st.SetString("id", newID())
			st.Set("output", st.Attr("input"))
			return &sdk.Response{State: st}
		},
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			if r := h.apply(ctx); r != nil {
				return r
			}
			st := req.Planned
			st.Set("output", st.Attr("input"))
			return &sdk.Response{State: st}
		},
		Delete: func(ctx context.Context, _ *sdk.DeleteRequest) *sdk.Response {
			return h.destroy(ctx)
		},
		// Read is nil: the object lives only in state, which is returned
		// unchanged.
		Import: sdk.ImportByID("id"),
	}
}
