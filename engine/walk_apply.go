package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/graph"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

// ApplyOptions describe who applies and how.
type ApplyOptions struct {
	// Who and Command are recorded with the state version.
	Who     string
	Command string
	// NoWait returns as soon as long operations are submitted (-wait=false).
	NoWait bool
}

// InstanceFailure is one instance whose change failed.
type InstanceFailure struct {
	Addr   addrs.ResourceInstance
	Action plans.Action
	Err    string
}

// ApplyResult summarises an apply.
type ApplyResult struct {
	// Serial of the state version written, 0 when nothing was written.
	Serial  int64
	Counts  state.Counts
	Failed  []InstanceFailure
	Skipped []addrs.ResourceInstance
	// StillPending lists long operations left running (-wait=false, or interrupted).
	StillPending []addrs.ResourceInstance
	// Deferred lists instances not applied because they depend on a
	// long operation still running; the next apply does them.
	Deferred []addrs.ResourceInstance
	Outputs  map[string]cty.Value
}

type applyWalk struct {
	e        *Engine
	plan     *plans.Plan
	opts     ApplyOptions
	data     *evalData
	cg       *configGraph
	recorded map[addrs.Resource]*recordedResource
	changes  map[addrs.ResourceInstance]*plans.ResourceInstanceChange
	// dataReads are the plan's data source reads, by address.
	dataReads map[addrs.ResourceInstance]*plans.ResourceInstanceChange
	// callCtx is for provider calls: it is not cancelled by an interrupt,
	// so in-flight calls finish and their results are recorded.
	callCtx context.Context
	// interrupt is the walk's context, cancelled by an interrupt: waits
	// (for a pending delete) end on it.
	interrupt context.Context
	// rec writes the state version of this apply.
	rec *recorder

	inflight *inflight

	mu      sync.Mutex
	result  ApplyResult
	outputs map[string]cty.Value
	diags   hcl.Diagnostics
	// deferred resources have a job still running (-wait=false): their
	// dependents wait for a later apply.
	deferred map[addrs.Resource]bool
}

// Apply carries out a plan made by Plan against the same state serial.
func (e *Engine) Apply(ctx context.Context, p *plans.Plan, opts ApplyOptions) (*ApplyResult, hcl.Diagnostics) {
	if p.Errored {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot apply an incomplete plan", Detail: "The plan had errors; fix them and plan again."}}
	}
	snap, recorded, diags := e.loadRecorded(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	var stale *plans.StaleError
	if err := p.CheckState(e.opts.Store.Lineage(), snap.Serial); errors.As(err, &stale) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: stale.Summary, Detail: stale.Detail}}
	}
	cg, ds := e.prepareGraph(ctx, recorded)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, diags
	}
	w := &applyWalk{
		e:         e,
		plan:      p,
		opts:      opts,
		data:      e.newEvalData(cg),
		cg:        cg,
		recorded:  recorded,
		changes:   map[addrs.ResourceInstance]*plans.ResourceInstanceChange{},
		callCtx:   context.WithoutCancel(ctx),
		interrupt: ctx,
		rec:       e.newRecorder(ctx, opts),
		inflight:  newInflight(e.hooks, e.opts.HeartbeatInterval),
		outputs:   map[string]cty.Value{},
		deferred:  map[addrs.Resource]bool{},
	}
	for _, c := range p.Changes {
		w.changes[c.Addr] = c
	}
	w.dataReads = make(map[addrs.ResourceInstance]*plans.ResourceInstanceChange, len(p.DataReads))
	for _, c := range p.DataReads {
		w.dataReads[c.Addr] = c
	}
	g := w.addDestroyNodes()
	if cycles := g.Cycles(nodeLess); len(cycles) > 0 {
		var ds hcl.Diagnostics
		for _, c := range cycles {
			ds = append(ds, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle in the apply order",
				Detail: fmt.Sprintf("Replacing and destroying these objects would need each to go before the other: %s. Apply the changes in two steps with -target.", cyclePath(c))})
		}
		return nil, ds
	}
	stopBeat := w.inflight.start()
	g.Walk(ctx, 0, w.visit, w.markSkipped)
	// Deposed objects go last: their replacements exist by now.
	w.destroyDeposed(ctx)
	stopBeat()
	if p.Mode != plans.DestroyMode || len(snap.Outputs) > 0 {
		w.recordOutputs(snap.Outputs)
	}
	w.result.Outputs = w.outputs
	e.snap, e.recorded = nil, nil // the state changed
	for _, a := range p.ReleasePins {
		if err := e.opts.Store.AppendEvent(w.callCtx, state.Event{Time: time.Now().UTC(), Kind: history.EventRollbackRelease, Addr: a, Message: "the configuration changed since the rollback"}); err != nil {
			w.addDiags(stateWriteDiag(err))
		}
	}
	w.result.Counts.Failed = len(w.result.Failed)
	serial, ds := w.rec.finish(len(w.result.Failed) > 0 || w.diags.HasErrors() || ctx.Err() != nil, w.result.Counts)
	w.addDiags(ds)
	w.result.Serial = serial
	if ctx.Err() != nil {
		w.addDiags(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Apply interrupted", Detail: "llmops was interrupted: operations in flight were allowed to finish and every finished change was recorded. Run apply again to finish the rest."}})
	}
	sort.Slice(w.result.Failed, func(i, j int) bool { return w.result.Failed[i].Addr.Less(w.result.Failed[j].Addr) })
	sort.Slice(w.result.Skipped, func(i, j int) bool { return w.result.Skipped[i].Less(w.result.Skipped[j]) })
	return &w.result, append(diags, w.diags...)
}

