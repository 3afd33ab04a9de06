package sdk

import (
	"context"
	"encoding/json"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// ApplyResourceChange dispatches to Delete (planned state null), Create
// (prior state null) or Update. Replacement is the engine's business: it
// sends a delete and a create.
func (a *adapter) ApplyResourceChange(ctx context.Context, req protocol.ApplyResourceChangeRequest) (resp protocol.ApplyResourceChangeResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	prior := orNull(req.PriorState, ri.ty)
	planned := orNull(req.PlannedState, ri.ty)
	config := orNull(req.Config, ri.ty)
	meta := a.getMeta()
	sensitive := sensitivePaths(ri.block, req.SensitivePaths)
	secrets := collectSecrets(sensitive, config, prior, planned)
	var r *Response
	var op string
	func() {
		switch {
		case planned.IsNull():
			op = "Delete"
		case prior.IsNull():
			op = "Create"
		default:
			op = "Update"
		}
		defer recoverTo(&resp.Diagnostics, op+" of "+req.TypeName)
		cctx, done := a.call(ctx, req.TypeName, op)
		defer done()
		cctx = withSecrets(cctx, secrets)
		switch op {
		case "Delete":
			if ri.r.Delete != nil {
				r = ri.r.Delete(cctx, &DeleteRequest{TypeName: req.TypeName, Prior: newObject(prior, ri.ty), Private: req.PlannedPrivate, Meta: meta, Sensitive: sensitive})
			}
		case "Create":
			r = ri.r.Create(cctx, &CreateRequest{TypeName: req.TypeName, Config: newObject(config, ri.ty), Planned: newObject(planned, ri.ty), Private: req.PlannedPrivate, Meta: meta, Sensitive: sensitive, Address: req.Address})
		default:
			if ri.r.Update != nil {
				r = ri.r.Update(cctx, &UpdateRequest{TypeName: req.TypeName, Config: newObject(config, ri.ty), Prior: newObject(prior, ri.ty), Planned: newObject(planned, ri.ty), Private: req.PlannedPrivate, Meta: meta, Sensitive: sensitive, Address: req.Address})
			} else {
				r = &Response{State: newObject(planned, ri.ty)}
			}
		}
	}()
	if r == nil {
		r = &Response{}
	}
	resp.Diagnostics = append(resp.Diagnostics, r.Diagnostics...)
	resp.Private = r.Private
	if resp.Private == nil {
		resp.Private = req.PlannedPrivate
	}
	resp.Pending = r.Pending
	failed := resp.Diagnostics.HasErrors()
	switch {
	case op == "Delete" && !failed && r.Pending != nil:
		// A long delete: the object still exists until Read, polled with
		// the handle, returns Gone().
		resp.NewState = prior
	case op == "Delete" && !failed:
		resp.NewState = cty.NullVal(ri.ty)
		resp.Private, resp.Pending = nil, nil
		return resp
	case r.State.Value != cty.NilVal:
		resp.NewState = r.State.Value
	case op == "Create" && failed:
		resp.NewState = cty.NullVal(ri.ty)
	case failed: // Update or Delete failed: the object is as it was
		resp.NewState = prior
	default:
		resp.Diagnostics.Errorf("Provider returned no state",
			"%s of %s succeeded but returned no state. This is a bug in the provider: return &sdk.Response{State: ...}.", op, req.TypeName)
		resp.NewState = cty.NullVal(ri.ty)
		if op == "Update" {
			resp.NewState = prior
		}
	}
	resp.NewState = a.finishState(resp.NewState, ri, op, resp.Pending != nil || failed, &resp.Diagnostics)
	return resp
}

// finishState conforms a returned state to the schema and removes unknown
// values: they are expected in a pending or failed object's partial state
// (and become null), a bug otherwise.
func (a *adapter) finishState(v cty.Value, ri *resourceInfo, op string, partial bool, diags *Diagnostics) cty.Value {
	v = conform(v, ri.ty, "state", diags)
	if v.IsWhollyKnown() {
		return v
	}
	if !partial {
		diags.Errorf("Provider left values unknown",
			"%s returned a state in which %s %s still unknown. Set every computed attribute, or return a Pending object. This is a bug in the provider.",
			op, pathList(unknownPaths(v)), plural(len(unknownPaths(v)), "is", "are"))
	}
	return unknownsToNull(v)
}

// ReadResource passes the object (and its pending job, if any) to Read. A
// null current state is answered with null without calling Read.
func (a *adapter) ReadResource(ctx context.Context, req protocol.ReadResourceRequest) (resp protocol.ReadResourceResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	cur := orNull(req.CurrentState, ri.ty)
	resp.Private = req.Private
	if cur.IsNull() {
		resp.NewState = cur
		return resp
	}
	if ri.r.Read == nil {
		resp.NewState = cur
		if req.Pending != nil {
			resp.Diagnostics.Errorf("Provider cannot poll a pending object",
				"The %s object is pending (%s) but the resource has no Read function to poll it. This is a bug in the provider.", req.TypeName, req.Pending.Handle)
		}
		return resp
	}
	var r *Response
	func() {
		defer recoverTo(&resp.Diagnostics, "Read")
		cctx, done := a.call(ctx, req.TypeName, "Read")
		defer done()
		sensitive := sensitivePaths(ri.block, req.SensitivePaths)
		cctx = withSecrets(cctx, collectSecrets(sensitive, cur))
		r = ri.r.Read(cctx, &ReadRequest{TypeName: req.TypeName, State: newObject(cur, ri.ty), Private: req.Private, Pending: req.Pending, Meta: a.getMeta(), Sensitive: sensitive})
	}()
	if r == nil {
		resp.NewState = cur
		if resp.Diagnostics.HasErrors() {
			resp.Pending = req.Pending
		}
		return resp
	}
	resp.Diagnostics = append(resp.Diagnostics, r.Diagnostics...)
	resp.Pending = r.Pending
	if r.Private != nil {
		resp.Private = r.Private
	}
	switch {
	case r.State.Value == cty.NilVal:
		resp.NewState = cur
	case r.State.IsNull():
		resp.NewState = cty.NullVal(ri.ty)
		resp.Private, resp.Pending = nil, nil
		return resp
	default:
		resp.NewState = r.State.Value
	}
	resp.NewState = a.finishState(resp.NewState, ri, "Read", resp.Pending != nil || resp.Diagnostics.HasErrors(), &resp.Diagnostics)
	return resp
}

func (a *adapter) ImportResourceState(ctx context.Context, req protocol.ImportResourceStateRequest) (resp protocol.ImportResourceStateResponse) {
	defer func() { scrubDiags(resp.Diagnostics) }()
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	if ri.r.Import == nil {
		resp.Diagnostics.Errorf("Import not supported", "Resource type %s does not support import.", req.TypeName)
		return resp
	}
	var r *Response
	func() {
		defer recoverTo(&resp.Diagnostics, "Import")
		cctx, done := a.call(ctx, req.TypeName, "Import")
		defer done()
		cfg := orNull(req.Config, ri.ty)
		if !cfg.IsNull() && !cfg.Type().Equals(ri.ty) {
			cfg = conform(cfg, ri.ty, "import configuration", &resp.Diagnostics)
		}
		r = ri.r.Import(cctx, &ImportRequest{TypeName: req.TypeName, ID: req.ID, State: NullObject(ri.ty), Config: newObject(cfg, ri.ty), Meta: a.getMeta(), Address: req.Address})
		if r != nil && r.State.Value != cty.NilVal && !r.State.IsNull() && !cfg.IsNull() {
			r.State.Value = withConfiguredSecrets(r.State.Value, cfg, ri.block)
		}
	}()
	if r == nil {
		if !resp.Diagnostics.HasErrors() {
			resp.Diagnostics.Errorf("Cannot import", "Import of %s %q returned nothing.", req.TypeName, req.ID)
		}
		return resp
	}
	resp.Diagnostics = append(resp.Diagnostics, r.Diagnostics...)
	if resp.Diagnostics.HasErrors() || r.State.Value == cty.NilVal || r.State.IsNull() {
		if !resp.Diagnostics.HasErrors() {
			resp.Diagnostics.Errorf("Cannot import non-existent object", "No %s object with ID %q exists.", req.TypeName, req.ID)
		}
		return resp
	}
	st := a.finishState(r.State.Value, ri, "Import", true, &resp.Diagnostics)
	resp.Imported = []protocol.ImportedResource{{TypeName: req.TypeName, State: st, Private: r.Private}}
	return resp
}

// withConfiguredSecrets fills the sensitive top-level attributes that an
// import left null with their known configured values: a credential set on
// the resource then serves the read that follows the import (and every
// later call), as it would after a create.
func withConfiguredSecrets(st, cfg cty.Value, b *protocol.Block) cty.Value {
	if !st.Type().IsObjectType() || !cfg.Type().IsObjectType() {
		return st
	}
	m := st.AsValueMap()
	changed := false
	for name, at := range b.Attributes {
		if !at.Sensitive || !m[name].IsNull() || !cfg.Type().HasAttribute(name) {
			continue
		}
		if c := cfg.GetAttr(name); !c.IsNull() && c.IsWhollyKnown() {
			m[name], changed = c, true
		}
	}
	if !changed {
		return st
	}
	return cty.ObjectVal(m)
}

func (a *adapter) UpgradeResourceState(ctx context.Context, req protocol.UpgradeResourceStateRequest) (resp protocol.UpgradeResourceStateResponse) {
	ri, diags := a.resource(req.TypeName)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	if ri.r.UpgradeState == nil || req.Version == ri.r.SchemaVersion {
		v, err := decodeRecorded(req.RawJSON, ri.ty)
		if err != nil {
			resp.Diagnostics.Errorf("Cannot read recorded state",
				"The %s object was recorded under schema version %d (current %d) and does not fit the current schema: %s", req.TypeName, req.Version, ri.r.SchemaVersion, err)
			return resp
		}
		resp.UpgradedState = v
		return resp
	}
	var r *Response
	func() {
		defer recoverTo(&resp.Diagnostics, "UpgradeState")
		cctx, done := a.call(ctx, req.TypeName, "UpgradeState")
		defer done()
		r = ri.r.UpgradeState(cctx, &UpgradeRequest{TypeName: req.TypeName, Version: req.Version, RawJSON: req.RawJSON, Current: ri.ty, Meta: a.getMeta()})
	}()
	if r == nil {
		r = &Response{}
	}
	resp.Diagnostics = append(resp.Diagnostics, r.Diagnostics...)
	if r.State.Value == cty.NilVal {
		if !resp.Diagnostics.HasErrors() {
			resp.Diagnostics.Errorf("Provider returned no state", "UpgradeState of %s returned no state. This is a bug in the provider.", req.TypeName)
		}
		resp.UpgradedState = cty.NullVal(ri.ty)
		return resp
	}
	resp.UpgradedState = conform(r.State.Value, ri.ty, "upgraded state", &resp.Diagnostics)
	return resp
}

// StopProvider cancels the context of every in-flight call (its cause is
// ErrStopped). Calls that start afterwards get a fresh context.
func (a *adapter) StopProvider(context.Context, protocol.StopProviderRequest) protocol.StopProviderResponse {
	a.stopMu.Lock()
	defer a.stopMu.Unlock()
	a.stopCancel(ErrStopped)
	a.stopCtx, a.stopCancel = context.WithCancelCause(context.Background())
	return protocol.StopProviderResponse{}
}

// Close does nothing for an in-process provider.
func (a *adapter) Close() error { return nil }

// decodeRecorded decodes recorded state JSON with the current schema's
// type. Attributes the schema no longer has are dropped, and attributes it
// gained are null, so adding or removing an attribute needs no
// UpgradeState function.
func decodeRecorded(raw []byte, ty cty.Type) (cty.Value, error) {
	v, err := ctyjson.Unmarshal(raw, ty)
	if err == nil || !ty.IsObjectType() {
		return v, err
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return cty.NilVal, err
	}
	for k := range m {
		if !ty.HasAttribute(k) {
			delete(m, k)
		}
	}
	trimmed, jerr := json.Marshal(m)
	if jerr != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(trimmed, ty)
}
