package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// configureFromState configures every provider for an operation that is
// not a plan (rollback, import): locals are evaluated and resources take
// their recorded values, so provider blocks that refer to them work.
func (e *Engine) configureFromState(ctx context.Context) (*configGraph, map[addrs.Resource]*recordedResource, hcl.Diagnostics) {
	_, recorded, diags := e.loadRecorded(ctx)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	cg, ds := e.prepareGraph(ctx, recorded)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	d := newEvalData(e.cfg, e.opts.Variables)
	var mu = make(chan struct{}, 1)
	cg.g.Walk(ctx, 0, func(ctx context.Context, n node) graph.Result {
		var ds hcl.Diagnostics
		switch n.kind {
		case nkLocal:
			ds = e.evalLocal(d, n.name)
		case nkProvider:
			ds = e.configureProvider(ctx, d, n.prov)
		case nkResource:
			insts := map[addrs.InstanceKey]cty.Value{}
			exp := expandSingle
			if rr := recorded[n.res]; rr != nil {
				for k, ro := range rr.instances {
					insts[k] = ro.value
					switch k.(type) {
					case addrs.IntKey:
						exp = expandCount
					case addrs.StringKey:
						exp = expandForEach
					}
				}
			}
			d.setResource(n.res, exp, insts)
		}
		mu <- struct{}{}
		diags = append(diags, ds...)
		<-mu
		return graph.OK
	}, nil)
	return cg, recorded, diags
}

// PlanRollback plans putting each target back to what it was in version
// toSerial: the provider plans the change from the current object to the
// recorded one (for a deployment, an update to the earlier model: no
// training). The plan's changes carry ReasonRollback.
func (e *Engine) PlanRollback(ctx context.Context, targets []addrs.ResourceInstance, toSerial int64) (*plans.Plan, hcl.Diagnostics) {
	cg, recorded, diags := e.configureFromState(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	old, err := e.opts.Store.Snapshot(ctx, toSerial)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the state version", Detail: err.Error()})
	}
	if old.Serial != toSerial {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No such state version", Detail: fmt.Sprintf("There is no state version %d; `llmops history` lists them.", toSerial)})
	}
	// The old version's sealed sensitive values are opened with the state
	// key: rolling back to them must restore them, not null them.
	oldObjs, err := history.Decode(old, e.opts.Secrets)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid state version", Detail: err.Error()})
	}
	p := &plans.Plan{Mode: plans.NormalMode, CreatedAt: time.Now().UTC(), Lineage: e.opts.Store.Lineage(), PrevSerial: e.snap.Serial, ConfigDigest: e.cfg.Digest, RollbackTo: toSerial}
	for _, ri := range targets {
		target, ok := oldObjs[ri]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nothing to roll back to", Detail: fmt.Sprintf("%s did not exist in state version %d. `llmops history %s` lists its versions.", ri, toSerial, ri)})
			continue
		}
		if target.Sealed {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "The state key is needed",
				Detail: fmt.Sprintf("%s had sensitive values in state version %d, sealed with the state key; rolling back restores them. %s", ri, toSerial, secretsHelp)})
			continue
		}
		var cur *recordedObject
		if rr := recorded[ri.Resource]; rr != nil {
			cur = rr.instances[ri.Key]
		}
		if cur == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Object not in the state", Detail: fmt.Sprintf("%s is not recorded now; apply the configuration first, or import it.", ri)})
			continue
		}
		pi, err := e.providers.get(ctx, cur.obj.Provider)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot start provider " + cur.obj.Provider.String(), Detail: err.Error()})
			continue
		}
		schema := cg.schemas[ri.Resource]
		if schema == nil {
			s, ds := pi.resourceSchema(ri.Resource.Type, nil)
			if ds.HasErrors() {
				diags = append(diags, ds...)
				continue
			}
			schema = s
		}
		priorVal, _ := cur.value.UnmarkDeep()
		targetVal, _ := target.Value.UnmarkDeep()
		config := configOnly(schema.Block, targetVal)
		proposed := proposedNew(schema.Block, priorVal, config, nil)
		resp := pi.client.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{
			TypeName: ri.Resource.Type, PriorState: priorVal, ProposedNewState: proposed, Config: config, PriorPrivate: cur.obj.Private,
		})
		if resp.Diagnostics.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot plan the rollback of " + ri.String(), Detail: resp.Diagnostics.Err().Error()})
			continue
		}
		// What was sensitive in the version rolled back to stays sensitive,
		// whatever the current object says.
		sensitive := append(values.SensitivePaths(cur.value), values.SensitivePaths(target.Value)...)
		ch := &plans.ResourceInstanceChange{
			Addr: ri, Provider: cur.obj.Provider, Reason: plans.ReasonRollback,
			Before: cur.value, After: values.MarkSecretLeaves(values.MarkPaths(resp.PlannedState, append(sensitive, schema.Block.SensitivePaths()...)),
				append(values.SecretLeaves(cur.value), values.SecretLeaves(target.Value)...)),
			RequiresReplace: resp.RequiresReplace, Private: resp.PlannedPrivate,
			Dependencies: cur.obj.Dependencies, CreateBeforeDestroy: cur.obj.CreateBeforeDestroy,
		}
		switch {
		case len(resp.RequiresReplace) > 0:
			ch.Action = plans.CreateThenDelete
		case valuesEqual(ch.After, cur.value):
			ch.Action = plans.NoOp
		default:
			ch.Action = plans.Update
		}
		p.Changes = append(p.Changes, ch)
	}
	p.Sort()
	return p, diags
}

