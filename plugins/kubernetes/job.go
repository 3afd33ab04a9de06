package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// Phases of a pending job.
const (
	phaseQueued  = "queued"
	phaseRunning = "running"
	// statusDeleted is recorded when the Job was deleted outside llmops
	// while it ran: the next plan replaces the object (drift).
	statusDeleted = "deleted"
	// statusUnschedulable: no pod could be placed within queue_timeout.
	statusUnschedulable = "unschedulable"
)

// AnnotationInputs holds the job's inputs (what its identity hashes, but
// the values of sensitive variables), so that import can set them.
const AnnotationInputs = "llmops.io/inputs"

// AnnotationBlocks holds the resources, kubernetes and retry blocks as
// configured, for import.
const AnnotationBlocks = "llmops.io/blocks"

var recordedBlocks = []string{"resources", "kubernetes", "retry"}

func blocksJSON(st sdk.Object) string {
	out := map[string]json.RawMessage{}
	for _, b := range recordedBlocks {
		v := st.Attr(b)
		if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
			continue
		}
		if raw, err := ctyjson.Marshal(v, v.Type()); err == nil {
			out[b] = raw
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func setBlocks(st *sdk.Object, annotation string) {
	var in map[string]json.RawMessage
	if json.Unmarshal([]byte(annotation), &in) != nil {
		return
	}
	for _, b := range recordedBlocks {
		cur := st.Attr(b)
		if raw, ok := in[b]; ok && cur != cty.NilVal {
			if v, err := ctyjson.Unmarshal(raw, cur.Type()); err == nil {
				st.Set(b, v)
			}
		}
	}
}

// jobName is the Job of an object's attempt.
func jobName(runID string, attempt int) string {
	return "llmops-" + runID + "-" + strconv.Itoa(attempt)
}

// handle is the pending handle "<namespace>/<job>/<attempt>".
func handle(ns, name string, attempt int) string {
	return ns + "/" + name + "/" + strconv.Itoa(attempt)
}

func parseHandle(h string) (ns, name string, attempt int, err error) {
	parts := strings.Split(h, "/")
	if len(parts) != 3 {
		return "", "", 0, fmt.Errorf("invalid job handle %q", h)
	}
	attempt, err = strconv.Atoi(parts[2])
	if err != nil || attempt < 1 {
		return "", "", 0, fmt.Errorf("invalid job handle %q", h)
	}
	return parts[0], parts[1], attempt, nil
}

func (k *jobKind) identityOf(st sdk.Object) (map[string]any, string, error) {
	in, err := k.identity(st)
	if err != nil {
		return nil, "", err
	}
	in["command"] = k.argvOf(st)
	in["env"] = k.envOf(st)
	id, err := jobs.Identity(k.kind, in)
	return in, id, err
}

func (k *jobKind) create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	inputs, identity, err := k.identityOf(st)
	if err != nil {
		return sdk.ErrorResponse("Cannot compute the job's identity", err)
	}
	runID := jobs.RunID(k.prefix, identity)
	st.SetString("identity", identity)
	if !k.idIsArtifact {
		st.SetString("id", runID)
	}
	st.SetString("namespace", m.namespace)
	if !m.remote.Enabled() {
		var d sdk.Diagnostics
		d.Errorf("The kubernetes provider needs a remote artifact store", "Pods do not see this machine's disk: they fetch their inputs from, and push their outputs to, a remote store. Add an artifacts block to the configuration, e.g. artifacts { url = \"s3://BUCKET/llmops\" } (see docs/artifacts.md).")
		return &sdk.Response{Diagnostics: d}
	}
	if resp := k.adopt(ctx, m, st, runID); resp != nil {
		return resp
	}
	return k.submit(ctx, m, st, req.Sensitive, inputs, attemptOf{runID: runID, identity: identity, n: 1, address: req.Address})
}

// adopt picks up a Job already made for this object (llmops killed
// between creating and recording it): a running one is waited for, a
// succeeded one reused; a failed one is deleted so the run starts again.
func (k *jobKind) adopt(ctx context.Context, m *meta, st sdk.Object, runID string) *sdk.Response {
	list, err := m.client.BatchV1().Jobs(m.namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelID + "=" + runID})
	if err != nil || len(list.Items) == 0 {
		return nil
	}
	var last *batchv1.Job
	n := 0
	for i := range list.Items {
		a, _ := strconv.Atoi(list.Items[i].Labels[LabelAttempt])
		if a > n {
			n, last = a, &list.Items[i]
		}
	}
	if last == nil || jobFailed(last) != "" || last.Annotations[AnnotationIdentity] != st.GetString("identity") {
		// Gone before the new attempt 1 takes the same name.
		_ = m.deleteObjects(ctx, runID, true)
		return nil
	}
	sdk.Logger(ctx).Info("adopted the Job already created for these inputs", "job", last.Name)
	st = k.submitted(st, last.Namespace, last.Name, n)
	return &sdk.Response{State: st, Pending: sdk.PendingState(handle(last.Namespace, last.Name, n), phaseQueued, "adopted Job "+last.Name)}
}

