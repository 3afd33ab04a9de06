package ui

import (
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/state"
)

// Dashboard statuses.
const (
	StatusReady   = "ready"
	StatusRunning = "running" // a long job runs, or an apply is creating the object
	StatusFailed  = "failed"  // a job failed, timed out or was cancelled; a gate failed
	StatusTainted = "tainted" // a create failed part-way: the next apply replaces it
	StatusDrifted = "drifted" // the last refresh found it changed outside llmops (a deployment degraded or stopped)
	StatusBreach  = "breach"  // a monitor's last reading crossed a bound
)

// classify gives an object's dashboard status and its kind's own status
// word.
func classify(o *history.Object) (string, string) {
	detail := history.AttrString(o.Value, "status")
	switch o.Status {
	case state.StatusTainted:
		return StatusTainted, detail
	case state.StatusPending, state.StatusCreating:
		return StatusRunning, detail
	}
	switch detail {
	case "running", "queued":
		return StatusRunning, detail
	case "failed", "timeout", "cancelled", "node_fail", "preempted", "oom":
		return StatusFailed, detail
	}
	switch o.Addr.Resource.Type {
	case schema.Deployment:
		if detail == "degraded" || detail == "stopped" {
			return StatusDrifted, detail
		}
	case schema.Monitor:
		if detail == schema.MonitorBreach {
			return StatusBreach, detail
		}
	case schema.Evaluation:
		if p := history.Attr(o.Value, "passed"); p != cty.NilVal && p.IsKnown() && !p.IsNull() && !p.IsMarked() && p.False() {
			return StatusFailed, "gate failed"
		}
	}
	return StatusReady, detail
}

// Command is a CLI command the page shows: the dashboard changes nothing.
type Command struct {
	Command string `json:"command"`
	Does    string `json:"does"`
}

// commandsFor lists the commands that act on an object.
func commandsFor(o *history.Object) []Command {
	a := o.Addr.String()
	q := shellQuote(a)
	var out []Command
	if o.Status == state.StatusTainted {
		out = append(out, Command{"llmops apply", "replace it (a create failed part-way)"})
	}
	switch o.Addr.Resource.Type {
	case schema.TrainingRun, schema.Evaluation, schema.EmbeddingIndex:
		out = append(out, Command{"llmops apply -replace " + q, "run it again with the same inputs"})
	case schema.Deployment:
		out = append(out,
			Command{"llmops rollback " + q + " --previous", "serve the previous model again (no retraining)"},
			Command{"llmops apply -replace " + q, "replace it (a new endpoint)"})
	case schema.Monitor:
		out = append(out, Command{"llmops watch", "read the monitors, send alerts, act on breaches"})
	}
	out = append(out,
		Command{"llmops history " + q, "every recorded version of it"},
		Command{"llmops lineage " + q, "what it was made from"},
		Command{"llmops destroy -target " + q, "destroy it (and what depends on it)"})
	return out
}

// shellQuote quotes an address for a shell when it has to be
// (instance keys: dataset.d["eu"]).
func shellQuote(s string) string {
	for _, c := range s {
		if !(c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
