package local

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

// jobKind is what a kind that runs a job (training_run, evaluation,
// embedding_index) adds to the shared job machinery.
type jobKind struct {
	kind    string // the schema kind
	prefix  string // run id prefix
	collect string // the output the supervisor stores: model, metrics, index
	// idIsArtifact: the object's id is its output's artifact id (set by
	// finished), not the run id.
	idIsArtifact bool
	// prepare resolves the job's inputs from the planned state.
	prepare func(ctx context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics)
	// finished fills in the kind's computed attributes from a successful
	// job's manifest; diagnostics it returns fail the object (gates).
	finished func(m *meta, st *sdk.Object, man *jobs.Manifest) sdk.Diagnostics
	// clear nulls the kind's computed attributes (a job that failed).
	clear func(st *sdk.Object)
	// stored lists the artifact ids of a finished object's outputs, which
	// must still be in the store for the object to exist.
	stored func(st sdk.Object) []string
}

// jobInputs are a job's resolved inputs.
type jobInputs struct {
	identity   map[string]any // what decides the result
	env        jobs.Env
	stdin      string
	stdoutFile string
}

func killGrace() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LLMOPS_LOCAL_KILL_GRACE")); err == nil && d > 0 {
		return d
	}
	return defaultKillGrace
}

// identityOf computes a job's identity from the planned state, without
// starting anything (for plans and Read).
func (k *jobKind) identityOf(ctx context.Context, m *meta, st sdk.Object) (string, *jobInputs, sdk.Diagnostics) {
	in, d := k.prepare(ctx, m, st)
	if d.HasErrors() {
		return "", nil, d
	}
	if in.identity == nil {
		in.identity = map[string]any{}
	}
	in.identity["command"] = st.GetStrings("command")
	extra := st.GetStringMap("env")
	if err := jobs.CheckExtra(extra); err != nil {
		d = append(d, attrErr(attr("env"), "Invalid env", err)...)
		return "", nil, d
	}
	in.identity["env"] = extra
	in.env.Extra = extra
	id, err := jobs.Identity(k.kind, in.identity)
	if err != nil {
		d.FromError("Cannot compute the job's identity", err)
		return "", nil, d
	}
	return id, in, d
}

func (k *jobKind) create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	identity, in, d := k.identityOf(ctx, m, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	res := st.Attr("resources")
	gpus, gd := m.gpusFor(ctx, res)
	d = append(d, gd...)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	if n, ok := nestedInt(res, "nodes"); ok && n > 1 {
		d.AttrErrorf(cty.GetAttrPath("resources").GetAttr("nodes"), "Multi-node runs need a cluster", "The local provider runs on one host; nodes = %d needs a cluster provider such as slurm.", n)
		return &sdk.Response{Diagnostics: d}
	}
	maxDur := ""
	if s := nestedString(res, "max_duration"); s != "" {
		dur, err := schema.ParseDuration(s)
		if err != nil {
			return errResp(cty.GetAttrPath("resources").GetAttr("max_duration"), "Invalid duration", err)
		}
		maxDur = dur.String()
	}
	rn, err := m.runner.forIdentity(k.kind, identity)
	if err != nil {
		return sdk.ErrorResponse("Cannot start the job", err)
	}
	runID := jobs.RunID(k.prefix, identity)
	in.env.RunID, in.env.OutputDir = runID, rn.outputDir()
	in.env.Artifacts, in.env.StoreRoot = m.remote.Env(), m.store.Root()
	spec := &jobSpec{
		Kind: k.kind, RunID: runID, Identity: identity, Argv: st.GetStrings("command"), Dir: m.workDir,
		Env: m.jobEnviron(in.env, gpus), Secrets: sdk.Secrets(ctx).List(), MaxDuration: maxDur, Stdin: in.stdin, StdoutFile: in.stdoutFile,
		Collect: k.collect, Store: m.store.Root(), GPUs: gpus, KillGrace: killGrace().String(),
	}
	rn, adopted, err := m.runner.start(spec)
	if err == nil && adopted && !m.outputsStored(rn) {
		// A finished job whose outputs were removed from the store (by a
		// garbage collection): run it again.
		if err = m.runner.remove(rn, killGrace()); err == nil {
			rn, adopted, err = m.runner.start(spec)
		}
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot start the job", err)
	}
	host, _ := os.Hostname()
	if k.idIsArtifact {
		st.SetNull("id")
	} else {
		st.SetString("id", runID)
	}
	st.SetString("identity", identity)
	st.SetString("job_id", runID+"@"+host)
	st.SetString("status", jobs.StatusRunning)
	st.SetString("log_path", rn.logPath())
	setTime(&st, "started_at", time.Now())
	if sup := rn.supervisor(); sup != nil {
		setTime(&st, "started_at", sup.StartedAt)
	}
	st.SetNull("finished_at")
	k.clear(&st)
	log := sdk.Logger(ctx)
	if adopted {
		log.Info("adopted the job already started for these inputs", "run", runID, "dir", rn.dir)
	} else {
		log.Info("job started", "run", runID, "dir", rn.dir, "gpus", gpus)
	}
	if s := rn.status(); s.state != stateRunning {
		return k.complete(ctx, m, st, rn, s)
	}
	msg := "started"
	if adopted {
		msg = "adopted the running job " + runID
	}
	return &sdk.Response{State: st, Pending: sdk.PendingState(rn.handle, jobs.StatusRunning, msg)}
}

