package engine

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// importObject asks the provider for the existing object named id (with
// the resource's configuration cfg, cty.NilVal when there is none), reads
// it (the refresh step) and records it as this instance's object.
func (x *instance) importObject(ctx context.Context, rec *recorder, id string, cfg cty.Value) (cty.Value, hcl.Diagnostics) {
	ir := x.prov.client.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: x.typ(), ID: id, Config: cfg, Address: x.addr.String()})
	if ir.Diagnostics.HasErrors() {
		return cty.NilVal, x.diags(ir.Diagnostics)
	}
	var imp *protocol.ImportedResource
	for i := range ir.Imported {
		if ir.Imported[i].TypeName == x.typ() || ir.Imported[i].TypeName == "" {
			imp = &ir.Imported[i]
			break
		}
	}
	if imp == nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Nothing imported", Detail: fmt.Sprintf("The provider %s found no %s with id %q.", x.prov.addr, x.typ(), id), Subject: x.declRange()}}
	}
	found := &recordedObject{obj: &state.Object{Addr: x.addr, Provider: x.prov.addr, Status: state.StatusReady, Private: imp.Private},
		value: values.MarkPaths(imp.State, x.schema.Block.SensitivePaths())}
	now, _, ds := x.read(ctx, found)
	if ds.HasErrors() {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the imported object", Detail: ds.Error(), Subject: x.declRange()}}
	}
	if now == nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot import non-existent object", Detail: fmt.Sprintf("The provider %s reports that %q does not exist.", x.prov.addr, id), Subject: x.declRange()}}
	}
	v := withVersion(x.addr, now.value, 1)
	meta := x.meta()
	if err := x.persist(rec, v, now.obj.Private, state.StatusReady, nil, meta); err != nil {
		return cty.NilVal, stateWriteDiag(err)
	}
	return v, nil
}
