package slurm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// jobKind is what a kind that runs a batch job (training_run, evaluation,
// a dataset transform) adds to the shared machinery below.
type jobKind struct {
	kind    string // the schema kind, and the runs/<kind> directory
	prefix  string // run id prefix
	collect string // collectModel, collectMetrics or collectData
	// idIsArtifact: the object's id is its output's artifact id (set by
	// finished), not the run id.
	idIsArtifact bool
	// identity returns the inputs that decide the result, from the
	// configuration alone (for plans and for Create).
	identity func(st sdk.Object) (map[string]any, error)
	// prepare resolves the inputs into the job's environment, with paths
	// as the nodes see them (staged when needed).
	prepare func(ctx context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics)
	// secrets returns the job's secret variables (kept out of spec.json
	// and of the script sent to Slurm).
	secrets func(st sdk.Object) map[string]string
	// finished fills in the kind's computed attributes from a successful
	// job; diagnostics it returns fail the object (gates).
	finished func(ctx context.Context, m *meta, st *sdk.Object, f *finishedJob) sdk.Diagnostics
	// clear nulls the kind's computed attributes (a job that did not succeed).
	clear func(st *sdk.Object)
	// stored lists the artifact ids a finished object needs in the store.
	stored func(st sdk.Object) []string
}

type jobInputs struct {
	env    jobs.Env
	argv   []string
	format string
}

// finishedJob is a job whose manifest says it succeeded.
type finishedJob struct {
	run     *run
	attempt int
	man     *jobs.Manifest
}

func (f *finishedJob) outputDir() string { return f.run.outputDir(f.attempt) }
func (f *finishedJob) listing() string {
	return filepath.Join(f.run.attemptDir(f.attempt), listingFile)
}

// identityOf computes the job's identity from the configuration.
func (k *jobKind) identityOf(st sdk.Object) (string, error) {
	in, err := k.identity(st)
	if err != nil {
		return "", err
	}
	if st.Attr("command") != cty.NilVal {
		in["command"] = st.GetStrings("command")
		in["env"] = st.GetStringMap("env")
	}
	return jobs.Identity(k.kind, in)
}

func (k *jobKind) create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	identity, err := k.identityOf(st)
	if err != nil {
		return sdk.ErrorResponse("Cannot compute the job's identity", err)
	}
	runID := jobs.RunID(k.prefix, identity)
	r := m.runFor(k.kind, identity)
	st.SetString("identity", identity)
	if !k.idIsArtifact {
		st.SetString("id", runID)
	}
	for attempt := 0; ; attempt++ {
		if r.exists() {
			if resp := k.adopt(ctx, m, st, r); resp != nil {
				return resp
			}
			if err := m.moveAside(r); err != nil {
				return sdk.ErrorResponse("Cannot start the job", err)
			}
		}
		if attempt > 3 {
			return sdk.ErrorResponse("Cannot start the job", fmt.Errorf("cannot take over %s", r.dir))
		}
		in, d := k.prepare(ctx, m, st)
		if d.HasErrors() {
			return &sdk.Response{Diagnostics: d}
		}
		spec, d2 := k.spec(m, st, req.Sensitive, in, runID, identity)
		d = append(d, d2...)
		if d.HasErrors() {
			return &sdk.Response{Diagnostics: d}
		}
		if err := m.createRun(r, spec); errors.Is(err, os.ErrExist) {
			continue // someone else was quicker: adopt theirs
		} else if err != nil {
			return sdk.ErrorResponse("Cannot start the job", err)
		}
		jid, err := m.submitAttempt(ctx, r, spec, 1, "", k.secretsOf(st, req.Sensitive))
		if err != nil {
			_ = os.RemoveAll(r.dir)
			d.FromError(fmt.Sprintf("Cannot submit the %s job to Slurm", k.kind), err)
			return &sdk.Response{Diagnostics: d}
		}
		st = k.submitted(st, r, 1, jid)
		sdk.Logger(ctx).Info("job submitted", "run", runID, "slurm_job", jid, "dir", r.dir)
		where := spec.Res.Partition
		if where == "" {
			where = "the default partition"
		}
		return &sdk.Response{State: st, Diagnostics: d, Pending: sdk.PendingState(handle(r, 1, jid), phaseQueued,
			fmt.Sprintf("submitted as Slurm job %s to %s", jid, where))}
	}
}