// outputsStored reports whether a finished run's stored outputs are all
// still in the artifact store (true for a run that has not finished).
func (m *meta) outputsStored(rn *run) bool {
	s := rn.status()
	if s.state != stateFinished {
		return true
	}
	for _, out := range s.manifest.Outputs {
		if !m.store.Has(artifacts.ID(out.ID)) {
			return false
		}
	}
	return true
}

// poll is Read for a pending object.
func (k *jobKind) poll(ctx context.Context, m *meta, req *sdk.ReadRequest) *sdk.Response {
	rn, err := m.runner.open(req.Pending.Handle)
	if err != nil {
		return sdk.ErrorResponse("Invalid job handle", err)
	}
	if !rn.exists() {
		var d sdk.Diagnostics
		d.Errorf("The job is gone", "The run directory %s of this %s no longer exists: it was removed while the job was pending. The object is replaced on the next apply.", rn.dir, k.kind)
		st := req.State
		st.SetString("status", jobs.StatusFailed)
		return &sdk.Response{State: st, Diagnostics: d}
	}
	s := rn.status()
	if s.state == stateRunning {
		return &sdk.Response{State: req.State, Pending: sdk.PendingState(rn.handle, jobs.StatusRunning, progress(rn))}
	}
	return k.complete(ctx, m, req.State, rn, s)
}

// progress is the latest metrics line, else the latest log line.
func progress(rn *run) string {
	if line, _, _ := jobs.LatestMetrics(rn.outputDir() + "/" + jobs.MetricsLinesFile); line != "" {
		return clip(line, 200)
	}
	if lines, _ := jobs.Tail(rn.logPath(), 1); len(lines) == 1 {
		return clip(strings.TrimSpace(lines[0]), 200)
	}
	return ""
}

// complete turns a job that ended into the object's final state, or an
// error with the tail of the job's log.
func (k *jobKind) complete(ctx context.Context, m *meta, st sdk.Object, rn *run, s runStatus) *sdk.Response {
	var d sdk.Diagnostics
	st = done(st)
	if s.state == stateDead {
		// Its command may outlive it, unsupervised: stop it.
		m.runner.stopOrphans(rn)
		st.SetString("status", jobs.StatusFailed)
		k.clear(&st)
		d.Errorf(fmt.Sprintf("The %s job %s died", k.kind, jobs.RunID(k.prefix, st.GetString("identity"))),
			"Its supervisor is gone and left no result: it was killed, or the host restarted.%s", logTail(rn.logPath()))
		return &sdk.Response{State: st, Diagnostics: d}
	}
	man := s.manifest
	st.SetString("status", man.Status)
	setTime(&st, "started_at", man.StartedAt)
	setTime(&st, "finished_at", man.FinishedAt)
	if out, ok := man.Outputs["log"]; ok {
		st.SetString("log_path", out.Path)
	}
	if !man.Succeeded() {
		k.clear(&st)
		d.Errorf(fmt.Sprintf("The job %s (%s)", verb(man.Status), shortReason(man)),
			"The %s job %s ran the command %s in %s: %s.%s", k.kind, man.RunID, quoteArgv(st.GetStrings("command")), m.workDir, man.Reason, logTail(rn.logPath()))
		return &sdk.Response{State: st, Diagnostics: d}
	}
	d = append(d, k.finished(m, &st, man)...)
	// The supervisor stored the outputs in the local store: push them to
	// the remote one, so that other machines can use them.
	for _, id := range k.stored(st) {
		if err := m.store.Push(ctx, artifacts.ID(id)); err != nil {
			d.Errorf("Cannot push the job's output", "%s is stored locally (%s) but could not be pushed: %v. The next apply pushes it again.", id, m.store.Root(), err)
		}
	}
	return &sdk.Response{State: st, Diagnostics: d}
}

