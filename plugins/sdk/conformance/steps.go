package conformance

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// object is the current recorded object of a case.
type object struct {
	state   cty.Value
	private []byte
}

func (s *suite) configure(t *testing.T) {
	ctx := context.Background()
	blk := &protocol.Block{}
	if s.schema.Provider != nil && s.schema.Provider.Block != nil {
		blk = s.schema.Provider.Block
	}
	cfg, err := fill(blk, s.cfg.ProviderConfig)
	if err != nil {
		t.Fatalf("Config.ProviderConfig does not fit the provider schema: %v", err)
	}
	if r := s.p.ValidateProviderConfig(ctx, protocol.ValidateProviderConfigRequest{Config: cfg}); r.Diagnostics.HasErrors() {
		t.Fatalf("ValidateProviderConfig rejected the configuration:%s", diagString(r.Diagnostics))
	}
	r := s.p.ConfigureProvider(ctx, protocol.ConfigureProviderRequest{
		Config: cfg, WorkingDir: s.workDir, ArtifactDir: s.artifactDir, EngineVersion: "conformance", ArtifactStore: s.cfg.ArtifactStore,
	})
	if r.Diagnostics.HasErrors() {
		t.Fatalf("ConfigureProvider failed:%s", diagString(r.Diagnostics))
	}
}

