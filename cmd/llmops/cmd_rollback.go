package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/state"
)

const rollbackUsage = `
Usage: llmops rollback [options] ADDR... (--to N | --previous)
       llmops rollback --release ADDR...

Plans putting the objects back to what they were in state version N (or
in their previous version), shows the plan and applies it on "yes". A
deployment goes back to its earlier model at once: the artifacts of every
recorded version are kept, so nothing is retrained.

Afterwards, plans keep the rolled-back objects as they are and say in one
line what the configuration would roll them forward to, until you change
their configuration or run "llmops rollback --release ADDR".
`

func runRollback(m *meta, args []string) int {
	fs := m.newFlags("rollback", rollbackUsage)
	to := fs.Int64("to", 0, "The state `VERSION` to roll back to (\"llmops history ADDR\" lists them).")
	previous := fs.Bool("previous", false, "Roll each object back to its previous recorded version.")
	release := fs.Bool("release", false, "End the rollback of these objects: the next plan rolls them forward to the configuration.")
	autoApprove := fs.Bool("auto-approve", false, "Apply without asking.")
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return m.errorf("rollback needs at least one address, e.g. llmops rollback deployment.prod --previous")
	}
	var targets []addrs.ResourceInstance
	for _, a := range fs.Args() {
		ri, err := addrs.ParseResourceInstance(a)
		if err != nil {
			return m.errorDetail("Invalid address", err.Error())
		}
		targets = append(targets, ri)
	}
	ctx, stop := m.interruptible(nil)
	defer stop()
	if *release {
		st, ok := m.openState(ctx)
		if !ok {
			return exitError
		}
		defer st.Close()
		unlock, ok := m.lock(ctx, st, "rollback --release")
		if !ok {
			return exitError
		}
		defer unlock()
		pins, err := history.ReadPins(ctx, st)
		if err != nil {
			return m.errorDetail("Cannot read the state's event log", err.Error())
		}
		for _, t := range targets {
			if _, ok := pins[t]; !ok {
				fmt.Fprintf(m.stdout, "%s is not rolled back; nothing to release.\n", t)
				continue
			}
			if err := st.AppendEvent(ctx, state.Event{Time: time.Now().UTC(), Kind: history.EventRollbackRelease, Addr: t.String(), Message: "released by rollback --release"}); err != nil {
				return m.errorDetail("Cannot write the state", err.Error())
			}
			fmt.Fprintf(m.stdout, "Released %s: the next plan rolls it forward to the configuration.\n", t)
		}
		return exitOK
	}
	if (*to == 0) == !*previous {
		return m.errorf("give exactly one of --to N and --previous")
	}
	op, ok := m.prepare(ctx, "rollback", engine.DefaultParallelism, newUIHooks(m.stdout, m.colors, false), nil)
	if !ok {
		return exitError
	}
	defer op.close()
	toSerial := *to
	if *previous {
		// The previous version of the (first) object: the serial just
		// before its current row was written.
		rows, err := op.store.ObjectHistory(ctx, targets[0])
		if err != nil || len(rows) < 2 {
			return m.errorDetail("No previous version", fmt.Sprintf("%s has no earlier recorded version to roll back to.", targets[0]))
		}
		cur := rows[len(rows)-1]
		toSerial = cur.Serial - 1
		if toSerial < rows[len(rows)-2].Serial {
			toSerial = rows[len(rows)-2].Serial
		}
	}
	p, diags := op.eng.PlanRollback(ctx, targets, toSerial)
	m.learnPlan(p)
	if p == nil || diags.HasErrors() {
		m.showDiags(diags)
		return exitError
	}
	m.showDiags(diags)
	fmt.Fprintf(m.stdout, "Rolling back to state version %d.\n\n", toSerial)
	render.Plan(m.stdout, p, m.colors)
	if !p.HasChanges() {
		return exitOK
	}
	if !*autoApprove {
		fmt.Fprintf(m.stdout, "\n%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", m.colors.Bold("Do you want to roll back these objects?"))
		if !m.readYes() {
			fmt.Fprintln(m.stdout, "\nRollback cancelled: nothing was changed.")
			return exitError
		}
	}
	fmt.Fprintln(m.stdout)
	w, _ := who()
	res, diags := op.eng.Apply(ctx, p, engine.ApplyOptions{Who: w, Command: "rollback " + strings.Join(fs.Args(), " ") + fmt.Sprintf(" --to %d", toSerial)})
	m.showDiags(diags)
	if res == nil {
		return exitError
	}
	m.applySummary(res, op.cfg, false, ctx.Err() != nil, diags.HasErrors())
	if len(res.Failed) > 0 || diags.HasErrors() {
		return exitError
	}
	fmt.Fprintf(m.stdout, "\nRolled back to state version %d. Plans keep these objects until you change their configuration or run `llmops rollback --release %s`.\n", toSerial, strings.Join(fs.Args(), " "))
	return exitOK
}

const importUsage = `
Usage: llmops import [options] ADDR ID

Adopts an existing object (a model directory, a running serving process,
a Slurm job, ...) into the state at ADDR, through its provider's import.
ADDR must be declared in the configuration.
`

func runImport(m *meta, args []string) int {
	fs := m.newFlags("import", importUsage)
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 2 {
		return m.errorf("import takes an address and an id: llmops import model.base file://models/base")
	}
	addr, err := addrs.ParseResourceInstance(fs.Arg(0))
	if err != nil {
		return m.errorDetail("Invalid address", err.Error())
	}
	ctx, stop := m.interruptible(nil)
	defer stop()
	op, ok := m.prepare(ctx, "import", engine.DefaultParallelism, nil, nil)
	if !ok {
		return exitError
	}
	defer op.close()
	w, _ := who()
	v, diags := op.eng.Import(ctx, addr, fs.Arg(1), engine.ApplyOptions{Who: w, Command: "import " + fs.Arg(0) + " " + fs.Arg(1)})
	m.showDiags(diags)
	if diags.HasErrors() {
		return exitError
	}
	render.Object(m.stdout, addr, v, "", m.colors)
	fmt.Fprintf(m.stdout, "%s Run `llmops plan` to see how it compares with its configuration.\n", m.colors.Add("Imported "+addr.String()+"."))
	return exitOK
}