// attemptOf names one attempt of a job.
type attemptOf struct {
	runID, identity string
	n               int
	resume          string // a checkpoint id for LLMOPS_RESUME_FROM ("" for none)
	address         string // the object's address, for llmops.io/address
}

// submit creates attempt n: its Secret (sensitive variables), headless
// Service (nodes > 1) and Job.
func (k *jobKind) submit(ctx context.Context, m *meta, st sdk.Object, sens sdk.SensitivePaths, inputs map[string]any, a attemptOf) *sdk.Response {
	runID, identity, n, resume := a.runID, a.identity, a.n, a.resume
	e, d := k.prepare(ctx, m, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	req, rd := m.requestOf(st)
	d = append(d, rd...)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	e.Extra = k.envOf(st)
	e.Artifacts = m.remote.Env()
	e.StoreRoot = m.store.Root()
	e.RunID = runID
	if resume != "" {
		e.ResumeFrom = resume
	}
	env := map[string]string{}
	for k, v := range m.baseEnv {
		env[k] = v
	}
	for k, v := range e.Vars() {
		env[k] = v
	}
	delete(env, jobs.EnvOutputDir)
	env[EnvCollect] = k.collect
	if k.format != nil {
		env[EnvCollectFormat] = k.format(st)
	}
	secrets := map[string]string{}
	if k.secrets != nil {
		secrets = k.secrets(st)
	}
	for name, v := range k.envOf(st) {
		if sens.Covers(k.envAttrPath().IndexString(name)) {
			secrets[name] = v
		}
	}
	for i := range k.argvOf(st) {
		if sens.Covers(k.commandPath().IndexInt(i)) {
			d.AttrErrorf(k.commandPath().IndexInt(i), "Sensitive command element", "The kubernetes provider does not put secrets in a pod's command line (anyone who can read the Job sees it): pass the value through env, which goes into a Secret.")
			return &sdk.Response{Diagnostics: d}
		}
	}
	for name := range secrets {
		delete(env, name)
	}
	safe := map[string]any{}
	for key, v := range inputs {
		safe[key] = v
	}
	if ue, ok := safe["env"].(map[string]string); ok {
		clean := map[string]string{}
		for name, v := range ue {
			if _, secret := secrets[name]; !secret {
				clean[name] = v
			}
		}
		safe["env"] = clean
	}
	inJSON, _ := json.Marshal(safe)
	name := jobName(runID, n)
	p := &jobParams{Name: name, Namespace: m.namespace, ID: runID, Kind: k.kind, Identity: identity, Address: a.address, Attempt: n,
		Argv: k.argvOf(st), Env: env, Req: req, Runner: m.runnerPath, RunnerImg: m.runnerImage}
	if len(secrets) > 0 {
		p.Secret = name + "-env"
	}
	job, err := buildJob(p, m.gpuTypes)
	if err != nil {
		d.AttrErrorf(attr("resources").GetAttr("gpu_type"), "Unknown GPU type", "%v.", err)
		return &sdk.Response{Diagnostics: d}
	}
	job.Annotations[AnnotationInputs] = string(inJSON)
	job.Annotations[AnnotationBlocks] = blocksJSON(st)
	if err := m.createJob(ctx, p, job, secrets); err != nil {
		d.FromError(fmt.Sprintf("Cannot create the %s Job in namespace %s", k.kind, m.namespace), err)
		return &sdk.Response{Diagnostics: d}
	}
	st = k.submitted(st, m.namespace, name, n)
	sdk.Logger(ctx).Info("job created", "run", runID, "job", name, "namespace", m.namespace, "nodes", max(req.Nodes, 1), "gpus", req.GPUs)
	return &sdk.Response{State: st, Diagnostics: d, Pending: sdk.PendingState(handle(m.namespace, name, n), phaseQueued,
		fmt.Sprintf("created Job %s/%s", m.namespace, name))}
}

// submitted records a created attempt in the state.
func (k *jobKind) submitted(st sdk.Object, ns, name string, n int) sdk.Object {
	st.SetString("job_id", ns+"/"+name)
	st.SetString("status", phaseRunning)
	st.SetString("log_path", "kubectl logs -n "+ns+" job/"+name)
	st.SetInt("attempts", int64(n))
	if !st.Known("started_at") {
		st.SetNull("started_at")
	}
	st.SetNull("finished_at")
	k.clear(&st)
	return st
}

// poll follows a pending Job: the scheduler's reason while its pods wait
// (failing after queue_timeout), the runner's result once it completed,
// a retry or an error when it failed.
func (k *jobKind) poll(ctx context.Context, m *meta, req *sdk.ReadRequest) *sdk.Response {
	ns, name, n, err := parseHandle(req.Pending.Handle)
	if err != nil {
		return sdk.ErrorResponse("Invalid job handle", err)
	}
	st := req.State
	job, err := m.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// Deleted with kubectl while it ran: recorded as it is, and the
		// next plan replaces it (drift).
		sdk.Logger(ctx).Warn("the Job was deleted outside llmops", "job", name)
		st = done(st)
		st.SetString("status", statusDeleted)
		setTime(&st, "finished_at", time.Now())
		k.clear(&st)
		return &sdk.Response{State: st}
	case err != nil:
		return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, req.Pending.Status, "cannot reach the Kubernetes API: "+clip(err.Error(), 200))}
	}
	if job.Status.StartTime != nil && st.GetString("started_at") == "" {
		setTime(&st, "started_at", job.Status.StartTime.Time)
	}
	if jobSucceeded(job) {
		res, err := m.jobResult(ctx, job)
		if err != nil {
			return k.failed(ctx, m, st, req.Sensitive, job, n, "failed", err.Error(), "")
		}
		return k.complete(ctx, m, st, job, n, res)
	}
	if ending := jobFailed(job); ending != "" {
		why, checkpoint := m.failureOf(ctx, job)
		return k.failed(ctx, m, st, req.Sensitive, job, n, ending, why, checkpoint)
	}
	w := m.waiting(ctx, job)
	if w.unschedulable != "" {
		timeout := queueTimeout(job)
		if timeout > 0 && time.Since(w.since) > timeout {
			m.deleteJob(ctx, job)
			return k.failed(ctx, m, st, req.Sensitive, job, n, statusUnschedulable,
				fmt.Sprintf("its pods could not be scheduled for %s (queue_timeout): %s", timeout, w.unschedulable), "")
		}
		return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, phaseQueued, "Job "+name+" waits: "+w.unschedulable)}
	}
	if w.running > 0 {
		msg := fmt.Sprintf("Job %s: %d of %d pods running%s", name, w.running, w.pods, w.where)
		if line := m.progress(ctx, job); line != "" {
			msg += ": " + clip(line, 200)
		}
		return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, phaseRunning, msg)}
	}
	return &sdk.Response{State: st, Pending: sdk.PendingState(req.Pending.Handle, phaseQueued, "Job "+name+" pending")}
}