func (s *suite) runCase(t *testing.T, c Case) {
	ctx := context.Background()
	sch := s.schema.ResourceTypes[c.TypeName]
	if sch == nil || sch.Block == nil {
		t.Fatalf("the provider serves no resource type %q", c.TypeName)
	}
	blk, ty := sch.Block, sch.Block.ImpliedType()
	create, err := fill(blk, c.Create)
	if err != nil || create.IsNull() {
		t.Fatalf("Case.Create does not fit the schema of %s: %v", c.TypeName, err)
	}
	var planned cty.Value
	var plannedPrivate []byte
	var cur *object

	t.Run("Validate", func(t *testing.T) {
		r := s.p.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: c.TypeName, Config: create})
		if r.Diagnostics.HasErrors() {
			t.Fatalf("ValidateResourceConfig rejected Case.Create:%s", diagString(r.Diagnostics))
		}
	})
	t.Run("UnknownValues", func(t *testing.T) {
		unk := unknownLeaves(create)
		if r := s.p.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: c.TypeName, Config: unk}); r.Diagnostics.HasErrors() {
			t.Fatalf("ValidateResourceConfig must accept unknown values (they depend on resources not yet created):%s", diagString(r.Diagnostics))
		}
		r := s.p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: c.TypeName, PriorState: cty.NullVal(ty), ProposedNewState: unk, Config: unk})
		if r.Diagnostics.HasErrors() {
			t.Fatalf("PlanResourceChange must accept unknown configuration values:%s", diagString(r.Diagnostics))
		}
	})
	if !t.Run("PlanCreate", func(t *testing.T) {
		r := s.p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: c.TypeName, PriorState: cty.NullVal(ty), ProposedNewState: create, Config: create})
		if r.Diagnostics.HasErrors() {
			t.Fatalf("planning the create failed:%s", diagString(r.Diagnostics))
		}
		if r.PlannedState == cty.NilVal || r.PlannedState.IsNull() {
			t.Fatalf("the planned state of a create is null")
		}
		if errs := r.PlannedState.Type().TestConformance(ty); errs != nil {
			t.Fatalf("the planned state does not conform to the schema: %v", errs)
		}
		if len(r.RequiresReplace) > 0 {
			t.Errorf("a create must not require replacement, got %v", paths(r.RequiresReplace))
		}
		if lost := preserved(blk, create, r.PlannedState); len(lost) > 0 {
			t.Errorf("the plan changed configured values:\n  %s", strings.Join(lost, "\n  "))
		}
		planned, plannedPrivate = r.PlannedState, r.PlannedPrivate
	}) {
		return
	}
	if !t.Run("ApplyCreate", func(t *testing.T) {
		r := s.p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: c.TypeName, PriorState: cty.NullVal(ty), PlannedState: planned, Config: create, PlannedPrivate: plannedPrivate})
		obj, diags := s.settle(t, c.TypeName, r.NewState, r.Private, r.Pending, r.Diagnostics)
		if c.FailsWith != "" {
			if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), c.FailsWith) {
				t.Fatalf("the create should fail with %q, got:%s", c.FailsWith, diagString(diags))
			}
			return
		}
		if diags.HasErrors() {
			t.Fatalf("applying the create failed:%s", diagString(diags))
		}
		s.checkState(t, blk, create, obj.state, "the created state")
		if bad := inconsistent(blk, planned, obj.state); len(bad) > 0 {
			t.Errorf("the created state contradicts the plan (a known planned value must not change at apply; plan it unknown instead):\n  %s", strings.Join(bad, "\n  "))
		}
		cur = obj
	}) || c.FailsWith != "" {
		return
	}
	t.Run("Read", func(t *testing.T) {
		r := s.p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: c.TypeName, CurrentState: cur.state, Private: cur.private})
		if r.Diagnostics.HasErrors() {
			t.Fatalf("reading the created object failed:%s", diagString(r.Diagnostics))
		}
		if r.Pending != nil {
			t.Fatalf("reading a finished object returned pending %+v", *r.Pending)
		}
		if !r.NewState.RawEquals(cur.state) {
			t.Fatalf("reading an unchanged object must return the same object; differences:%s", valueDiff(cur.state, r.NewState))
		}
	})
	t.Run("PlanNoOp", func(t *testing.T) {
		prop := proposed(blk, cur.state, create)
		r := s.p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: c.TypeName, PriorState: cur.state, ProposedNewState: prop, Config: create, PriorPrivate: cur.private})
		if r.Diagnostics.HasErrors() {
			t.Fatalf("planning with an unchanged configuration failed:%s", diagString(r.Diagnostics))
		}
		if len(r.RequiresReplace) > 0 {
			t.Errorf("an unchanged configuration must not require replacement, got %v", paths(r.RequiresReplace))
		}
		if !r.PlannedState.RawEquals(cur.state) {
			t.Errorf("an unchanged configuration must plan no change (planned == prior); differences:%s", valueDiff(cur.state, r.PlannedState))
		}
	})
	if c.Update != cty.NilVal {
		t.Run("Update", func(t *testing.T) {
			next := s.change(t, c.TypeName, blk, cur, c.Update, false)
			if next != nil {
				cur = next
			}
		})
	}
	if c.Replace != cty.NilVal {
		t.Run("PlanReplace", func(t *testing.T) { s.change(t, c.TypeName, blk, cur, c.Replace, true) })
	}
	if c.ImportID != nil {
		t.Run("Import", func(t *testing.T) { s.importRoundTrip(t, c, cur) })
	}
	deleted := t.Run("Delete", func(t *testing.T) { s.deleteStep(t, c, ty, cur) })
	t.Run("ReadAfterDelete", func(t *testing.T) { s.readAfterDelete(t, c, ty, cur, deleted) })
	if c.Invalid != cty.NilVal {
		t.Run("Invalid", func(t *testing.T) { s.invalid(t, c, blk) })
	}
}