// shortReason says in a few words how a job ended: "exit 3", "signal
// killed", "after max_duration 10m".
func shortReason(m *jobs.Manifest) string {
	switch {
	case m.Status == jobs.StatusTimeout:
		return strings.TrimPrefix(m.Reason, "killed ")
	case m.Signal != "":
		return "signal " + m.Signal
	case m.ExitCode > 0:
		return fmt.Sprintf("exit %d", m.ExitCode)
	}
	return m.Reason
}

func verb(status string) string {
	switch status {
	case jobs.StatusTimeout:
		return "timed out"
	case jobs.StatusCancelled:
		return "was cancelled"
	}
	return "failed"
}

// logTail renders the last lines of a job's log for an error's detail.
func logTail(path string) string {
	lines, err := jobs.Tail(path, 20)
	if err != nil || len(lines) == 0 {
		return fmt.Sprintf("\n\nThe job's log (%s) is empty.", path)
	}
	return fmt.Sprintf("\n\nLast lines of the job's log (%s):\n  %s", path, strings.Join(lines, "\n  "))
}

// read refreshes a finished object: it exists while its run directory
// and its stored outputs do.
func (k *jobKind) read(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	if req.Pending != nil {
		return k.poll(ctx, m, req)
	}
	identity := req.State.GetString("identity")
	if identity == "" {
		return sdk.Gone()
	}
	rn, err := m.runner.forIdentity(k.kind, identity)
	if err != nil || !rn.exists() {
		// Run on another machine sharing the remote store: it exists
		// while its outputs do.
		if err == nil && m.ranElsewhere(ctx, k, req.State) {
			return nil
		}
		return sdk.Gone()
	}
	if s := rn.status(); s.state == stateDead || (s.state == stateFinished && !s.manifest.Succeeded() && req.State.GetString("status") == jobs.StatusSucceeded) {
		return sdk.Gone()
	}
	for _, id := range k.stored(req.State) {
		if ok, err := m.store.Exists(ctx, artifacts.ID(id)); err != nil {
			return sdk.ErrorResponse("Cannot reach the remote artifact store", err)
		} else if !ok {
			return sdk.Gone()
		}
	}
	return nil
}

// ranElsewhere reports whether a succeeded job object whose run directory
// is not on this machine ran on another that shares the remote artifact
// store: all its stored outputs are there.
func (m *meta) ranElsewhere(ctx context.Context, k *jobKind, st sdk.Object) bool {
	if m.store.Remote() == nil || st.GetString("status") != jobs.StatusSucceeded {
		return false
	}
	ids := k.stored(st)
	for _, id := range ids {
		if ok, err := m.store.Exists(ctx, artifacts.ID(id)); err != nil || !ok {
			return false
		}
	}
	return len(ids) > 0 || k.kind == schema.Evaluation
}

func (k *jobKind) delete(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m := metaOf(req.Meta)
	identity := req.Prior.GetString("identity")
	if identity == "" {
		return nil
	}
	rn, err := m.runner.forIdentity(k.kind, identity)
	if err != nil {
		return nil
	}
	if err := m.runner.remove(rn, killGrace()); err != nil {
		return sdk.ErrorResponse("Cannot remove the job", err)
	}
	return nil
}

// planIdentity is the ModifyPlan step shared by job kinds: on create (or
// replace), when every input is known, the run's identity and id are known
// at plan time.
func (k *jobKind) planIdentity(ctx context.Context, req *sdk.ModifyPlanRequest, planned *sdk.Object) sdk.Diagnostics {
	if planned.Known("identity") || !req.Config.IsWhollyKnown() {
		return nil
	}
	m := metaOf(req.Meta)
	identity, _, d := k.identityOf(ctx, m, *planned)
	if d.HasErrors() {
		// Inputs that cannot be resolved yet (a model not imported) are
		// reported by apply.
		return nil
	}
	planned.SetString("identity", identity)
	if !k.idIsArtifact {
		planned.SetString("id", jobs.RunID(k.prefix, identity))
	}
	return d
}