// adopt picks up the job already started for these inputs (llmops killed
// between submitting and recording it, or the same run in another
// configuration): a job that runs is waited for, a result is reused. It
// returns nil when the run failed and a new one must start.
func (k *jobKind) adopt(ctx context.Context, m *meta, st sdk.Object, r *run) *sdk.Response {
	n, jid := r.lastAttempt()
	if n == 0 || jid == "" {
		return nil
	}
	if man, err := jobs.ReadManifest(r.manifestPath(n)); err == nil {
		if man.Succeeded() && k.resultKept(m, man) {
			st = k.submitted(st, r, n, jid)
			return k.complete(ctx, m, st, &finishedJob{run: r, attempt: n, man: man})
		}
		return nil
	}
	ji, err := m.sched.Job(ctx, jid)
	if err != nil {
		return nil
	}
	if p := classify(ji.State); p == phaseQueued || p == phaseRunning {
		sdk.Logger(ctx).Info("adopted the job already submitted for these inputs", "slurm_job", jid, "dir", r.dir)
		st = k.submitted(st, r, n, jid)
		return &sdk.Response{State: st, Pending: sdk.PendingState(handle(r, n, jid), p, "adopted Slurm job "+jid)}
	}
	return nil
}

// resultKept reports whether a finished job's output is still to be
// found: on the shared filesystem, or in this configuration's store.
func (k *jobKind) resultKept(m *meta, man *jobs.Manifest) bool {
	out, ok := man.Outputs[k.collect]
	if k.collect == collectMetrics {
		return true
	}
	if !ok {
		return false
	}
	if _, err := os.Stat(out.Path); err == nil {
		return true
	}
	pid, err := artifacts.ParseID(out.ID)
	return err == nil && m.store.Has(pid)
}

// submitted records a submitted attempt in the state.
func (k *jobKind) submitted(st sdk.Object, r *run, n int, jid string) sdk.Object {
	st.SetString("job_id", jid)
	st.SetString("status", phaseRunning)
	st.SetString("log_path", r.logPath(n))
	st.SetInt("attempts", int64(n))
	if !st.Known("started_at") {
		st.SetNull("started_at")
	}
	st.SetNull("finished_at")
	k.clear(&st)
	return st
}

// secretsOf returns the job's secret variables: the kind's (an
// evaluation's LLMOPS_API_KEY), every env variable whose value is
// sensitive, and LLMOPS_SECRET_ARG_<i> for each sensitive element i of the
// command. They reach the job through the submission's environment, in
// memory: never the script, spec.json or any other file.
func (k *jobKind) secretsOf(st sdk.Object, sens sdk.SensitivePaths) map[string]string {
	out := map[string]string{}
	if k.secrets != nil {
		for name, v := range k.secrets(st) {
			out[name] = v
		}
	}
	envPath, cmdPath := k.userPaths()
	for name, v := range k.userEnv(st) {
		if sens.Covers(envPath.IndexString(name)) {
			out[name] = v
		}
	}
	for i, a := range k.userArgv(st) {
		if sens.Covers(cmdPath.IndexInt(i)) {
			out[secretArgVar(i)] = a
		}
	}
	return out
}

// userPaths are the paths of the user's env and command in the kind's
// schema.
func (k *jobKind) userPaths() (env, command cty.Path) {
	if k.kind == "dataset" {
		return attr("transform").GetAttr("env"), attr("transform").GetAttr("command")
	}
	return attr("env"), attr("command")
}

func (k *jobKind) userEnv(st sdk.Object) map[string]string {
	if k.kind == "dataset" {
		return nestedStringMap(st.Attr("transform"), "env")
	}
	return st.GetStringMap("env")
}

func (k *jobKind) userArgv(st sdk.Object) []string {
	if k.kind == "dataset" {
		return nestedStrings(st.Attr("transform"), "command")
	}
	if st.Attr("command") == cty.NilVal {
		return nil
	}
	return st.GetStrings("command")
}

// secretArgVar carries sensitive element i of a command to the script.
func secretArgVar(i int) string { return "LLMOPS_SECRET_ARG_" + strconv.Itoa(i) }