// deleteStep deletes the object, following a pending delete through Read
// until it is gone.
func (s *suite) deleteStep(t *testing.T, c Case, ty cty.Type, cur *object) {
	ctx := context.Background()
	r := s.p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: c.TypeName, PriorState: cur.state, PlannedState: cty.NullVal(ty), Config: cty.NullVal(ty), PlannedPrivate: cur.private})
	if r.Diagnostics.HasErrors() {
		t.Fatalf("deleting failed:%s", diagString(r.Diagnostics))
	}
	if r.Pending != nil {
		// A long delete: polled through Read until the object is gone.
		obj, diags := s.settle(t, c.TypeName, r.NewState, r.Private, r.Pending, nil)
		if diags.HasErrors() {
			t.Fatalf("the pending delete failed:%s", diagString(diags))
		}
		if obj.state != cty.NilVal && !obj.state.IsNull() {
			t.Fatalf("the pending delete ended, but Read still returns the object (return sdk.Gone() once it is deleted)")
		}
		return
	}
	if r.NewState != cty.NilVal && !r.NewState.IsNull() {
		t.Fatalf("a delete must return a null new state (or a pending handle), got %#v", r.NewState)
	}
}

// readAfterDelete reads a null state, then (once the delete passed) the
// deleted object: null unless the case says the object lives only in
// state or outlives its delete.
func (s *suite) readAfterDelete(t *testing.T, c Case, ty cty.Type, cur *object, deleted bool) {
	ctx := context.Background()
	r := s.p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: c.TypeName, CurrentState: cty.NullVal(ty)})
	if r.Diagnostics.HasErrors() || (r.NewState != cty.NilVal && !r.NewState.IsNull()) {
		t.Errorf("reading a null state must return null without error; got %#v%s", r.NewState, diagString(r.Diagnostics))
	}
	if !deleted {
		return
	}
	r = s.p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: c.TypeName, CurrentState: cur.state, Private: cur.private})
	if r.Diagnostics.HasErrors() {
		t.Fatalf("reading a deleted object must return null, not an error:%s", diagString(r.Diagnostics))
	}
	gone := r.NewState == cty.NilVal || r.NewState.IsNull()
	switch {
	case c.StateOnly:
		// Deprecated: either meaning; nothing is checked, as before.
	case c.InStateOnly:
		if !gone && !r.NewState.RawEquals(cur.state) {
			t.Errorf("Case.InStateOnly: Read of an object that lives only in llmops state must return the state it is given; it changed:%s", valueDiff(cur.state, r.NewState))
		}
	case c.KeptAfterDelete:
		// What Read looks at outlives the object: found or not, both fine.
	case !gone:
		t.Fatalf("reading a deleted object must return null (set Case.InStateOnly if the object lives only in llmops state, or Case.KeptAfterDelete if Delete leaves what Read finds), got %#v", r.NewState)
	}
}

// change plans (and, for an in-place update, applies) a new configuration.
func (s *suite) change(t *testing.T, typeName string, blk *protocol.Block, cur *object, raw cty.Value, replace bool) *object {
	ctx := context.Background()
	cfg, err := fill(blk, raw)
	if err != nil {
		t.Fatalf("the configuration does not fit the schema: %v", err)
	}
	if r := s.p.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: typeName, Config: cfg}); r.Diagnostics.HasErrors() {
		t.Fatalf("ValidateResourceConfig rejected the configuration:%s", diagString(r.Diagnostics))
	}
	prop := proposed(blk, cur.state, cfg)
	pr := s.p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: typeName, PriorState: cur.state, ProposedNewState: prop, Config: cfg, PriorPrivate: cur.private})
	if pr.Diagnostics.HasErrors() {
		t.Fatalf("planning the change failed:%s", diagString(pr.Diagnostics))
	}
	if errs := pr.PlannedState.Type().TestConformance(blk.ImpliedType()); errs != nil || pr.PlannedState.IsNull() {
		t.Fatalf("the planned state is null or does not conform to the schema: %v", errs)
	}
	if lost := preserved(blk, cfg, pr.PlannedState); len(lost) > 0 {
		t.Errorf("the plan changed configured values:\n  %s", strings.Join(lost, "\n  "))
	}
	if replace {
		if len(pr.RequiresReplace) == 0 {
			t.Fatalf("changing a force-new attribute must require replacement (RequiresReplace is empty); is the attribute ForceNew?")
		}
		return nil
	}
	if len(pr.RequiresReplace) > 0 {
		t.Fatalf("an in-place update must not require replacement, got %v (put force-new changes in Case.Replace)", paths(pr.RequiresReplace))
	}
	if pr.PlannedState.RawEquals(cur.state) {
		t.Errorf("Case.Update plans no change: it should change something in place")
	}
	ar := s.p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: typeName, PriorState: cur.state, PlannedState: pr.PlannedState, Config: cfg, PlannedPrivate: pr.PlannedPrivate})
	obj, diags := s.settle(t, typeName, ar.NewState, ar.Private, ar.Pending, ar.Diagnostics)
	if diags.HasErrors() {
		t.Fatalf("applying the update failed:%s", diagString(diags))
	}
	s.checkState(t, blk, cfg, obj.state, "the updated state")
	if bad := inconsistent(blk, pr.PlannedState, obj.state); len(bad) > 0 {
		t.Errorf("the updated state contradicts the plan (a known planned value must not change at apply; mark it unknown in ModifyPlan):\n  %s", strings.Join(bad, "\n  "))
	}
	rr := s.p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: typeName, CurrentState: obj.state, Private: obj.private})
	if rr.Diagnostics.HasErrors() || !rr.NewState.RawEquals(obj.state) {
		t.Errorf("reading the updated object must return it unchanged:%s%s", diagString(rr.Diagnostics), valueDiff(obj.state, rr.NewState))
	}
	return obj
}

