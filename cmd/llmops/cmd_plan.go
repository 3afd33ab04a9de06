package main

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/plans"
)

const planUsage = `
Usage: llmops plan [options]

Refreshes every recorded object, compares reality and the configuration,
and shows the changes apply would make. Nothing is changed.

Exit codes: 0 success (with -detailed-exitcode: no changes), 1 error,
2 (with -detailed-exitcode) there are changes.
`

func runPlan(m *meta, args []string) int {
	fs := m.newFlags("plan", planUsage)
	o := m.addOpFlags(fs, false)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return m.errorf("plan takes no positional arguments (got %q); did you mean -out=%s?", fs.Arg(0), fs.Arg(0))
	}
	po, ok := m.planOptions(o)
	if !ok {
		return exitError
	}
	ctx, stop := m.interruptible(nil)
	defer stop()
	op, ok := m.prepare(ctx, "plan", o.parallelism, nil, nil)
	if !ok {
		return exitError
	}
	defer op.close()
	po, diags := m.withPins(ctx, op, po)
	var p *plans.Plan
	if !diags.HasErrors() {
		p, diags = op.eng.Plan(ctx, po)
		m.learnPlan(p)
	}
	m.reportDeadProviders(op, diags)
	if p == nil || diags.HasErrors() {
		if o.json {
			m.writeJSONDiags(diags)
		}
		m.showDiags(diags)
		return exitError
	}
	if o.json {
		doc := render.PlanJSON(p)
		b, _ := json.MarshalIndent(struct {
			*render.JSONPlan
			Diagnostics []render.JSONDiagnostic `json:"diagnostics"`
		}{doc, render.DiagnosticsJSON(diags)}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
	} else {
		m.showDiags(diags)
		render.Plan(m.stdout, p, m.colors)
	}
	if o.out != "" {
		key, _ := m.stateKey()
		if err := plans.WriteFile(o.out, p, key); err != nil {
			return m.errorDetail("Cannot save the plan", err.Error())
		}
		if !o.json {
			fmt.Fprintf(m.stdout, "\nSaved the plan to %s. To apply exactly this plan, run: llmops apply %s\n", o.out, o.out)
		}
	}
	if o.detailed && p.HasChanges() {
		return exitChanges
	}
	return exitOK
}

func (m *meta) writeJSONDiags(diags hcl.Diagnostics) {
	b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "diagnostics": render.DiagnosticsJSON(diags)}, "", "  ")
	fmt.Fprintln(m.stdout, string(b))
}