// failed handles a Job that ended without success: another attempt when
// the retry policy allows it, else an error with the reason.
func (k *jobKind) failed(ctx context.Context, m *meta, st sdk.Object, sens sdk.SensitivePaths, job *batchv1.Job, n int, ending, why, checkpoint string) *sdk.Response {
	pol := retryOf(st)
	if pol.allows(ending, n) {
		inputs, identity, err := k.identityOf(st)
		if err == nil {
			resume := checkpoint
			if resume == "" {
				resume = st.GetString("resume_from")
			}
			// The next attempt carries the address the failed one had
			// (a read, unlike an apply, is not told it).
			resp := k.submit(ctx, m, st, sens, inputs, attemptOf{runID: k.runIDOf(st), identity: identity, n: n + 1, resume: resume, address: job.Annotations[AnnotationAddress]})
			if !resp.Diagnostics.HasErrors() {
				sdk.Logger(ctx).Info("job resubmitted", "after", ending, "attempt", n+1, "resume_from", resume)
				resp.Pending.Message = fmt.Sprintf("attempt %d of %d: Job %s %s; created Job %s", n+1, pol.Attempts, job.Name, ending, jobName(k.runIDOf(st), n+1))
				return resp
			}
		}
	}
	st = done(st)
	st.SetString("status", ending)
	st.SetInt("attempts", int64(n))
	setTime(&st, "finished_at", time.Now())
	k.clear(&st)
	var d sdk.Diagnostics
	summary := "The job " + describe(ending)
	detail := fmt.Sprintf("The %s Job %s/%s (attempt %d) ran %q", k.kind, job.Namespace, job.Name, n, k.argvOf(st))
	if why != "" {
		detail += ": " + why
	}
	detail += "."
	if pol.Attempts > 1 {
		detail += fmt.Sprintf(" The retry policy (attempts = %d, on = [%s]) allows no further attempt.", pol.Attempts, strings.Join(pol.On, ", "))
	}
	d.Errorf(summary, "%s", detail)
	return &sdk.Response{State: st, Diagnostics: d}
}