// checkState checks an applied state: present, wholly known, conforming,
// configuration values kept.
func (s *suite) checkState(t *testing.T, blk *protocol.Block, cfg, st cty.Value, what string) {
	t.Helper()
	if st == cty.NilVal || st.IsNull() {
		t.Fatalf("%s is null", what)
	}
	if errs := st.Type().TestConformance(blk.ImpliedType()); errs != nil {
		t.Fatalf("%s does not conform to the schema: %v", what, errs)
	}
	if !st.IsWhollyKnown() {
		t.Errorf("%s has unknown values; every computed attribute must be set by apply: %#v", what, st)
	}
	if lost := preserved(blk, cfg, st); len(lost) > 0 {
		t.Errorf("%s lost configured values:\n  %s", what, strings.Join(lost, "\n  "))
	}
}

// settle polls a pending object through ReadResource until it is done, as
// the engine does, within Config.PendingTimeout.
func (s *suite) settle(t *testing.T, typeName string, st cty.Value, private []byte, pending *protocol.Pending, diags protocol.Diagnostics) (*object, protocol.Diagnostics) {
	t.Helper()
	deadline := time.Now().Add(s.cfg.PendingTimeout)
	polls := 0
	for pending != nil && !diags.HasErrors() {
		if pending.Handle == "" {
			t.Errorf("a pending object must have a handle to poll it by")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the object is still pending after %s (%d polls): status %q, message %q", s.cfg.PendingTimeout, polls, pending.Status, pending.Message)
		}
		if st == cty.NilVal || st.IsNull() {
			t.Fatalf("a pending object must come with its partial state, got null (status %q)", pending.Status)
		}
		time.Sleep(s.cfg.PollInterval)
		polls++
		r := s.p.ReadResource(context.Background(), protocol.ReadResourceRequest{TypeName: typeName, CurrentState: st, Private: private, Pending: pending})
		diags = append(diags, r.Diagnostics...)
		if r.NewState != cty.NilVal {
			st = r.NewState
		}
		if r.Private != nil {
			private = r.Private
		}
		pending = r.Pending
	}
	if polls > 0 {
		t.Logf("%s settled after %d polls", typeName, polls)
	}
	return &object{state: st, private: private}, diags
}

