package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"os"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/state"
)

// opFlags are the flags of plan, apply and destroy.
type opFlags struct {
	out         string
	detailed    bool
	targets     multiFlag
	excludes    multiFlag
	replaces    multiFlag
	refresh     bool
	refreshOnly bool
	destroy     bool
	parallelism int
	json        bool
	autoApprove bool
	wait        bool
}

func (m *meta) addOpFlags(fs *flag.FlagSet, apply bool) *opFlags {
	o := &opFlags{}
	fs.Var(&o.targets, "target", "Limit the operation to matching objects and what they depend on: ADDR or a glob such as training_run.* (repeatable).")
	fs.Var(&o.excludes, "exclude", "Leave out matching objects and what depends on them (repeatable, globs allowed).")
	fs.Var(&o.replaces, "replace", "Force replacement of the matching instances (repeatable).")
	fs.BoolVar(&o.refresh, "refresh", true, "Read every recorded object from reality before planning.")
	fs.BoolVar(&o.refreshOnly, "refresh-only", false, "Only record what refresh finds (drift), changing nothing else.")
	fs.IntVar(&o.parallelism, "parallelism", engine.DefaultParallelism, "Maximum number of concurrent provider operations.")
	fs.BoolVar(&o.json, "json", false, "Machine-readable output (see docs/json-format.md).")
	if apply {
		fs.BoolVar(&o.autoApprove, "auto-approve", false, "Apply without asking for confirmation.")
		fs.BoolVar(&o.wait, "wait", true, "Wait for long operations (training runs) to finish; -wait=false returns once they are submitted.")
	} else {
		fs.StringVar(&o.out, "out", "", "Save the plan to `FILE`, to apply later with \"llmops apply FILE\".")
		fs.BoolVar(&o.detailed, "detailed-exitcode", false, "Exit 0 when there are no changes, 1 on error, 2 when there are changes.")
		fs.BoolVar(&o.destroy, "destroy", false, "Plan to destroy every recorded object.")
	}
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	return o
}

// planOptions converts the flags; false on a bad address.
func (m *meta) planOptions(o *opFlags) (engine.PlanOptions, bool) {
	po := engine.PlanOptions{Mode: plans.NormalMode, SkipRefresh: !o.refresh}
	if o.destroy {
		po.Mode = plans.DestroyMode
	}
	if o.refreshOnly {
		if o.destroy {
			m.errorf("-refresh-only and -destroy cannot be used together")
			return po, false
		}
		po.Mode = plans.RefreshOnlyMode
		po.SkipRefresh = false
	}
	parse := func(list []string, flagName string) ([]addrs.Pattern, bool) {
		var out []addrs.Pattern
		for _, s := range list {
			p, err := addrs.ParsePattern(s)
			if err != nil {
				m.errorDetail("Invalid -"+flagName+" address", err.Error()+". Use an address such as training_run.ft, null_value.r[3] or a glob such as training_run.*.")
				return nil, false
			}
			out = append(out, p)
		}
		return out, true
	}
	var ok bool
	if po.Targets, ok = parse(o.targets, "target"); !ok {
		return po, false
	}
	if po.Excludes, ok = parse(o.excludes, "exclude"); !ok {
		return po, false
	}
	if po.Replace, ok = parse(o.replaces, "replace"); !ok {
		return po, false
	}
	return po, true
}

// withPins adds the rollback pins recorded in the state to plan options.
// Without them a plan would roll rolled-back objects forward, so a state
// whose event log cannot be read fails the plan.
func (m *meta) withPins(ctx context.Context, op *operation, po engine.PlanOptions) (engine.PlanOptions, hcl.Diagnostics) {
	pins, err := history.ReadPins(ctx, op.store)
	if err != nil {
		return po, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the state's event log",
			Detail: fmt.Sprintf("The rollback pins recorded there decide what the plan keeps: %s", err)}}
	}
	po.Pins = pins
	return po, nil
}

// operation is a prepared engine run holding the state lock.
type operation struct {
	cfg     *configs.Config
	vars    map[string]cty.Value
	store   state.Store
	unlock  func()
	factory *pluginFactory
	eng     *engine.Engine
	// early: processes started before the configuration was loaded, to
	// stop if unclaimed (early.go).
	early *early
}

