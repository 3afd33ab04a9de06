package sdk_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// A provider with one resource type, run in process the way the engine
// (or a test) would call it.
func ExampleNewProtocolProvider() {
	echo := &sdk.Provider{
		Name:    "echo",
		Version: "0.1.0",
		Resources: map[string]*sdk.Resource{
			"echo_message": {
				Schema: sdk.Block{Attributes: sdk.Attributes{
					"text":  sdk.Attr(cty.String).Required(),
					"upper": sdk.Attr(cty.String).Computed(),
				}},
				Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
					st := req.Planned
					st.SetString("upper", strings.ToUpper(st.GetString("text")))
					return &sdk.Response{State: st}
				},
			},
		},
	}
	p := sdk.NewProtocolProvider(echo)
	cfg := cty.ObjectVal(map[string]cty.Value{"text": cty.StringVal("hi"), "upper": cty.NullVal(cty.String)})
	plan := p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{
		TypeName: "echo_message", PriorState: cty.NullVal(cfg.Type()), ProposedNewState: cfg, Config: cfg,
	})
	fmt.Println("planned upper known:", plan.PlannedState.GetAttr("upper").IsKnown())
	applied := p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{
		TypeName: "echo_message", PriorState: cty.NullVal(cfg.Type()), PlannedState: plan.PlannedState, Config: cfg,
	})
	fmt.Println("upper:", applied.NewState.GetAttr("upper").AsString())
	// Output:
	// planned upper known: false
	// upper: HI
}

// Schemas read as a list of attributes with their modifiers.
func ExampleAttr() {
	schema := sdk.Block{
		Attributes: sdk.Attributes{
			"text":    sdk.Attr(cty.String).Required().Description("The message."),
			"channel": sdk.Attr(cty.String).Optional().ForceNew(),
			"token":   sdk.Attr(cty.String).Optional().Sensitive(),
			"length":  sdk.Attr(cty.Number).Computed(),
		},
		Blocks: sdk.Blocks{
			"retry": sdk.SingleBlock(sdk.Block{Attributes: sdk.Attributes{
				"attempts": sdk.Attr(cty.Number).Optional(),
			}}),
		},
	}.Build()
	fmt.Println(schema.AttributeNames(), schema.Attributes["channel"].ForceNew)
	// Output: [channel length text token] true
}

// A long operation: Create returns a partial state with Pending; llmops
// calls Read with req.Pending until Read returns no Pending.
func ExamplePendingState() {
	res := &sdk.Resource{
		Schema: sdk.Block{Attributes: sdk.Attributes{
			"job_id": sdk.Attr(cty.String).Computed(),
			"status": sdk.Attr(cty.String).Computed(),
		}},
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			st := req.Planned
			st.SetString("job_id", "job-42") // submit the job here
			st.SetString("status", "running")
			return &sdk.Response{State: st, Pending: sdk.PendingState("job-42", "queued", "")}
		},
		Read: func(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
			if req.Pending == nil {
				return nil // nothing to poll: unchanged
			}
			st := req.State
			st.SetString("status", "succeeded") // ask the scheduler about req.Pending.Handle here
			return &sdk.Response{State: st}
		},
	}
	_ = res
	fmt.Println(sdk.PendingState("job-42", "queued", "").Handle)
	// Output: job-42
}
