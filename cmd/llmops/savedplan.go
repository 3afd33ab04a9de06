package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
)

// prepareSavedPlan loads a plan file and refuses it when the
// configuration, the variables or a provider binary changed since it was
// made. (The state serial is checked by the engine.)
func (m *meta) prepareSavedPlan(ctx context.Context, path string, o *opFlags, hooks engine.Hooks) (*operation, *plans.Plan, bool) {
	key, ok := m.stateKey()
	if !ok {
		return nil, nil, false
	}
	p, err := plans.ReadFile(path, key)
	if err == nil && p.Sealed {
		err = fmt.Errorf("the plan holds sealed sensitive values and no state key is configured: set LLMOPS_STATE_KEY to the key it was made with")
	}
	if err != nil {
		m.errorDetail("Cannot read the plan file", fmt.Sprintf("%s: %s", path, err))
		return nil, nil, false
	}
	m.learnPlan(p)
	cfg, ok := m.loadConfig()
	if !ok {
		return nil, nil, false
	}
	if err := p.CheckConfig(cfg.Digest); err != nil {
		m.staleDetail(path, err)
		return nil, nil, false
	}
	vars := map[string]cty.Value{}
	for n, v := range p.Variables {
		vars[n] = v
	}
	if len(p.SensitiveVariables) > 0 {
		collected, diags := engine.CollectVariables(cfg, m.vars.srcs, os.Environ())
		m.sources = cfg.Sources
		if diags.HasErrors() {
			m.showDiags(diags)
			return nil, nil, false
		}
		names := make([]string, 0, len(p.SensitiveVariables))
		for n := range p.SensitiveVariables {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v, ok := collected[n]
			if !ok || engine.HashValue(v) != p.SensitiveVariables[n] {
				m.errorDetail("Sensitive variable differs from the saved plan",
					fmt.Sprintf("Saved plans do not keep sensitive values, so var.%s must be given again when applying (with -var, a .llmops.vars file or %s%s), and it must be the value the plan was made with.", n, engine.EnvVarPrefix, n))
				return nil, nil, false
			}
			vars[n] = v.Mark(values.Sensitive)
			m.learn(vars[n])
		}
	}
	op, ok := m.prepareWithConfig(ctx, cfg, vars, "apply", o.parallelism, hooks)
	if !ok {
		return nil, nil, false
	}
	if err := p.CheckProviders(op.factory.ProviderHash); err != nil {
		m.staleDetail(path, err)
		op.close()
		return nil, nil, false
	}
	return op, p, true
}

// staleDetail reports a saved plan refused by a plans check, naming the
// file.
func (m *meta) staleDetail(path string, err error) {
	var se *plans.StaleError
	if errors.As(err, &se) {
		m.errorDetail(se.Summary, fmt.Sprintf("%s: %s", path, se.Detail))
		return
	}
	m.errorDetail("Cannot use the saved plan", fmt.Sprintf("%s: %s", path, err))
}