func describe(ending string) string {
	switch ending {
	case "timeout":
		return "ran past max_duration (activeDeadlineSeconds)"
	case statusUnschedulable:
		return "could not be scheduled within queue_timeout"
	case "preempted":
		return "was preempted"
	case "node_fail":
		return "lost its node"
	case "oom":
		return "ran out of memory"
	}
	return "failed"
}

// complete turns a succeeded Job into the object's final state.
func (k *jobKind) complete(ctx context.Context, m *meta, st sdk.Object, job *batchv1.Job, n int, res *result) *sdk.Response {
	st = done(st)
	st.SetString("status", jobs.StatusSucceeded)
	st.SetInt("attempts", int64(n))
	setTime(&st, "started_at", res.Started)
	setTime(&st, "finished_at", res.Finished)
	if res.Metrics == nil && res.Outputs[jobs.MetricsFile] != "" {
		if p, err := m.store.ResolveContext(ctx, res.Outputs[jobs.MetricsFile]); err == nil {
			if b, err := readFile(p); err == nil {
				res.Metrics, _, _ = jobs.ParseMetrics(b)
			}
		}
	}
	d := k.finished(ctx, m, &st, res)
	if d.HasErrors() {
		st.SetString("status", jobs.StatusFailed)
	}
	return &sdk.Response{State: st, Diagnostics: d}
}

// read refreshes an object: a pending one follows its Job; a finished one
// exists while its Job does, unedited (deleted or relabelled with kubectl:
// gone, and the plan makes it again).
func (k *jobKind) read(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	if req.Pending != nil {
		return k.poll(ctx, m, req)
	}
	st := req.State
	if k.idIsArtifact && st.GetString("status") == jobs.StatusSucceeded {
		return k.readArtifact(ctx, m, st)
	}
	ns, name, ok := strings.Cut(st.GetString("job_id"), "/")
	if !ok {
		return nil
	}
	job, err := m.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if st.GetString("status") == jobs.StatusSucceeded || st.GetString("status") == phaseRunning {
			return sdk.Gone()
		}
		return nil
	case err != nil:
		return nil // the cluster unreachable: the state stands
	}
	if job.Labels[LabelID] != k.runIDOf(st) || job.Annotations[AnnotationIdentity] != st.GetString("identity") {
		return sdk.Gone()
	}
	if st.GetString("status") == "" || st.GetString("status") == phaseRunning {
		// Imported: follow the Job from here.
		n, _ := strconv.Atoi(job.Labels[LabelAttempt])
		return k.poll(ctx, m, &sdk.ReadRequest{State: st, Pending: sdk.PendingState(handle(ns, name, max(n, 1)), phaseRunning, ""), Sensitive: req.Sensitive})
	}
	return nil
}