func (s *suite) importRoundTrip(t *testing.T, c Case, cur *object) {
	ctx := context.Background()
	id := c.ImportID(cur.state)
	// The request carries the configuration, as llmops sends it.
	cfg, err := fill(s.schema.ResourceTypes[c.TypeName].Block, c.Create)
	if err != nil {
		t.Fatalf("Create does not fit the schema: %v", err)
	}
	r := s.p.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: c.TypeName, ID: id, Config: cfg})
	if r.Diagnostics.HasErrors() {
		t.Fatalf("importing %q failed:%s", id, diagString(r.Diagnostics))
	}
	if len(r.Imported) == 0 {
		t.Fatalf("importing %q found nothing", id)
	}
	imp := r.Imported[0]
	if imp.TypeName != c.TypeName {
		t.Errorf("imported type %q, want %q", imp.TypeName, c.TypeName)
	}
	rr := s.p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: c.TypeName, CurrentState: imp.State, Private: imp.Private})
	if rr.Diagnostics.HasErrors() {
		t.Fatalf("reading the imported object failed:%s", diagString(rr.Diagnostics))
	}
	if rr.NewState == cty.NilVal || rr.NewState.IsNull() {
		t.Fatalf("the imported object reads as gone")
	}
	if got := c.ImportID(rr.NewState); got != id {
		t.Errorf("import ID does not round trip: imported %q, the imported state gives %q", id, got)
	}
}

func (s *suite) invalid(t *testing.T, c Case, blk *protocol.Block) {
	cfg, err := fill(blk, c.Invalid)
	if err != nil {
		t.Fatalf("Case.Invalid does not fit the schema (make it fit the types, but break a rule): %v", err)
	}
	r := s.p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: c.TypeName, Config: cfg})
	if !r.Diagnostics.HasErrors() {
		t.Fatalf("ValidateResourceConfig accepted Case.Invalid")
	}
	if c.InvalidError != "" && !strings.Contains(r.Diagnostics.Err().Error(), c.InvalidError) {
		t.Errorf("the error should mention %q:%s", c.InvalidError, diagString(r.Diagnostics))
	}
	for _, d := range r.Diagnostics {
		if d.Severity == protocol.Error && len(d.Attribute) > 0 {
			return
		}
	}
	t.Errorf("no error points at an attribute; use diags.AttrErrorf(cty.GetAttrPath(...), ...) so llmops can show the line at fault:%s", diagString(r.Diagnostics))
}

func (s *suite) unknownType(t *testing.T) {
	ctx := context.Background()
	const name = "conformance_no_such_type"
	v := cty.EmptyObjectVal
	calls := map[string]func() protocol.Diagnostics{
		"ValidateResourceConfig": func() protocol.Diagnostics {
			return s.p.ValidateResourceConfig(ctx, protocol.ValidateResourceConfigRequest{TypeName: name, Config: v}).Diagnostics
		},
		"PlanResourceChange": func() protocol.Diagnostics {
			return s.p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: name, Config: v, ProposedNewState: v}).Diagnostics
		},
		"ApplyResourceChange": func() protocol.Diagnostics {
			return s.p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: name, Config: v, PlannedState: v}).Diagnostics
		},
		"ReadResource": func() protocol.Diagnostics {
			return s.p.ReadResource(ctx, protocol.ReadResourceRequest{TypeName: name, CurrentState: v}).Diagnostics
		},
		"ImportResourceState": func() protocol.Diagnostics {
			return s.p.ImportResourceState(ctx, protocol.ImportResourceStateRequest{TypeName: name, ID: "x"}).Diagnostics
		},
		"UpgradeResourceState": func() protocol.Diagnostics {
			return s.p.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{TypeName: name, RawJSON: []byte("{}")}).Diagnostics
		},
	}
	for call, f := range calls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s for an unknown resource type panicked: %v", call, r)
				}
			}()
			if d := f(); !d.HasErrors() {
				t.Errorf("%s for an unknown resource type must return an error diagnostic", call)
			}
		}()
	}
}

func paths(ps []cty.Path) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = protocol.PathString(p)
	}
	return fmt.Sprintf("[%s]", strings.Join(s, ", "))
}