// spec builds the run's spec from the planned state and the prepared
// inputs. Sensitive values stay out of it: env variables holding one are
// left out, sensitive command elements read "(sensitive)" and are listed
// in SecretArgs (the script takes them from the environment).
func (k *jobKind) spec(m *meta, st sdk.Object, sens sdk.SensitivePaths, in *jobInputs, runID, identity string) (*jobSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	res, rd := resourcesOf(m, st)
	d = append(d, rd...)
	var extra map[string]string
	if k.kind == "dataset" { // a dataset's env is its transform's
		extra = nestedStringMap(st.Attr("transform"), "env")
	} else {
		extra = st.GetStringMap("env")
	}
	if err := jobs.CheckExtra(extra); err != nil {
		d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
	}
	in.env.Extra = extra
	env := in.env.Vars()
	delete(env, jobs.EnvRunID)
	delete(env, jobs.EnvOutputDir)
	secrets := k.secretsOf(st, sens)
	for k := range secrets {
		delete(env, k)
	}
	if err := checkEnv(env); err != nil {
		d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
	}
	argv := in.argv
	if argv == nil && st.Has("command") {
		argv = st.GetStrings("command")
	}
	argv = append([]string(nil), argv...)
	var secretArgs []int
	for i := range argv {
		if _, ok := secrets[secretArgVar(i)]; ok {
			argv[i] = scrub.Mask
			secretArgs = append(secretArgs, i)
		}
	}
	return &jobSpec{
		Kind: k.kind, RunID: runID, Identity: identity, Argv: argv, SecretArgs: secretArgs, WorkDir: m.jobDir, Env: env, BaseEnv: m.baseEnv,
		Collect: k.collect, Format: in.format, Res: res, Retry: retryOf(st),
	}, d
}

// poll is Read for a pending object: it follows the Slurm job and, when it
// ends, completes the object, retries it, or reports the failure.
func (k *jobKind) poll(ctx context.Context, m *meta, req *sdk.ReadRequest) *sdk.Response {
	r, n, jid, err := m.runForHandle(req.Pending.Handle)
	if err != nil {
		return sdk.ErrorResponse("Invalid job handle", err)
	}
	st := req.State
	spec, err := r.readSpec()
	if err != nil {
		st.SetString("status", jobs.StatusFailed)
		var d sdk.Diagnostics
		d.Errorf("The job is gone", "The run directory %s of Slurm job %s is gone or unreadable (%v): it was removed while the job was pending. The object is replaced on the next apply.", r.dir, jid, err)
		return &sdk.Response{State: st, Diagnostics: d}
	}
	ji, err := m.sched.Job(ctx, jid)
	state := ""
	switch {
	case errors.Is(err, errJobUnknown):
		state = k.stateFromManifest(r, n)
	case err != nil:
		// Slurm unreachable for now: keep waiting, the job is not lost.
		return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, req.Pending.Status, "cannot reach Slurm: "+clip(err.Error(), 200))}
	default:
		state = ji.State
		if p := classify(state); p != phaseQueued && !ji.Start.IsZero() && st.GetString("started_at") == "" {
			setTime(&st, "started_at", ji.Start)
		}
	}
	switch phase := classify(state); phase {
	case phaseQueued:
		msg := fmt.Sprintf("Slurm job %s pending", jid)
		if ji != nil && ji.Reason != "" && ji.Reason != "None" {
			msg += " (" + ji.Reason + ")"
		}
		return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, phaseQueued, msg)}
	case phaseRunning:
		return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, phaseRunning, progress(r, n, jid, ji))}
	case phaseDone:
		man, err := jobs.ReadManifest(r.manifestPath(n))
		if err != nil {
			if ji != nil && (ji.End.IsZero() || time.Since(ji.End) < 30*time.Second) {
				// The shared filesystem may show the file a moment later.
				return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, phaseRunning, "finishing")}
			}
			return k.failed(ctx, m, st, req.Sensitive, r, spec, n, jid, failFailed, "it completed without writing its manifest ("+err.Error()+")")
		}
		if !man.Succeeded() {
			return k.failed(ctx, m, st, req.Sensitive, r, spec, n, jid, failFailed, man.Reason)
		}
		return k.complete(ctx, m, st, &finishedJob{run: r, attempt: n, man: man})
	default:
		why := ""
		if ji != nil {
			why = exitText(ji)
		}
		if man, err := jobs.ReadManifest(r.manifestPath(n)); err == nil && man.Reason != "" && phase == failFailed {
			why = man.Reason
		}
		return k.failed(ctx, m, st, req.Sensitive, r, spec, n, jid, phase, why)
	}
}