// configOnly keeps the attributes a user can set (computed-only ones
// become null), so a recorded object can serve as a configuration.
func configOnly(b *protocol.Block, v cty.Value) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	m := v.AsValueMap()
	for name, a := range b.Attributes {
		if a.Computed && !a.Optional && !a.Required {
			if cur, ok := m[name]; ok {
				m[name] = cty.NullVal(cur.Type())
			}
		}
	}
	return cty.ObjectVal(m)
}

// ApplyRollback carries out a rollback plan made by PlanRollback and pins
// the objects (see history.Pin) so that later plans keep them.
func (e *Engine) ApplyRollback(ctx context.Context, p *plans.Plan, opts ApplyOptions) (*ApplyResult, hcl.Diagnostics) {
	res := &ApplyResult{}
	var diags hcl.Diagnostics
	_, recorded, ds := e.loadRecorded(ctx)
	if ds.HasErrors() {
		return nil, ds
	}
	if p.PrevSerial != e.snap.Serial {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "The state changed", Detail: "The state changed since the rollback was planned; run rollback again."}}
	}
	var writer state.Writer
	callCtx := context.WithoutCancel(ctx)
	// openWriter begins the rollback's state version on first use.
	openWriter := func() error {
		if writer != nil {
			return nil
		}
		var err error
		writer, err = e.opts.Store.Begin(callCtx, state.VersionInfo{CreatedAt: time.Now().UTC(), Who: opts.Who, Command: opts.Command, ConfigDigest: e.cfg.Digest, Status: state.VersionInProgress})
		return err
	}
	for _, ch := range p.Changes {
		if ch.Action == plans.NoOp {
			continue
		}
		cur := recorded[ch.Addr.Resource].instances[ch.Addr.Key]
		pi, err := e.providers.get(ctx, cur.obj.Provider)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot start provider", Detail: err.Error()})
			break
		}
		priorVal, _ := cur.value.UnmarkDeep()
		planned, _ := ch.After.UnmarkDeep()
		config := configOnly(pi.schema.ResourceTypes[ch.Addr.Resource.Type].Block, planned)
		start := time.Now()
		e.hooks.PreApply(ch.Addr, ch.Action)
		createPrior := priorVal
		deposedKey := ""
		if ch.Action == plans.CreateThenDelete {
			createPrior = cty.NullVal(priorVal.Type())
			// The old object stays recorded (deposed) until it is destroyed.
			if err := openWriter(); err != nil {
				return res, append(diags, stateWriteDiag(err)...)
			}
			deposedKey = newDeposedKey()
			if err := writer.Depose(callCtx, ch.Addr, deposedKey); err != nil {
				return res, append(diags, stateWriteDiag(err)...)
			}
		}
		resp := pi.client.ApplyResourceChange(callCtx, protocol.ApplyResourceChangeRequest{
			TypeName: ch.Addr.Resource.Type, PriorState: createPrior, PlannedState: planned, Config: config, PlannedPrivate: ch.Private,
		})
		if resp.Diagnostics.HasErrors() {
			err := resp.Diagnostics.Err()
			e.hooks.PostApply(ch.Addr, ch.Action, time.Since(start), "", err)
			res.Failed = append(res.Failed, InstanceFailure{Addr: ch.Addr, Action: ch.Action, Err: err.Error()})
			if deposedKey != "" {
				if rerr := writer.RestoreDeposed(callCtx, ch.Addr, deposedKey); rerr != nil {
					diags = append(diags, stateWriteDiag(rerr)...)
				}
			}
			continue
		}
		for resp.Pending != nil && ctx.Err() == nil {
			time.Sleep(e.opts.PollInterval)
			rr := pi.client.ReadResource(callCtx, protocol.ReadResourceRequest{TypeName: ch.Addr.Resource.Type, CurrentState: resp.NewState, Private: resp.Private, Pending: resp.Pending})
			if rr.Diagnostics.HasErrors() {
				resp.Diagnostics = rr.Diagnostics
				break
			}
			resp.NewState, resp.Private, resp.Pending = rr.NewState, rr.Private, rr.Pending
		}
		if resp.Diagnostics.HasErrors() {
			res.Failed = append(res.Failed, InstanceFailure{Addr: ch.Addr, Action: ch.Action, Err: resp.Diagnostics.Err().Error()})
			if deposedKey != "" && (resp.NewState == cty.NilVal || resp.NewState.IsNull()) {
				if rerr := writer.RestoreDeposed(callCtx, ch.Addr, deposedKey); rerr != nil {
					diags = append(diags, stateWriteDiag(rerr)...)
				}
			}
			continue
		}
		if err := openWriter(); err != nil {
			return res, append(diags, stateWriteDiag(err)...)
		}
		version := cur.obj.Version
		if ch.Action.IsReplace() {
			version++
		}
		// Marked as the plan marked it, and wherever the provider copied a
		// secret (output = input), as apply does.
		newVal := values.MarkSecretLeaves(values.MarkPaths(resp.NewState, values.SensitivePaths(ch.After)), values.SecretLeaves(ch.After))
		newVal = withVersion(ch.Addr, newVal, version)
		enc, err := values.EncodeSealed(newVal, e.opts.Secrets, false)
		if err == nil {
			obj := *cur.obj
			obj.ValueJSON, obj.TypeJSON, obj.SensitivePaths, obj.Private = enc.Value, enc.Type, enc.Sensitive, resp.Private
			obj.Status, obj.Version, obj.PendingHandle, obj.PendingStatus = state.StatusReady, version, "", ""
			err = writer.PutObject(callCtx, &obj)
		}
		if err != nil {
			return res, append(diags, stateWriteDiag(err)...)
		}
		if deposedKey != "" {
			dr := pi.client.ApplyResourceChange(callCtx, deleteRequest(ch.Addr.Resource.Type, priorVal, cur.obj.Private))
			derr := dr.Diagnostics.Err()
			if derr == nil {
				derr = writer.RemoveDeposed(callCtx, ch.Addr, deposedKey)
			}
			if derr != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Old object not destroyed", Detail: fmt.Sprintf("%s: %s. It stays in the state as deposed object %s, and the next apply destroys it.", ch.Addr, derr, deposedKey)})
			}
		}
		if ch.Action.IsReplace() {
			res.Counts.Replaced++
		} else {
			res.Counts.Changed++
		}
		e.hooks.PostApply(ch.Addr, ch.Action, time.Since(start), objectID(newVal), nil)
		hash := ""
		if rc := e.cfg.Resources[ch.Addr.Resource]; rc != nil {
			hash = rc.SourceHash
		}
		pin := history.Pin{ToSerial: p.RollbackTo, FromSerial: cur.obj.Serial, ConfigHash: hash}
		if err := e.opts.Store.AppendEvent(callCtx, state.Event{Time: time.Now().UTC(), Kind: history.EventRollbackPin, Addr: ch.Addr.String(),
			Message: fmt.Sprintf("rolled back to serial %d", p.RollbackTo), Data: history.PinData(pin)}); err != nil {
			diags = append(diags, stateWriteDiag(err)...)
		}
	}
	if writer != nil {
		status := state.VersionComplete
		if len(res.Failed) > 0 {
			status = state.VersionPartial
		}
		res.Counts.Failed = len(res.Failed)
		if err := writer.Finish(callCtx, status, res.Counts); err != nil {
			diags = append(diags, stateWriteDiag(err)...)
		}
		res.Serial = writer.Serial()
	}
	e.snap, e.recorded = nil, nil
	return res, diags
}

