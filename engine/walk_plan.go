package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// PlanOptions select what a plan covers.
type PlanOptions struct {
	Mode plans.Mode
	// Targets limit the plan to matching instances and what they depend on.
	Targets []addrs.Pattern
	// Excludes leave out matching instances and what depends on them.
	Excludes []addrs.Pattern
	// Replace forces replacement of matching instances.
	Replace []addrs.Pattern
	// SkipRefresh plans against the recorded state without reading reality.
	SkipRefresh bool
	// Pins are the rollback pins in force (history.ActivePins).
	Pins map[addrs.ResourceInstance]history.Pin
}

// planWalk is the state of one plan.
type planWalk struct {
	e        *Engine
	opts     PlanOptions
	data     *evalData
	cg       *configGraph
	recorded map[addrs.Resource]*recordedResource
	selected map[addrs.Resource]bool // nil: everything

	mu        sync.Mutex
	changes   []*plans.ResourceInstanceChange
	drift     []*plans.ResourceInstanceChange
	dataReads []*plans.ResourceInstanceChange
	notes     []string
	release   []string
	outputs   map[string]cty.Value
	diags     hcl.Diagnostics
}

func (w *planWalk) addDiags(ds hcl.Diagnostics) {
	if len(ds) == 0 {
		return
	}
	w.mu.Lock()
	w.diags = append(w.diags, ds...)
	w.mu.Unlock()
}

func (w *planWalk) addChange(c *plans.ResourceInstanceChange) {
	if prev, ok := w.e.movedFrom(c.Addr); ok && c.DeposedKey == "" {
		c.PrevAddr = &prev
	}
	w.mu.Lock()
	w.changes = append(w.changes, c)
	w.mu.Unlock()
}

