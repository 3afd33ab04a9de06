package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
)

const applyUsage = `
Usage: llmops apply [options] [PLANFILE]

Plans and, once you answer "yes", makes the changes. With PLANFILE (from
"llmops plan -out"), applies exactly that plan, refusing it if the state,
the configuration or a provider binary changed since it was made.

Each finished change is recorded at once; a failure stops only what
depends on it. Exit codes: 0 success, 1 error.
`

const destroyUsage = `
Usage: llmops destroy [options]

Destroys every object recorded in the state, dependents first, after you
answer "yes". Objects with lifecycle.prevent_destroy refuse.
`

func runApply(m *meta, args []string) int   { return applyCommand(m, args, false) }
func runDestroy(m *meta, args []string) int { return applyCommand(m, args, true) }

func applyCommand(m *meta, args []string, destroy bool) int {
	usageText := applyUsage
	if destroy {
		usageText = destroyUsage
	}
	fs := m.newFlags(m.command, usageText)
	o := m.addOpFlags(fs, true)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	o.destroy = destroy
	var op *operation
	ctx, stop := m.interruptible(func() {
		if op != nil && op.eng != nil {
			op.eng.Stop(context.Background())
		}
	})
	defer stop()
	hooks := newUIHooks(m.stdout, render.NewColors(false), o.json)

	var p *plans.Plan
	if fs.NArg() > 0 {
		if destroy {
			return m.errorf("destroy takes no plan file; use `llmops plan -destroy -out FILE` then `llmops apply FILE`")
		}
		if fs.NArg() > 1 {
			return m.errorf("apply takes at most one plan file")
		}
		var ok bool
		if op, p, ok = m.prepareSavedPlan(ctx, fs.Arg(0), o, hooks); !ok {
			return exitError
		}
		defer op.close()
	} else {
		po, ok := m.planOptions(o)
		if !ok {
			return exitError
		}
		if op, ok = m.prepare(ctx, m.command, o.parallelism, hooks, nil); !ok {
			return exitError
		}
		defer op.close()
		po, diags := m.withPins(ctx, op, po)
		if !diags.HasErrors() {
			p, diags = op.eng.Plan(ctx, po)
			m.learnPlan(p)
		}
		m.reportDeadProviders(op, diags)
		if p == nil || diags.HasErrors() {
			m.showDiags(diags)
			return exitError
		}
		hooks.c = m.colors
		if !o.json {
			m.showDiags(diags)
			render.Plan(m.stdout, p, m.colors)
		}
		if !p.HasChanges() {
			return exitOK
		}
		if !o.autoApprove {
			if o.json {
				return m.errorf("-json needs -auto-approve for %s: there is no way to answer the confirmation prompt", m.command)
			}
			if !m.confirm(destroy) {
				fmt.Fprintf(m.stdout, "\n%s cancelled: nothing was changed.\n", strings.ToUpper(m.command[:1])+m.command[1:])
				return exitError
			}
		}
	}
	hooks.c = m.colors
	if !o.json {
		fmt.Fprintln(m.stdout)
	}
	if err := m.checkStateSpace(len(p.Changes)); err != nil {
		return m.errorDetail("Not enough disk space for the state", err.Error())
	}
	if _, err := m.backupState(ctx, op.store); err != nil {
		return m.errorDetail("Cannot back up the state before applying", fmt.Sprintf("%s. Nothing was changed. Check that %s is writable and has free space.", err, m.backupDir()))
	}
	w, _ := who()
	res, diags := op.eng.Apply(ctx, p, engine.ApplyOptions{Who: w, Command: commandLine(m.command, args), NoWait: !o.wait})
	m.reportDeadProviders(op, diags)
	if res == nil {
		m.showDiags(diags)
		return exitError
	}
	if o.json {
		b, _ := json.Marshal(map[string]any{
			"type": "apply_summary", "serial": res.Serial, "counts": res.Counts,
			"failed": failedJSON(res), "skipped": len(res.Skipped), "diagnostics": render.DiagnosticsJSON(diags),
		})
		fmt.Fprintln(m.stdout, string(b))
	} else {
		m.showDiags(diags)
		m.applySummary(res, op.cfg, destroy, ctx.Err() != nil, diags.HasErrors())
	}
	if len(res.Failed) > 0 || diags.HasErrors() {
		return exitError
	}
	return exitOK
}

func failedJSON(res *engine.ApplyResult) []map[string]string {
	out := []map[string]string{}
	for _, f := range res.Failed {
		out = append(out, map[string]string{"address": f.Addr.String(), "action": string(f.Action), "error": f.Err})
	}
	return out
}

