package main

import (
	"io"
	"os"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// Every text llmops prints or writes goes through one scrubber: stdout,
// stderr (diagnostics, hooks' lines, the apply summary, provider errors
// and the job logs they quote) and the log file. It knows every sensitive
// string in play as soon as llmops does: the state key, the values of
// sensitive variables, every value the state key seals or opens, and the
// sensitive values of each plan. Only `llmops output NAME`, which prints a
// sensitive output on purpose, writes past it.

// scrubbedStreams wraps the streams of a run; flush writes what they hold
// back (the start of what could be a secret) at the end.
func scrubbedStreams(set *scrub.Set, stdout, stderr io.Writer) (out, errw io.Writer, flush func()) {
	set.Add(stateKeyTexts()...)
	o, e := scrub.NewWriter(stdout, set), scrub.NewWriter(stderr, set)
	return o, e, func() { o.Close(); e.Close() }
}

// stateKeyTexts are the state key as configured: LLMOPS_STATE_KEY and the
// contents of LLMOPS_STATE_KEY_FILE.
func stateKeyTexts() []string {
	var out []string
	if v := strings.TrimSpace(os.Getenv(secrets.EnvKey)); v != "" {
		out = append(out, v)
	}
	if p := os.Getenv(secrets.EnvKeyFile); p != "" {
		if b, err := os.ReadFile(p); err == nil {
			if v := strings.TrimSpace(string(b)); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// learn adds the sensitive parts of values to the scrubber.
func (m *meta) learn(vals ...cty.Value) {
	for _, v := range vals {
		if v == cty.NilVal || !values.ContainsMarked(v) {
			continue
		}
		for _, leaf := range values.SecretLeaves(v) {
			m.secrets.Add(leafText(leaf)...)
		}
	}
}

// learnPlan adds the sensitive values of a plan's changes and outputs.
func (m *meta) learnPlan(p *plans.Plan) {
	if p == nil {
		return
	}
	for _, c := range p.Changes {
		m.learn(c.Before, c.After)
	}
	for _, c := range p.Drift {
		m.learn(c.Before, c.After)
	}
	for _, o := range p.Outputs {
		m.learn(o.Before, o.After)
		if o.Sensitive {
			for _, v := range []cty.Value{o.Before, o.After} {
				if v != cty.NilVal {
					m.secrets.Add(leafText(v)...)
				}
			}
		}
	}
}

func leafText(v cty.Value) []string {
	v, _ = v.UnmarkDeep()
	var out []string
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if !x.IsKnown() || x.IsNull() {
			return true, nil
		}
		switch x.Type() {
		case cty.String:
			out = append(out, x.AsString())
		case cty.Number:
			out = append(out, x.AsBigFloat().Text('f', -1))
		}
		return true, nil
	})
	return out
}

// witnessKey is the state key as the engine gets it: every value it seals
// or opens becomes known to the scrubber.
type witnessKey struct {
	values.Sealer
	m *meta
}

func (w witnessKey) Witness(parts ...cty.Value) {
	for _, p := range parts {
		w.m.secrets.Add(leafText(p)...)
	}
}