// Plan refreshes the recorded objects and plans the changes that make
// reality match the configuration.
func (e *Engine) Plan(ctx context.Context, opts PlanOptions) (*plans.Plan, hcl.Diagnostics) {
	if opts.Mode == "" {
		opts.Mode = plans.NormalMode
	}
	snap, recorded, diags := e.loadRecorded(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	cg, ds := e.prepareGraph(ctx, recorded)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, diags
	}
	w := &planWalk{
		e:        e,
		opts:     opts,
		data:     e.newEvalData(cg),
		cg:       cg,
		recorded: recorded,
		outputs:  map[string]cty.Value{},
	}
	w.selected = selectResources(cg, recorded, opts.Targets, opts.Excludes)

	cg.g.Walk(ctx, 0, func(ctx context.Context, n node) graph.Result {
		var ds hcl.Diagnostics
		switch n.kind {
		case nkLocal:
			ds = e.evalLocal(w.data, n.mod, n.name)
		case nkModule:
			ds = e.evalModuleCall(w.data, n.mod)
			if opts.Mode == plans.DestroyMode {
				// A destroy deletes what the state records; the call's
				// arguments may use objects being destroyed.
				ds = nil
			}
		case nkOutput:
			if !n.mod.IsRoot() {
				ds = e.evalModuleOutput(w.data, n.mod, n.name)
				break
			}
			var v cty.Value
			v, ds = e.evalOutput(w.data, n.name)
			w.mu.Lock()
			w.outputs[n.name] = v
			w.mu.Unlock()
		case nkProvider:
			ds = e.configureProvider(ctx, w.data, n.prov)
		case nkResource:
			ds = w.planResource(ctx, n.res)
		}
		w.addDiags(ds)
		if ds.HasErrors() {
			return graph.Failed
		}
		return graph.OK
	}, nil)
	if ctx.Err() != nil {
		w.addDiags(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Plan interrupted", Detail: "The plan was cancelled before it finished; nothing was changed."}})
	}

	deposed, ds := w.deposedChanges(snap)
	w.addDiags(ds)

	p := &plans.Plan{
		Mode:               opts.Mode,
		CreatedAt:          time.Now().UTC(),
		Changes:            w.changes,
		Drift:              w.drift,
		DataReads:          w.dataReads,
		Deposed:            deposed,
		Lineage:            e.opts.Store.Lineage(),
		PrevSerial:         snap.Serial,
		ConfigDigest:       e.cfg.Digest,
		Variables:          map[string]cty.Value{},
		SensitiveVariables: map[string]string{},
		Errored:            w.diags.HasErrors(),
		Notes:              w.notes,
		ReleasePins:        w.release,
	}
	sort.Strings(p.Notes)
	sort.Strings(p.ReleasePins)
	for _, t := range opts.Targets {
		p.Targets = append(p.Targets, t.String())
	}
	for _, t := range opts.Excludes {
		p.Excludes = append(p.Excludes, t.String())
	}
	for _, t := range opts.Replace {
		p.Replace = append(p.Replace, t.String())
	}
	for name, v := range e.opts.Variables {
		if values.IsSensitive(v) {
			p.SensitiveVariables[name] = HashValue(v)
			continue
		}
		p.Variables[name] = v
	}
	if h, ok := e.opts.Providers.(ProviderHasher); ok {
		p.ProviderHashes = map[string]string{}
		for typ := range e.Schemas() {
			if sum, err := h.ProviderHash(typ); err == nil {
				p.ProviderHashes[typ] = sum
			}
		}
	}
	p.Outputs = w.outputChanges(snap.Outputs)
	p.Sort()
	if e.opts.Secrets == nil && !p.Errored {
		w.addDiags(needsKeyDiags(p))
		p.Errored = w.diags.HasErrors()
	}
	return p, append(diags, w.diags...)
}

// HashValue is the sha256 of a value's JSON, for sensitive variables that
// saved plans do not keep.
func HashValue(v cty.Value) string {
	enc, _ := values.Encode(v)
	h := sha256.New()
	h.Write(enc.Type)
	h.Write(enc.Value)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// selectResources applies -target and -exclude at resource level: the
// targeted resources plus everything they depend on, minus the excluded
// ones and everything that depends on them. nil means all.
func selectResources(cg *configGraph, recorded map[addrs.Resource]*recordedResource, targets, excludes []addrs.Pattern) map[addrs.Resource]bool {
	if len(targets) == 0 && len(excludes) == 0 {
		return nil
	}
	all := map[addrs.Resource]bool{}
	for _, n := range cg.g.Nodes() {
		if n.kind == nkResource {
			all[n.res] = true
		}
	}
	sel := map[addrs.Resource]bool{}
	if len(targets) == 0 {
		for r := range all {
			sel[r] = true
		}
	} else {
		var add func(n node)
		seen := map[node]bool{}
		add = func(n node) {
			if seen[n] {
				return
			}
			seen[n] = true
			if n.kind == nkResource {
				sel[n.res] = true
			}
			for _, d := range cg.g.DependenciesOf(n) {
				add(d)
			}
		}
		for r := range all {
			for _, t := range targets {
				if t.MatchResource(r) {
					add(node{kind: nkResource, res: r})
				}
			}
		}
	}
	if len(excludes) > 0 {
		dependents := cg.g.Dependents()
		var drop func(n node)
		seen := map[node]bool{}
		drop = func(n node) {
			if seen[n] {
				return
			}
			seen[n] = true
			if n.kind == nkResource {
				delete(sel, n.res)
			}
			for _, d := range dependents[n] {
				drop(d)
			}
		}
		for r := range all {
			for _, x := range excludes {
				if x.MatchResource(r) && x.MatchInstance(r.Instance(addrs.NoKey)) {
					drop(node{kind: nkResource, res: r})
				}
			}
		}
	}
	return sel
}

// instanceSelected applies instance-level -target/-exclude patterns.
func (w *planWalk) instanceSelected(ri addrs.ResourceInstance) bool {
	if w.selected != nil && !w.selected[ri.Resource.Config()] {
		return false
	}
	if len(w.opts.Targets) > 0 {
		ok := false
		for _, t := range w.opts.Targets {
			if t.MatchInstance(ri) {
				ok = true
				break
			}
		}
		// A dependency of a target is planned whole.
		if !ok && !w.isDependencyOfTarget(ri.Resource) {
			return false
		}
	}
	for _, x := range w.opts.Excludes {
		if x.MatchInstance(ri) {
			return false
		}
	}
	return true
}

func (w *planWalk) isDependencyOfTarget(r addrs.Resource) bool {
	for _, t := range w.opts.Targets {
		if t.MatchResource(r.Config()) {
			return false
		}
	}
	return true
}

// evalOutput evaluates an output of the root module.
func (e *Engine) evalOutput(d *evalData, name string) (cty.Value, hcl.Diagnostics) {
	o := e.cfg.Outputs[name]
	v, diags := d.rootScope().EvalExpr(o.Expr, cty.DynamicPseudoType)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	if values.IsSensitive(v) && !o.Sensitive {
		return v, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Output refers to sensitive values",
			Detail:   fmt.Sprintf("The value of output %q includes sensitive values. Add `sensitive = true` to the output block to confirm that it may be shown to those who ask for it by name.", name),
			Subject:  o.Expr.Range().Ptr(),
		}}
	}
	if o.Sensitive {
		v = v.Mark(values.Sensitive)
	}
	return v, nil
}