func commandLine(cmd string, args []string) string {
	var safe []string
	for _, a := range args {
		if strings.HasPrefix(a, "-var=") || a == "-var" || strings.HasPrefix(a, "--var") {
			safe = append(safe, "-var=...")
			continue
		}
		safe = append(safe, a)
	}
	return strings.TrimSpace(cmd + " " + strings.Join(safe, " "))
}

func (m *meta) confirm(destroy bool) bool {
	q := "Do you want to perform these actions?"
	if destroy {
		q = "Do you really want to destroy all recorded objects?"
	}
	fmt.Fprintf(m.stdout, "\n%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", m.colors.Bold(q))
	return m.readYes()
}

func (m *meta) readYes() bool {
	if f, ok := m.stdout.(interface{ Flush() error }); ok {
		_ = f.Flush() // the whole question, before waiting for the answer
	}
	line, _ := bufio.NewReader(m.stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

// applySummary ends an apply's output. Its first line says how the apply
// ended, in one word: complete, interrupted (Ctrl-C; then never also
// "complete"), or failed (a change failed, or an error such as a state
// write).
func (m *meta) applySummary(res *engine.ApplyResult, cfg *configs.Config, destroy, interrupted, errs bool) {
	c := res.Counts
	verb := "Apply"
	counts := fmt.Sprintf("%d added, %d changed, %d replaced, %d destroyed", c.Added, c.Changed, c.Replaced, c.Destroyed)
	if destroy {
		verb = "Destroy"
		counts = fmt.Sprintf("%d destroyed", c.Destroyed)
	}
	switch {
	case len(res.Failed) > 0:
		title := m.colors.Err(verb + " failed:")
		if interrupted {
			title = m.colors.Warn(verb + " interrupted:")
		}
		fmt.Fprintf(m.stdout, "\n%s %d failed; %s; %d skipped.\n", title, len(res.Failed), counts, len(res.Skipped))
		for _, f := range res.Failed {
			// One line each: the error's diagnostic, in full, is below.
			fmt.Fprintf(m.stdout, "  - %s (%s): %s\n", f.Addr, f.Action, firstLine(f.Err))
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(m.stdout, "  - %s: skipped, a dependency failed\n", s)
		}
		fmt.Fprintln(m.stdout, "Everything that finished is recorded in the state; run apply again after fixing the cause.")
	case interrupted:
		fmt.Fprintf(m.stdout, "\n%s Resources: %s before it stopped. Everything that finished is recorded in the state; run %s again to do the rest.\n",
			m.colors.Warn(verb+" interrupted."), counts, strings.ToLower(verb))
	case errs:
		fmt.Fprintf(m.stdout, "\n%s Resources: %s; see the errors above.\n", m.colors.Err(verb+" failed."), counts)
	default:
		fmt.Fprintf(m.stdout, "\n%s Resources: %s.\n", m.colors.Add(verb+" complete!"), counts)
	}
	if len(res.StillPending) > 0 {
		fmt.Fprintf(m.stdout, "\n%d long operation(s) still running: ", len(res.StillPending))
		for i, a := range res.StillPending {
			if i > 0 {
				fmt.Fprint(m.stdout, ", ")
			}
			fmt.Fprint(m.stdout, a.String())
		}
		fmt.Fprintln(m.stdout, ".\nThey keep running without llmops; the next plan or apply picks them up where they are.")
		if len(res.Deferred) > 0 {
			var names []string
			for _, a := range res.Deferred {
				names = append(names, a.String())
			}
			fmt.Fprintf(m.stdout, "Waiting for them: %s (the next apply does these).\n", strings.Join(names, ", "))
		}
	}
	if !destroy && len(res.Outputs) > 0 {
		printOutputs(m, res.Outputs, cfg)
	}
}

func printOutputs(m *meta, outs map[string]cty.Value, cfg *configs.Config) {
	names := make([]string, 0, len(outs))
	for n := range outs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(m.stdout, "\n%s\n\n", m.colors.Bold("Outputs:"))
	for _, n := range names {
		v := outs[n]
		if (cfg != nil && cfg.Outputs[n] != nil && cfg.Outputs[n].Sensitive) || values.IsSensitive(v) {
			fmt.Fprintf(m.stdout, "%s = <sensitive>\n", n)
			continue
		}
		fmt.Fprintf(m.stdout, "%s = %s\n", n, render.HCL(v))
	}
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