func (op *operation) close() {
	// The provider processes stop (each a graceful shutdown and a wait
	// for its exit) while the state is unlocked and closed: nothing is in
	// flight by now, and neither needs the other.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if op.eng != nil {
			op.eng.Close()
		}
		op.early.discard()
	}()
	defer func() { <-stopped }()
	if op.unlock != nil {
		op.unlock()
	}
	if op.store != nil {
		op.store.Close()
	}
}

// prepare loads the configuration and variables, opens and locks the
// state and readies the engine. vars, when non-nil, replace collection
// (a saved plan's values).
func (m *meta) prepare(ctx context.Context, lockOp string, parallelism int, hooks engine.Hooks, vars map[string]cty.Value) (*operation, bool) {
	e := m.startEarly(ctx, lockOp)
	m.early = e
	defer func() { m.early = nil }()
	cfg, ok := m.loadConfig()
	if ok && vars == nil {
		vars, ok = m.collectVars(cfg)
	}
	var op *operation
	if ok {
		op, ok = m.prepareWithConfig(ctx, cfg, vars, lockOp, parallelism, hooks)
	}
	if !ok {
		e.discard()
		return nil, false
	}
	op.early = e
	return op, true
}

// prepareWithConfig is prepare for an already loaded configuration.
func (m *meta) prepareWithConfig(ctx context.Context, cfg *configs.Config, vars map[string]cty.Value, lockOp string, parallelism int, hooks engine.Hooks) (*operation, bool) {
	op := &operation{cfg: cfg, vars: vars}
	var ok bool
	if op.store, ok = m.openState(ctx); !ok {
		return nil, false
	}
	if op.unlock, ok = m.lock(ctx, op.store, lockOp); !ok {
		op.close()
		return nil, false
	}
	snap := m.early.adoptSnapshot(op.store)
	var err error
	if snap == nil {
		snap, err = op.store.Snapshot(ctx, 0)
	}
	if err != nil {
		m.errorDetail("Cannot read the state", err.Error())
		op.close()
		return nil, false
	}
	if op.factory, ok = m.providerFactory(cfg, snap); !ok {
		op.close()
		return nil, false
	}
	artDir, diags := engine.ArtifactDir(cfg, op.vars)
	if diags.HasErrors() {
		m.showDiags(diags)
		op.close()
		return nil, false
	}
	artStore, diags := engine.ArtifactStore(cfg, op.vars)
	if diags.HasErrors() {
		m.showDiags(diags)
		op.close()
		return nil, false
	}
	if err := m.privateDir(); err != nil {
		m.errorDetail("Cannot create .llmops", err.Error())
		op.close()
		return nil, false
	}
	if err := os.MkdirAll(artDir, 0o755); err != nil {
		m.errorDetail("Cannot create the artifact store", err.Error())
		op.close()
		return nil, false
	}
	key, ok := m.stateKey()
	if !ok {
		op.close()
		return nil, false
	}
	op.eng = engine.New(engine.Options{
		Secrets:     key,
		Config:      cfg,
		Store:       op.store,
		Providers:   op.factory,
		Variables:   op.vars,
		Parallelism: parallelism,
		Hooks:       hooks,
		Logger:      m.logger(),
		ArtifactDir: artDir,
		// The remote store the providers push to and fetch from.
		ArtifactStore: artStore,
		Version:       Version,
		Snapshot:      snap,
		Workspace:     m.workspace(),
	})
	return op, true
}

// reportDeadProviders names providers whose process died during the run,
// unless one of diags (about to be shown) already says so: one message per
// death, pointing at the log file that holds what the provider printed.
func (m *meta) reportDeadProviders(op *operation, diags hcl.Diagnostics) {
	if op == nil || op.factory == nil {
		return
	}
	said := map[string]bool{}
	for _, d := range diags {
		said[d.Summary] = true
	}
	where := "is in .llmops/logs/"
	if f := m.logFile(); f != "" {
		where = "is in " + f
	}
	for _, p := range op.factory.exited() {
		if said[fmt.Sprintf("The provider %s exited unexpectedly", p)] {
			continue
		}
		fmt.Fprintf(m.stderr, "Error: the provider %s exited unexpectedly during this run; what it printed (for a crash, the panic and its stack trace) %s. Every change that finished before it died is recorded in the state; run plan to see the rest.\n", p, where)
	}
}