// configureProvider evaluates a provider block and configures the provider.
func (e *Engine) configureProvider(ctx context.Context, d *evalData, addr addrs.ProviderConfig) hcl.Diagnostics {
	pi, err := e.providers.get(ctx, addr)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot start provider %s", addr), Detail: err.Error()}}
	}
	pc := e.providerConfig(addr)
	pi.configureOnce.Do(func() {
		var block *protocol.Block
		if pi.schema.Provider != nil {
			block = pi.schema.Provider.Block
		}
		if block == nil {
			block = &protocol.Block{}
		}
		val, diags := d.rootScope().EvalBody(pc.Config, DecoderSpec(block))
		if diags.HasErrors() {
			pi.configDiags = diags
			return
		}
		val = completeObject(block, val)
		raw, _ := val.UnmarkDeep()
		if !raw.IsWhollyKnown() {
			pi.configDiags = hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Provider configuration depends on unknown values",
				Detail:   fmt.Sprintf("The configuration of provider %s uses values known only after apply. Apply the objects it depends on first with -target.", addr),
				Subject:  pc.DeclRange.Ptr(),
			}}
			return
		}
		vr := pi.client.ValidateProviderConfig(ctx, protocol.ValidateProviderConfigRequest{Config: raw})
		diags = append(diags, providerDiags(vr.Diagnostics, pc.Config, pc.DeclRange, "provider "+addr.String())...)
		if diags.HasErrors() {
			pi.configDiags = diags
			return
		}
		cr := pi.client.ConfigureProvider(ctx, protocol.ConfigureProviderRequest{
			Config:        raw,
			WorkingDir:    e.cfg.Dir,
			ArtifactDir:   e.opts.ArtifactDir,
			EngineVersion: e.opts.Version,
			ArtifactStore: e.opts.ArtifactStore,
			// The provider masks the values at these paths in its logs,
			// errors and files.
			SensitivePaths: values.SensitivePaths(val),
		})
		pi.configDiags = append(diags, providerDiags(cr.Diagnostics, pc.Config, pc.DeclRange, "provider "+addr.String())...)
	})
	return pi.configDiags
}

// outputChanges compares the evaluated outputs with the recorded ones.
func (w *planWalk) outputChanges(prev []*state.Output) []*plans.OutputChange {
	return outputChanges(w.e.cfg, prev, w.outputs, w.opts.Mode == plans.DestroyMode, w.e.opts.Secrets)
}

func sortedKeys(m map[addrs.InstanceKey]*recordedObject) []addrs.InstanceKey {
	keys := make([]addrs.InstanceKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return addrs.KeyLess(keys[i], keys[j]) })
	return keys
}

func (w *planWalk) resourceConfig(r addrs.Resource) *configs.Resource { return w.e.cfg.Resource(r) }

// needsKeyDiags reports, when no state key is configured, every change
// that would store a sensitive value: applying it would have to refuse.
func needsKeyDiags(p *plans.Plan) hcl.Diagnostics {
	var addrs []string
	for _, c := range p.Changes {
		if c.Action == plans.Delete || c.Action == plans.NoOp || c.After == cty.NilVal {
			continue
		}
		for _, sp := range values.SensitivePaths(c.After) {
			sub, err := sp.Apply(c.After)
			if err != nil {
				continue
			}
			if u, _ := sub.UnmarkDeep(); u.IsKnown() && u.IsNull() {
				continue
			}
			addrs = append(addrs, c.Addr.String()+"."+protocol.PathString(sp))
			break
		}
	}
	for _, o := range p.Outputs {
		if (o.Sensitive || values.IsSensitive(o.After)) && o.Action != plans.Delete && o.Action != plans.NoOp {
			addrs = append(addrs, "output."+o.Name)
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "A state key is needed to store sensitive values",
		Detail:   fmt.Sprintf("Applying this plan would store sensitive values in the state: %s. %s", strings.Join(addrs, ", "), secretsHelp),
	}}
}