// visit carries out one node of the apply graph.
func (w *applyWalk) visit(ctx context.Context, n node) graph.Result {
	var ds hcl.Diagnostics
	failed := false
	if err := w.e.catchPanic(func() {
		switch n.kind {
		case nkLocal:
			ds = w.e.evalLocal(w.data, n.mod, n.name)
		case nkModule:
			ds = w.e.evalModuleCall(w.data, n.mod)
			if w.plan.Mode == plans.DestroyMode {
				ds = nil // as in the plan of a destroy
			}
		case nkOutput:
			if w.plan.Mode == plans.DestroyMode {
				return
			}
			if !n.mod.IsRoot() {
				ds = w.e.evalModuleOutput(w.data, n.mod, n.name)
				return
			}
			var v cty.Value
			v, ds = w.e.evalOutput(w.data, n.name)
			w.mu.Lock()
			w.outputs[n.name] = v
			w.mu.Unlock()
		case nkProvider:
			ds = w.e.configureProvider(w.callCtx, w.data, n.prov)
		case nkResource:
			ds, failed = w.applyResource(ctx, n.res)
		case nkDestroy:
			ds, failed = w.destroyResource(ctx, n.res)
		}
	}); err != nil {
		ds, failed = hcl.Diagnostics{panicDiag("applying "+n.String(), err)}, true
	}
	w.addDiags(ds)
	if failed || ds.HasErrors() {
		return graph.Failed
	}
	return graph.OK
}

// recordOutputs writes the root outputs when they changed. Outputs not
// evaluated (their objects failed or still run) keep their recorded
// values.
func (w *applyWalk) recordOutputs(prev []*state.Output) {
	e, destroy := w.e, w.plan.Mode == plans.DestroyMode
	outs, err := encodeOutputs(e.cfg, w.outputs, e.opts.Secrets)
	if err != nil {
		w.addDiags(stateWriteDiag(err))
		return
	}
	for _, o := range prev {
		if _, evaluated := w.outputs[o.Name]; !evaluated && e.cfg.Outputs[o.Name] != nil && !destroy {
			outs = append(outs, o)
		}
	}
	for _, oc := range outputChanges(e.cfg, prev, w.outputs, destroy, e.opts.Secrets) {
		if oc.Action == plans.NoOp {
			continue
		}
		wr, err := w.rec.writer()
		if err == nil {
			err = wr.SetOutputs(w.callCtx, outs)
		}
		if err != nil {
			w.addDiags(stateWriteDiag(err))
		}
		return
	}
}

