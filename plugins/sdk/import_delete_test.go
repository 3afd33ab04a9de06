package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// remote is a resource whose Read needs a credential set on the resource
// (token), and whose Delete cancels a remote job: it returns a pending
// handle, and Read reports the object gone once the cancellation is done.
func remote() protocol.Provider {
	return sdk.NewProtocolProvider(&sdk.Provider{Name: "r", Version: "1", Resources: map[string]*sdk.Resource{"r_job": {
		Schema: sdk.Block{Attributes: sdk.Attributes{
			"token":  sdk.Attr(cty.String).Required().Sensitive(),
			"region": sdk.Attr(cty.String).Optional(),
			"id":     sdk.Attr(cty.String).Computed(),
			"status": sdk.Attr(cty.String).Computed(),
		}},
		Create: func(_ context.Context, req *sdk.CreateRequest) *sdk.Response { return nil },
		Read: func(_ context.Context, req *sdk.ReadRequest) *sdk.Response {
			if req.Pending != nil && strings.HasPrefix(req.Pending.Handle, "cancel/") {
				if req.Pending.Handle == "cancel/1" {
					return &sdk.Response{State: req.State, Pending: sdk.PendingState("cancel/2", "cancelling", "one more poll")}
				}
				return sdk.Gone()
			}
			if req.State.GetString("token") != "secret-token" {
				var d sdk.Diagnostics
				d.Errorf("Unauthorized", "The read needs the token.")
				return &sdk.Response{Diagnostics: d}
			}
			st := req.State
			st.SetString("status", "running")
			return &sdk.Response{State: st}
		},
		Delete: func(_ context.Context, req *sdk.DeleteRequest) *sdk.Response {
			return &sdk.Response{State: req.Prior, Pending: sdk.PendingState("cancel/1", "cancelling", "cancellation requested")}
		},
		Import: sdk.ImportByID("id"),
	}}})
}

func jobValue(token, region, id, status cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"token": token, "region": region, "id": id, "status": status})
}

// The import request carries the configuration: the credential it sets
// is in the imported state, so the read after the import is authorised;
// other configured attributes stay what the id tells (null here).
func TestImportWithConfiguration(t *testing.T) {
	p := remote()
	ctx := context.Background()
	cfg := jobValue(cty.StringVal("secret-token"), cty.StringVal("eu"), cty.NullVal(cty.String), cty.NullVal(cty.String))
	ir := p.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: "r_job", ID: "j-1", Config: cfg})
	if ir.Diagnostics.HasErrors() || len(ir.Imported) != 1 {
		t.Fatalf("import: %v", ir.Diagnostics.Err())
	}
	st := ir.Imported[0].State
	if !st.GetAttr("token").RawEquals(cty.StringVal("secret-token")) || !st.GetAttr("region").IsNull() || st.GetAttr("id").AsString() != "j-1" {
		t.Errorf("imported state = %#v, want the id, the configured token and no region", st)
	}
	rr := p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "r_job", CurrentState: st})
	if rr.Diagnostics.HasErrors() || rr.NewState.GetAttr("status").AsString() != "running" {
		t.Errorf("the read after the import: %v %#v", rr.Diagnostics.Err(), rr.NewState)
	}

	// Without a configuration (an older llmops), the read is refused.
	ir = p.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: "r_job", ID: "j-1"})
	rr = p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "r_job", CurrentState: ir.Imported[0].State})
	if !rr.Diagnostics.HasErrors() {
		t.Errorf("the read without the credential succeeded")
	}
}

// A Delete that returns a pending handle keeps the object (it exists until
// the remote job is cancelled); Read polled with the handle reports it
// pending, then gone.
func TestPendingDelete(t *testing.T) {
	p := remote()
	ctx := context.Background()
	prior := jobValue(cty.StringVal("secret-token"), cty.NullVal(cty.String), cty.StringVal("j-1"), cty.StringVal("running"))
	r := p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: "r_job", PriorState: prior, PlannedState: cty.NullVal(prior.Type()), Config: cty.NullVal(prior.Type())})
	if r.Diagnostics.HasErrors() || r.Pending == nil || r.Pending.Handle != "cancel/1" || !r.NewState.RawEquals(prior) {
		t.Fatalf("pending delete: %v pending=%+v state=%#v", r.Diagnostics.Err(), r.Pending, r.NewState)
	}
	rr := p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "r_job", CurrentState: r.NewState, Pending: r.Pending})
	if rr.Pending == nil || rr.Pending.Handle != "cancel/2" || rr.NewState.IsNull() {
		t.Fatalf("first poll: pending=%+v state=%#v", rr.Pending, rr.NewState)
	}
	rr = p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: "r_job", CurrentState: rr.NewState, Pending: rr.Pending})
	if rr.Diagnostics.HasErrors() || rr.Pending != nil || !rr.NewState.IsNull() {
		t.Fatalf("second poll: want the object gone, got pending=%+v state=%#v %v", rr.Pending, rr.NewState, rr.Diagnostics.Err())
	}
}