// delete removes every Job, Service and Secret the object made (foreground
// propagation: pods first) and waits until they are gone.
func (k *jobKind) delete(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m := metaOf(req.Meta)
	id := k.runIDOf(req.Prior)
	if id == "" {
		return nil
	}
	ns := req.Prior.GetString("namespace")
	if ns == "" {
		ns = m.namespace
	}
	mm := *m
	mm.namespace = ns
	if err := mm.deleteObjects(ctx, id, true); err != nil {
		return sdk.ErrorResponse("Cannot delete the job", err)
	}
	return nil
}

// importJob adopts an existing Job by NAMESPACE/NAME.
func (k *jobKind) importJob(ctx context.Context, req *sdk.ImportRequest) *sdk.Response {
	m := metaOf(req.Meta)
	ns, name, ok := strings.Cut(req.ID, "/")
	if !ok || ns == "" || name == "" {
		return sdk.ErrorResponse("Invalid import id", fmt.Errorf("%q: import a Job as NAMESPACE/NAME, e.g. llm/llmops-train-0123456789abcdef-1", req.ID))
	}
	job, err := m.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return sdk.ErrorResponse("Cannot import the Job", fmt.Errorf("Job %s in namespace %s: %w", name, ns, err))
	}
	st := req.State
	id := job.Labels[LabelID]
	if id == "" {
		return sdk.ErrorResponse("Cannot import the Job", fmt.Errorf("Job %s/%s has no %s label: only Jobs made by llmops (or labelled like them, with the %s and %s annotations) can be imported", ns, name, LabelID, AnnotationIdentity, AnnotationInputs))
	}
	st.SetString("id", id)
	st.SetString("identity", job.Annotations[AnnotationIdentity])
	st.SetString("namespace", ns)
	st.SetString("job_id", ns+"/"+name)
	n, _ := strconv.Atoi(job.Labels[LabelAttempt])
	st.SetInt("attempts", int64(max(n, 1)))
	var in map[string]json.RawMessage
	if json.Unmarshal([]byte(job.Annotations[AnnotationInputs]), &in) == nil {
		k.imported(&st, in)
		var argv []string
		if json.Unmarshal(in["command"], &argv) == nil && len(argv) > 0 {
			st.Set("command", stringList(argv))
		}
		var env map[string]string
		if json.Unmarshal(in["env"], &env) == nil && len(env) > 0 {
			st.Set("env", stringMapVal(env))
		}
	}
	setBlocks(&st, job.Annotations[AnnotationBlocks])
	var d sdk.Diagnostics
	if err := m.annotateAddress(ctx, ns, id, req.Address); err != nil {
		d.Warnf("Cannot annotate the imported Job", "Setting %s=%s on the objects labelled %s=%s: %v. The import stands; the annotation only helps people find the object's address.", AnnotationAddress, req.Address, LabelID, id, err)
	}
	return &sdk.Response{State: st, Diagnostics: d}
}

// modifyPlan: the identity (and id) is known at plan time; an object whose
// Job did not succeed (deleted with kubectl, failed) is replaced.
func (k *jobKind) modifyPlan(req *sdk.ModifyPlanRequest, planned *sdk.Object) []cty.Path {
	var replace []cty.Path
	if !req.IsCreate() {
		switch req.Prior.GetString("status") {
		case jobs.StatusSucceeded, phaseRunning, "":
		default:
			replace = append(replace, attr("status"))
		}
	}
	if (req.IsCreate() || len(replace) > 0) && req.Config.IsWhollyKnown() {
		if _, identity, err := k.identityOf(*planned); err == nil {
			planned.SetString("identity", identity)
			if !k.idIsArtifact {
				planned.SetString("id", jobs.RunID(k.prefix, identity))
			}
		}
	}
	return replace
}

// readArtifact refreshes a finished object whose id is its output: it
// exists while the artifact does, in this machine's store or the remote
// one (the Job that made it may be gone: the artifact is the result).
func (k *jobKind) readArtifact(ctx context.Context, m *meta, st sdk.Object) *sdk.Response {
	id, err := artifacts.ParseID(st.GetString("id"))
	if err != nil || m.store.Has(id) {
		return nil
	}
	if r := m.store.Remote(); r != nil {
		if ok, err := r.Has(ctx, id); err != nil || ok {
			return nil // present, or the store unreachable: the state stands
		}
	}
	return sdk.Gone()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