func (w *applyWalk) addDiags(ds hcl.Diagnostics) {
	if len(ds) == 0 {
		return
	}
	w.mu.Lock()
	w.diags = append(w.diags, ds...)
	w.mu.Unlock()
}

func (w *applyWalk) fail(ri addrs.ResourceInstance, action plans.Action, err string) {
	w.mu.Lock()
	w.result.Failed = append(w.result.Failed, InstanceFailure{Addr: ri, Action: action, Err: err})
	w.mu.Unlock()
}

func (w *applyWalk) count(action plans.Action) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch action {
	case plans.Create:
		w.result.Counts.Added++
	case plans.Update:
		w.result.Counts.Changed++
	case plans.DeleteThenCreate, plans.CreateThenDelete:
		w.result.Counts.Replaced++
	case plans.Delete:
		w.result.Counts.Destroyed++
	}
}

// markSkipped records the changed instances of a node skipped because a
// dependency failed.
func (w *applyWalk) markSkipped(n node, because node) {
	if n.kind != nkResource && n.kind != nkDestroy {
		return
	}
	deferred := because.kind == nkResource && w.isDeferred(because.res)
	for _, c := range w.plan.Changes {
		if c.Addr.Resource.Config() != n.res || c.Action == plans.NoOp {
			continue
		}
		if n.kind == nkDestroy && c.Action != plans.Delete && c.Action != plans.DeleteThenCreate {
			continue
		}
		if n.kind == nkResource && c.Action == plans.Delete {
			continue
		}
		w.mu.Lock()
		if deferred {
			w.result.Deferred = append(w.result.Deferred, c.Addr)
		} else {
			w.result.Skipped = append(w.result.Skipped, c.Addr)
		}
		w.mu.Unlock()
		if deferred {
			w.e.hooks.Skipped(c.Addr, because.String()+" is still running; the next apply does it")
		} else {
			w.e.hooks.Skipped(c.Addr, because.String()+" failed")
		}
	}
}

// addDestroyNodes extends the configuration graph with one destroy node
// per resource that has deletions, ordered so that dependents are
// destroyed before what they depend on, and deletions of a replaced
// resource happen before it is created again.
func (w *applyWalk) addDestroyNodes() *graph.Graph[node] {
	g := w.cg.g
	hasDestroy := map[addrs.Resource]bool{}
	for _, c := range w.plan.Changes {
		if c.Action == plans.Delete || c.Action == plans.DeleteThenCreate {
			hasDestroy[c.Addr.Resource.Config()] = true
		}
	}
	// deps: resource -> resources it depends on (config, else recorded).
	deps := map[addrs.Resource]map[addrs.Resource]bool{}
	add := func(r, d addrs.Resource) {
		if deps[r] == nil {
			deps[r] = map[addrs.Resource]bool{}
		}
		deps[r][d] = true
	}
	for r, ds := range w.cg.resourceDeps {
		for _, d := range ds {
			add(r, d)
		}
	}
	for r, rr := range w.recorded {
		for _, ro := range rr.instances {
			for _, d := range ro.obj.Dependencies {
				add(r.Config(), d)
			}
		}
	}
	for r := range hasDestroy {
		dn := node{kind: nkDestroy, res: r}
		g.Add(dn)
		prov := addrs.ProviderConfig{}
		if rc := w.e.cfg.Resource(r); rc != nil {
			prov = rc.Provider
			g.Connect(node{kind: nkResource, res: r}, dn)
		} else if abs := recordedIn(w.recorded, r); len(abs) > 0 {
			prov = w.recorded[abs[0]].provider
		}
		g.Connect(dn, node{kind: nkProvider, prov: prov})
	}
	for x, ds := range deps {
		for r := range ds {
			if !hasDestroy[r] {
				continue
			}
			dr := node{kind: nkDestroy, res: r}
			if hasDestroy[x] {
				g.Connect(dr, node{kind: nkDestroy, res: x})
			}
			if w.e.cfg.Resource(r) == nil {
				if w.e.cfg.Resource(x) != nil {
					g.Connect(dr, node{kind: nkResource, res: x})
				}
			}
		}
	}
	return g
}