// stateFromManifest is the job state when Slurm no longer knows the job.
func (k *jobKind) stateFromManifest(r *run, n int) string {
	man, err := jobs.ReadManifest(r.manifestPath(n))
	switch {
	case err != nil:
		return "FAILED"
	case man.Succeeded():
		return "COMPLETED"
	case man.Status == jobs.StatusCancelled:
		return "CANCELLED"
	}
	return "FAILED"
}

// failed handles a job that ended without success: a retry when the
// policy allows it, drift when it was cancelled from outside llmops, an
// error with the log's tail otherwise.
func (k *jobKind) failed(ctx context.Context, m *meta, st sdk.Object, sens sdk.SensitivePaths, r *run, spec *jobSpec, n int, jid, kind, why string) *sdk.Response {
	log := sdk.Logger(ctx)
	if spec.Retry.allows(kind, n) {
		resume := r.resumePoint(n + 1)
		newID, err := m.submitAttempt(ctx, r, spec, n+1, resume, k.secretsOf(st, sens))
		if err == nil {
			log.Info("job resubmitted", "after", kind, "attempt", n+1, "slurm_job", newID, "resume_from", resume)
			st = k.submitted(st, r, n+1, newID)
			msg := fmt.Sprintf("attempt %d of %d: Slurm job %s %s; resubmitted as job %s", n+1, spec.Retry.Attempts, jid, describeFailure(kind), newID)
			if resume != "" {
				msg += ", resuming from " + filepath.Base(resume)
			}
			return &sdk.Response{State: st, Pending: sdk.PendingState(handle(r, n+1, newID), phaseQueued, msg)}
		}
		why = fmt.Sprintf("%s; resubmitting it failed: %v", why, err)
	}
	st = done(st)
	st.SetString("status", kind)
	st.SetString("log_path", r.logPath(n))
	st.SetInt("attempts", int64(n))
	setTime(&st, "finished_at", time.Now())
	k.clear(&st)
	if kind == failCancelled {
		// Cancelled outside llmops (scancel by an admin): not an error of
		// the job. The object is recorded as it is, cancelled, and the next
		// plan replaces it (see ModifyPlan), so the change shows as drift.
		log.Warn("the Slurm job was cancelled outside llmops", "slurm_job", jid)
		return &sdk.Response{State: st}
	}
	var d sdk.Diagnostics
	// The summary says what happened in a few words (the engine puts the
	// object's address before it); the detail says where and how.
	summary := "The job " + describeFailure(kind)
	if why != "" {
		summary += " (" + strings.Replace(why, "exit status ", "exit ", 1) + ")"
	}
	detail := fmt.Sprintf("The %s job %s, Slurm job %s (attempt %d), ran %s in %s", k.kind, jobs.RunID(k.prefix, spec.Identity), jid, n, quoteArgv(spec.Argv), spec.WorkDir)
	if why != "" {
		detail += ": " + why
	}
	detail += "."
	if n > 1 || spec.Retry.Attempts > 1 {
		detail += fmt.Sprintf(" The retry policy (attempts = %d, on = [%s]) allows no further attempt.", spec.Retry.Attempts, strings.Join(spec.Retry.On, ", "))
	}
	scrubLog(r.logPath(n), sdk.Secrets(ctx))
	d.Errorf(summary, "%s%s", detail, logTail(r.logPath(n)))
	return &sdk.Response{State: st, Diagnostics: d}
}

// complete turns a successful job into the object's final state.
func (k *jobKind) complete(ctx context.Context, m *meta, st sdk.Object, f *finishedJob) *sdk.Response {
	st = done(st)
	st.SetString("status", jobs.StatusSucceeded)
	st.SetInt("attempts", int64(f.attempt))
	setTime(&st, "started_at", f.man.StartedAt)
	setTime(&st, "finished_at", f.man.FinishedAt)
	st.SetString("log_path", f.run.logPath(f.attempt))
	scrubLog(f.run.logPath(f.attempt), sdk.Secrets(ctx))
	if info, err := m.store.Put(f.run.logPath(f.attempt), artifacts.PutOptions{Private: true}); err == nil {
		st.SetString("log_path", info.Path)
	}
	d := k.finished(ctx, m, &st, f)
	return &sdk.Response{State: st, Diagnostics: d}
}

