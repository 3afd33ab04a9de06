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
		fs.StringVar(&o.out, "out", "", "Save the plan to FILE, for `llmops apply FILE`.")
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
	evs, err := op.store.Events(ctx, 0)
	if err != nil {
		return po, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the state's event log",
			Detail: fmt.Sprintf("The rollback pins recorded there decide what the plan keeps: %s", err)}}
	}
	po.Pins = history.ActivePins(evs)
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
}

func (op *operation) close() {
	if op.eng != nil {
		op.eng.Close()
	}
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
	cfg, ok := m.loadConfig()
	if !ok {
		return nil, false
	}
	if vars == nil {
		if vars, ok = m.collectVars(cfg); !ok {
			return nil, false
		}
	}
	return m.prepareWithConfig(ctx, cfg, vars, lockOp, parallelism, hooks)
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
	snap, err := op.store.Snapshot(ctx, 0)
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

// reportDeadProviders names providers whose process died during the run.
func (m *meta) reportDeadProviders(op *operation) {
	if op == nil || op.factory == nil {
		return
	}
	for _, p := range op.factory.exited() {
		fmt.Fprintf(m.stderr, "Error: the provider %s exited unexpectedly during this run; its log is in .llmops/logs/. Every change that finished before it died is recorded in the state; run plan to see the rest.\n", p)
	}
}