// Import adopts the existing object named id into the state at addr,
// through the provider's import and a read.
func (e *Engine) Import(ctx context.Context, addr addrs.ResourceInstance, id string, opts ApplyOptions) (cty.Value, hcl.Diagnostics) {
	rc := e.cfg.Resources[addr.Resource]
	if rc == nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Import needs a configuration block",
			Detail: fmt.Sprintf("Declare %s in the configuration first (its attributes describe the object), then import it. llmops will then manage it.", addr.Resource)}}
	}
	cg, recorded, diags := e.configureFromState(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if rr := recorded[addr.Resource]; rr != nil && rr.instances[addr.Key] != nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Already managed", Detail: fmt.Sprintf("%s is already in the state. Remove it first with `llmops state rm %s` to import another object there.", addr, addr)}}
	}
	pi, ds := e.resourceProvider(ctx, rc)
	if ds.HasErrors() {
		return cty.NilVal, ds
	}
	schema := cg.schemas[addr.Resource]
	ir := pi.client.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: addr.Resource.Type, ID: id})
	if ir.Diagnostics.HasErrors() {
		return cty.NilVal, providerDiags(ir.Diagnostics, rc.Config, rc.DeclRange, addr.String())
	}
	var imp *protocol.ImportedResource
	for i := range ir.Imported {
		if ir.Imported[i].TypeName == addr.Resource.Type || ir.Imported[i].TypeName == "" {
			imp = &ir.Imported[i]
			break
		}
	}
	if imp == nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Nothing imported", Detail: fmt.Sprintf("The provider %s found no %s with id %q.", pi.addr, addr.Resource.Type, id)}}
	}
	rr := pi.client.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: addr.Resource.Type, CurrentState: imp.State, Private: imp.Private})
	if rr.Diagnostics.HasErrors() {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the imported object", Detail: rr.Diagnostics.Err().Error()}}
	}
	if rr.NewState == cty.NilVal || rr.NewState.IsNull() {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot import non-existent object", Detail: fmt.Sprintf("The provider %s reports that %q does not exist.", pi.addr, id)}}
	}
	v := withVersion(addr, values.MarkPaths(rr.NewState, schema.Block.SensitivePaths()), 1)
	enc, err := values.EncodeSealed(v, e.opts.Secrets, false)
	if err != nil {
		return cty.NilVal, stateWriteDiag(err)
	}
	w, err := e.opts.Store.Begin(ctx, state.VersionInfo{CreatedAt: time.Now().UTC(), Who: opts.Who, Command: opts.Command, ConfigDigest: e.cfg.Digest, Status: state.VersionInProgress})
	if err != nil {
		return cty.NilVal, stateWriteDiag(err)
	}
	obj := &state.Object{Addr: addr, Provider: rc.Provider, Status: state.StatusReady, SchemaVersion: schema.Version,
		ValueJSON: enc.Value, TypeJSON: enc.Type, SensitivePaths: enc.Sensitive, Private: rr.Private,
		Dependencies: cg.resourceDeps[addr.Resource], Version: 1}
	if err := w.PutObject(ctx, obj); err != nil {
		return cty.NilVal, stateWriteDiag(err)
	}
	if err := w.Finish(ctx, state.VersionComplete, state.Counts{Added: 1}); err != nil {
		return cty.NilVal, stateWriteDiag(err)
	}
	e.snap, e.recorded = nil, nil
	return v, diags
}