// read refreshes an object: a pending one follows its job; a finished one
// exists while its run directory and its stored outputs do.
func (k *jobKind) read(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	if req.Pending != nil {
		return k.poll(ctx, m, req)
	}
	if req.State.GetString("status") != jobs.StatusSucceeded {
		return nil
	}
	// A run exists while its directory does (destroy removes it) and its
	// outputs are in the store.
	if id := req.State.GetString("identity"); id != "" && !m.runFor(k.kind, id).exists() {
		return sdk.Gone()
	}
	for _, id := range k.stored(req.State) {
		if pid, err := artifacts.ParseID(id); err != nil || !m.store.Has(pid) {
			return sdk.Gone()
		}
	}
	return nil
}

// delete cancels the object's Slurm jobs (scancel or DELETE) and removes
// its run directory; stored outputs stay in the artifact store.
func (k *jobKind) delete(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m := metaOf(req.Meta)
	if id := req.Prior.GetString("identity"); id != "" {
		if err := m.removeRun(ctx, m.runFor(k.kind, id)); err != nil {
			return sdk.ErrorResponse("Cannot remove the job", err)
		}
	}
	if jid := req.Prior.GetString("job_id"); jid != "" {
		if err := m.cancelAndWait(ctx, jid); err != nil {
			return sdk.ErrorResponse("Cannot cancel the job", err)
		}
	}
	return nil
}

// modifyPlan is the planning shared by job kinds: the identity (and the
// run id) is known at plan time when the configuration is; an object whose
// job did not succeed (cancelled by an admin, failed) is replaced.
func (k *jobKind) modifyPlan(req *sdk.ModifyPlanRequest, planned *sdk.Object) []cty.Path {
	var replace []cty.Path
	if !req.IsCreate() {
		switch req.Prior.GetString("status") {
		case jobs.StatusSucceeded, phaseRunning, "":
		default:
			replace = append(replace, attr("status"))
		}
	}
	hasJob := k.kind != "dataset" || req.Config.IsSet("transform")
	if hasJob && (req.IsCreate() || len(replace) > 0) && req.Config.IsWhollyKnown() {
		if identity, err := k.identityOf(*planned); err == nil {
			planned.SetString("identity", identity)
			if !k.idIsArtifact {
				planned.SetString("id", jobs.RunID(k.prefix, identity))
			}
		}
	}
	return replace
}

// progress is the latest metrics line, else the latest log line.
func progress(r *run, n int, jid string, ji *jobInfo) string {
	where := ""
	if ji != nil && ji.Nodes != "" {
		where = " on " + ji.Nodes
	}
	if ji != nil && strings.HasPrefix(strings.ToUpper(ji.State), "COMPLETING") {
		// Slurm shows a job that ended (or was cancelled) as COMPLETING
		// until its node has cleaned up: say so rather than "running".
		return fmt.Sprintf("Slurm job %s is ending%s (COMPLETING)", jid, where)
	}
	if line, _, _ := jobs.LatestMetrics(filepath.Join(r.outputDir(n), jobs.MetricsLinesFile)); line != "" {
		return fmt.Sprintf("Slurm job %s%s: %s", jid, where, clip(line, 200))
	}
	if lines, _ := jobs.Tail(r.logPath(n), 1); len(lines) == 1 {
		return fmt.Sprintf("Slurm job %s%s: %s", jid, where, clip(strings.TrimSpace(lines[0]), 200))
	}
	return fmt.Sprintf("Slurm job %s running%s", jid, where)
}

func exitText(ji *jobInfo) string {
	switch {
	case ji.Signal != 0:
		return fmt.Sprintf("killed by signal %d", ji.Signal)
	case ji.ExitCode != 0:
		return fmt.Sprintf("exit status %d", ji.ExitCode)
	case ji.Reason != "" && ji.Reason != "None":
		return ji.Reason
	}
	return ""
}

// logTail renders the last lines of a job's log for an error's detail.
func logTail(path string) string {
	lines, err := jobs.Tail(path, 20)
	if err != nil || len(lines) == 0 {
		return fmt.Sprintf("\n\nThe job's log (%s) is empty.", path)
	}
	return fmt.Sprintf("\n\nLast lines of the job's log (%s):\n  %s", path, strings.Join(lines, "\n  "))
}
