package main

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/alerts"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/reconcile"
)

const watchUsage = `
Usage: llmops watch [options]

Keeps reality reconciled with the configuration. Every -interval it
refreshes everything, reads the monitors, sends their alerts, rolls a
deployment back to its previous healthy revision when a monitor says
on_breach = "rollback", restarts replicas that died (when that is all the
plan would do) and reports the drift it does not fix. It takes the state
lock only while it changes something, so plan and apply from another
terminal keep working. Breaches, alerts and their outcome, rollbacks and
restarts are recorded in the state's event log.
`

func runWatch(m *meta, args []string) int {
	fs := m.newFlags("watch", watchUsage)
	interval := fs.Duration("interval", 30*time.Second, "Time between passes.")
	once := fs.Bool("once", false, "Do a single pass and exit (for cron and tests).")
	jsonLogs := fs.Bool("json", false, "Log JSON lines instead of text.")
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "watch", Output: m.stdout, JSONFormat: *jsonLogs, Level: hclog.Info, TimeFormat: time.RFC3339})
	ctx, stop := m.interruptible(nil)
	defer stop()
	for {
		code := watchPass(ctx, m, logger)
		if *once {
			return code
		}
		select {
		case <-ctx.Done():
			logger.Info("stopped")
			return exitOK
		case <-time.After(*interval):
		}
	}
}

// watchPass runs one reconciliation (package reconcile) over a session
// that reads without the lock and takes it for each change.
func watchPass(ctx context.Context, m *meta, log hclog.Logger) int {
	lockWanted := m.useLock
	m.useLock = false // read without the lock
	op, ok := m.prepare(ctx, "watch", engine.DefaultParallelism, nil, nil)
	m.useLock = lockWanted
	if !ok {
		log.Error("cannot prepare the pass; see the errors above")
		return exitError
	}
	defer op.close()
	r := &reconcile.Reconciler{
		Session: &watchSession{m: m, read: op},
		Store:   op.store,
		Log:     log,
		Deliver: func(ctx context.Context, t alerts.Target, p alerts.Payload) (int, error) {
			return alerts.Deliver(ctx, t, p, alerts.Options{})
		},
	}
	if !r.Pass(ctx) {
		return exitError
	}
	return exitOK
}

// watchSession implements reconcile.Session over the CLI's operations.
type watchSession struct {
	m    *meta
	read *operation // prepared without the lock
}

func (s *watchSession) Plan(ctx context.Context) (*plans.Plan, hcl.Diagnostics) {
	po, diags := s.m.withPins(ctx, s.read, engine.PlanOptions{})
	if diags.HasErrors() {
		return nil, diags
	}
	p, diags := s.read.eng.Plan(ctx, po)
	s.m.learnPlan(p)
	return p, diags
}

func (s *watchSession) Apply(ctx context.Context, targets []addrs.Pattern, command string) (*engine.ApplyResult, hcl.Diagnostics) {
	op, ok := s.m.prepare(ctx, "watch", engine.DefaultParallelism, nil, nil)
	if !ok {
		return nil, nil // reported by prepare
	}
	defer op.close()
	po, diags := s.m.withPins(ctx, op, engine.PlanOptions{Targets: targets})
	if diags.HasErrors() {
		return nil, diags
	}
	p, diags := op.eng.Plan(ctx, po)
	s.m.learnPlan(p)
	if p == nil || diags.HasErrors() {
		return nil, diags
	}
	if !p.HasChanges() {
		return &engine.ApplyResult{}, diags
	}
	w, _ := who()
	return op.eng.Apply(ctx, p, engine.ApplyOptions{Who: w, Command: command})
}

func (s *watchSession) Rollback(ctx context.Context, addr addrs.ResourceInstance, toSerial int64, command string) (*engine.ApplyResult, hcl.Diagnostics) {
	op, ok := s.m.prepare(ctx, "watch rollback", engine.DefaultParallelism, nil, nil)
	if !ok {
		return nil, nil // reported by prepare
	}
	defer op.close()
	p, diags := op.eng.PlanRollback(ctx, []addrs.ResourceInstance{addr}, toSerial)
	s.m.learnPlan(p)
	if p == nil || diags.HasErrors() {
		return nil, diags
	}
	w, _ := who()
	return op.eng.Apply(ctx, p, engine.ApplyOptions{Who: w, Command: command})
}

func (s *watchSession) Report(diags hcl.Diagnostics) { s.m.showDiags(diags) }
