package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/serving"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// GatewayArg runs a deployment's gateway on the llmops host
// (`llmops-provider-kubernetes __llmops_gateway DIR`).
const GatewayArg = gateway.Arg

// Gateway runs a deployment's gateway process and returns its exit code.
func Gateway(args []string) int { return gateway.Main(args) }

// LabelRevision labels a revision's Deployment and pods.
const LabelRevision = "llmops.io/revision"

// modelMount is where an init container (the runner, FetchArg) puts the
// served model in each pod.
const modelMount = "/llmops-model"

const defaultServePort = 8000

// A Kubernetes deployment is served by package serving; this backend runs
// each revision as a Deployment (replicas = the revision's replica count)
// and a Service of its own, and keeps a stable Service whose selector
// follows the revision the gateway routes to (Switched): blue/green
// switches it once the new revision's pods are Ready. Replica i of a
// revision is the Deployment's i-th ready pod; its URL is the revision's
// Service.
type k8sSpec struct {
	Namespace string     `json:"namespace"`
	Req       jobRequest `json:"request"`
	Port      int        `json:"container_port"`
	// Config keeps the kubernetes and resources blocks, for import.
	Config json.RawMessage `json:"config,omitempty"`
}

type k8sReplica struct {
	Deployment string `json:"deployment"`
	Namespace  string `json:"namespace"`
}

type (
	kRecord  = serving.Record[k8sSpec, k8sReplica]
	kSpec    = serving.Spec[k8sSpec]
	kReplica = serving.Replica[k8sReplica]
)

var deployments = serving.Resource[k8sSpec, k8sReplica]{
	Backend: func(meta any) serving.Backend[k8sSpec, k8sReplica] { return deployBackend{metaOf(meta)} },
}

var deployConfigAttrs = []string{"resources", "kubernetes", "container_port"}

func deploymentResource() *sdk.Resource {
	b := kindsdk.Block(schema.Deployment, sdk.Block{Attributes: sdk.Attributes{
		"host": sdk.Attr(cty.String).Optional().Computed().ForceNew().UseStateForUnknown().
			Description("The address the gateway listens on, on the llmops host (default `127.0.0.1`)."),
		"port": sdk.Attr(cty.Number).Optional().Computed().ForceNew().UseStateForUnknown().
			Description("The gateway's port; by default a free port is chosen at creation."),
		"container_port": sdk.Attr(cty.Number).Optional().Description("The port the serve command listens on in its container ({port}; default 8000)."),
		"service":        sdk.Attr(cty.String).Computed().Description("The stable Service (NAMESPACE/NAME) whose selector follows the serving revision."),
		"backends":       sdk.Attr(cty.List(cty.String)).Computed().Description("Where the gateway sends requests: the serving revision's Service."),
	}})
	b.Blocks["kubernetes"] = jobBlock(schema.TrainingRun, nil).Blocks["kubernetes"]
	return &sdk.Resource{
		Schema: b,
		Validate: func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
			return serving.Validate("kubernetes", `["vllm", "serve", "{model_path}", "--host", "0.0.0.0", "--port", "{port}"] (each replica is a pod)`, req.Config)
		},
		ModifyPlan: serving.Plan(serving.PlanOptions{
			RolloutAttrs: []string{"model", "resources", "kubernetes", "container_port"},
			Unknown: func(planned *sdk.Object, _ sdk.Object, rollout, repair bool) {
				if rollout || repair {
					planned.SetUnknown("backends")
				}
			},
		}),
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			return deployments.Create(withAddress(ctx, req.Address), req)
		},
		Read: deployments.Read,
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return deployments.Update(withAddress(ctx, req.Address), req)
		},
		Delete: deployments.Delete,
		Import: importDeployment,
	}
}

// importDeployment adopts a deployment by its id (dep-...) or by one of
// its Deployments, NAMESPACE/NAME (the llmops.io/id label names it).
func importDeployment(ctx context.Context, req *sdk.ImportRequest) *sdk.Response {
	if ns, name, ok := strings.Cut(req.ID, "/"); ok {
		m := metaOf(req.Meta)
		d, err := m.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return sdk.ErrorResponse("Cannot import the Deployment", fmt.Errorf("Deployment %s in namespace %s: %w", name, ns, err))
		}
		if d.Labels[LabelID] == "" {
			return sdk.ErrorResponse("Cannot import the Deployment", fmt.Errorf("Deployment %s/%s has no %s label: it was not made by llmops", ns, name, LabelID))
		}
		r := *req
		r.ID = d.Labels[LabelID]
		return annotateImported(ctx, m, ns, r.ID, req.Address, deployments.Import(ctx, &r))
	}
	m := metaOf(req.Meta)
	return annotateImported(ctx, m, m.namespace, req.ID, req.Address, deployments.Import(ctx, req))
}

// annotateImported sets the address an imported deployment now has on
// its objects (a warning when it cannot).
func annotateImported(ctx context.Context, m *meta, ns, id, addr string, resp *sdk.Response) *sdk.Response {
	if resp == nil || resp.Diagnostics.HasErrors() {
		return resp
	}
	if err := m.annotateAddress(ctx, ns, id, addr); err != nil {
		resp.Diagnostics.Warnf("Cannot annotate the imported deployment", "Setting %s=%s on the objects labelled %s=%s: %v. The import stands.", AnnotationAddress, addr, LabelID, id, err)
	}
	return resp
}

type addressKey struct{}

// withAddress carries the object's address to the backend, which
// annotates what it makes with it (llmops.io/address).
func withAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addressKey{}, addr)
}

func addressOf(ctx context.Context) string {
	s, _ := ctx.Value(addressKey{}).(string)
	return s
}

type deployBackend struct{ m *meta }

func (b deployBackend) Site() serving.Site {
	exe, _ := os.Executable()
	// The gateway runs on the llmops host: a retrieval block's index (built
	// by an embedding_index on any provider) is read from this host's
	// store, fetched from the remote one when needed, and questions are
	// embedded here with the index's command, as for local deployments.
	return serving.Site{Provider: "kubernetes", StoreRoot: b.m.store.Root(), Exe: exe, GatewayEnv: jobs.Passthrough(os.Environ(), nil),
		Resolve: func(id string) (string, error) { return b.m.store.ResolveContext(context.Background(), id) }, WorkDir: b.m.workDir}
}

// Spec resolves a revision: the model is pushed to the remote store (the
// pods fetch it), the request comes from the resources and kubernetes
// blocks.
func (b deployBackend) Spec(ctx context.Context, st sdk.Object) (*kSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	m := b.m
	if !m.remote.Enabled() {
		d.Errorf("The kubernetes provider needs a remote artifact store", "Pods fetch the model from a remote store: add artifacts { url = \"s3://BUCKET/llmops\" } to the configuration.")
		return nil, d
	}
	id := st.GetString("model")
	if _, err := m.input(ctx, id); err != nil {
		d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as training_run.ft.output_model.", err)
		return nil, d
	}
	pid, _ := artifacts.ParseID(id)
	serve := st.Attr("serve")
	spec := &kSpec{SpecBase: serving.SpecBase{
		Model: id, ModelPath: modelMount + "/llmops-cache/objects/sha256/" + pid.Hex(), Command: nestedStrings(serve, "command"),
		Env: nestedStringMap(serve, "env"), HealthPath: nestedString(serve, "health_path"), HealthTimeout: nestedString(serve, "health_timeout"), Replicas: 1,
	}, Ext: k8sSpec{Namespace: m.namespace, Port: defaultServePort}}
	if st.IsSet("replicas") {
		spec.Replicas, spec.ReplicasSet = int(st.GetInt("replicas")), true
	}
	if st.IsSet("container_port") {
		spec.Ext.Port = int(st.GetInt("container_port"))
	}
	req, rd := m.requestOf(st)
	d = append(d, rd...)
	req.Nodes = 1
	spec.Ext.Req = req
	keep := map[string]cty.Value{}
	for _, a := range deployConfigAttrs {
		keep[a] = st.Attr(a)
	}
	if raw, err := ctyjson.Marshal(cty.ObjectVal(keep), cty.ObjectVal(keep).Type()); err == nil {
		spec.Ext.Config = raw
	}
	return spec, d
}

func (deployBackend) SameRevision(a, b k8sSpec) bool {
	ja, _ := json.Marshal(a.Req)
	jb, _ := json.Marshal(b.Req)
	return string(ja) == string(jb) && a.Port == b.Port && a.Namespace == b.Namespace
}

func (deployBackend) Settle(dst *k8sSpec, src k8sSpec) { dst.Config = src.Config }

func revisionName(id string, rev int64) string {
	return "llmops-" + id + "-r" + strconv.FormatInt(rev, 10)
}

func (b deployBackend) Start(ctx context.Context, r *kRecord, spec *kSpec, rev int64, index int) (kReplica, error) {
	name, ns := revisionName(r.ID, rev), spec.Ext.Namespace
	// The id is unique per start: a repair starts a replica of the same
	// index in the same Deployment while the broken one is stopped.
	x := kReplica{ReplicaBase: serving.ReplicaBase{Index: index, Revision: rev, ID: fmt.Sprintf("%s/%s/%d/%d", ns, name, index, time.Now().UnixNano()),
		URL: fmt.Sprintf("http://%s.%s.svc:%d", name, ns, spec.Ext.Port)}, Ext: k8sReplica{Deployment: name, Namespace: ns}}
	apps := b.m.client.AppsV1().Deployments(ns)
	cur, err := apps.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		dep, err := b.m.buildDeployment(r, spec, rev, index+1, addressOf(ctx))
		if err != nil {
			return kReplica{}, err
		}
		if _, err := apps.Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			return kReplica{}, fmt.Errorf("creating Deployment %s/%s: %w", ns, name, err)
		}
		svc := revisionService(r.ID, rev, name, ns, spec.Ext.Port, addressOf(ctx))
		if _, err := b.m.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return x, fmt.Errorf("creating Service %s/%s: %w", ns, name, err)
		}
	case err != nil:
		return kReplica{}, err
	case !ours(cur.Labels, r.ID, rev):
		// Relabelled with kubectl (drift): the labels are set back.
		if err := b.m.relabel(ctx, ns, name, deployLabels(r.ID, rev, name), index+1); err != nil {
			return x, fmt.Errorf("restoring the labels of Deployment %s/%s: %w", ns, name, err)
		}
	case cur.Spec.Replicas == nil || int(*cur.Spec.Replicas) < index+1:
		if err := b.m.scale(ctx, ns, name, index+1); err != nil {
			return x, fmt.Errorf("scaling Deployment %s/%s: %w", ns, name, err)
		}
	}
	sdk.Logger(ctx).Info("replica started", "deployment", r.ID, "revision", rev, "replica", index, "k8s_deployment", name)
	return x, nil
}

// Wait waits until the revision's Deployment has index+1 Ready pods (their
// readiness probe is the health path), reporting the scheduler's reason
// when a pod cannot be placed.
func (b deployBackend) Wait(ctx context.Context, _ *kRecord, spec *kSpec, x *kReplica) error {
	deadline := time.Now().Add(spec.HealthTimeoutOrDefault())
	why := ""
	for {
		d, err := b.m.client.AppsV1().Deployments(x.Ext.Namespace).Get(ctx, x.Ext.Deployment, metav1.GetOptions{})
		if err == nil && int(d.Status.ReadyReplicas) > x.Index {
			return nil
		}
		if err == nil {
			why = b.m.podTrouble(ctx, x.Ext.Namespace, x.Ext.Deployment)
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("replica %d of Deployment %s/%s was not Ready within serve.health_timeout (%s)", x.Index, x.Ext.Namespace, x.Ext.Deployment, spec.HealthTimeoutOrDefault())
			if why != "" {
				msg += ": " + why
			}
			return fmt.Errorf("%s", msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// podTrouble is the scheduler's message for an unschedulable pod of a
// revision ("" when none).
func (m *meta) podTrouble(ctx context.Context, ns, name string) string {
	pods, err := m.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRevisionName + "=" + name})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return c.Message
			}
		}
	}
	return ""
}

// Up: the Deployment has the replica Ready and still carries llmops'
// labels (one relabelled with kubectl is drift, repaired by Start). A
// Deployment's pods are interchangeable: the replica is up when the
// Deployment has more Ready pods than the record keeps replicas of it
// before this one (in the middle of a rolling update, the previous
// revision keeps its higher indices only).
func (b deployBackend) Up(ctx context.Context, r *kRecord, x *kReplica) bool {
	d, err := b.m.client.AppsV1().Deployments(x.Ext.Namespace).Get(ctx, x.Ext.Deployment, metav1.GetOptions{})
	return err == nil && int(d.Status.ReadyReplicas) > rank(r, x) && ours(d.Labels, r.ID, x.Revision)
}

// rank counts the record's replicas in x's Deployment with a lower index.
func rank(r *kRecord, x *kReplica) int {
	n := 0
	seen := map[int]bool{}
	for _, y := range r.Replicas {
		if y.Ext.Deployment == x.Ext.Deployment && y.Index < x.Index && !seen[y.Index] {
			seen[y.Index] = true
			n++
		}
	}
	return n
}

// ours reports whether a revision's Deployment carries the labels llmops
// gave it.
func ours(labels map[string]string, id string, rev int64) bool {
	for k, v := range deployLabels(id, rev, revisionName(id, rev)) {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// relabel sets a Deployment's labels back and its replicas to at least n.
func (m *meta) relabel(ctx context.Context, ns, name string, labels map[string]string, n int) error {
	cur, err := m.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	repl := max(n, int(ptrOr(cur.Spec.Replicas, 0)))
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}, "spec": map[string]any{"replicas": repl}})
	_, err = m.client.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Stop scales each revision's Deployment down to the number of replicas
// the record keeps of it (a rolling update takes the previous revision
// down one replica at a time), deleting it and its Service (foreground)
// when none is left.
func (b deployBackend) Stop(ctx context.Context, r *kRecord, reps []kReplica, _ bool) {
	stopping := map[string]bool{}
	byDep := map[string]kReplica{}
	var waits []stopWait
	for _, x := range reps {
		stopping[x.ID] = true
		byDep[x.Ext.Deployment] = x
	}
	for name, x := range byDep {
		kept := map[int]bool{}
		for _, y := range r.Replicas {
			if y.Ext.Deployment == name && !stopping[y.ID] {
				kept[y.Index] = true
			}
		}
		keep := len(kept)
		apps := b.m.client.AppsV1().Deployments(x.Ext.Namespace)
		if keep > 0 {
			_ = b.m.scale(ctx, x.Ext.Namespace, name, keep)
		} else {
			_ = apps.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &foreground})
			_ = b.m.client.CoreV1().Services(x.Ext.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
		}
		waits = append(waits, stopWait{ns: x.Ext.Namespace, name: name, keep: keep})
	}
	// Stopped means gone (the Backend contract): recreate starts the new
	// revision only once the old one's pods have ended.
	for _, w := range waits {
		if err := b.m.waitPods(ctx, w.ns, w.name, w.keep, stopTimeout); err != nil {
			sdk.Logger(ctx).Warn("replicas not stopped yet", "deployment", w.name, "error", err)
		}
	}
}

// stopTimeout bounds Stop's wait for a revision's pods to end.
const stopTimeout = 2 * time.Minute

type stopWait struct {
	ns, name string
	keep     int
}

// waitPods waits until the revision's Deployment has at most keep pods
// (and, for keep 0, is gone itself).
func (m *meta) waitPods(ctx context.Context, ns, name string, keep int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pods, err := m.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRevisionName + "=" + name})
		n := -1
		if err == nil {
			n = len(pods.Items)
		}
		gone := keep > 0
		if !gone {
			_, err := m.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			gone = apierrors.IsNotFound(err)
		}
		if n >= 0 && n <= keep && gone {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Deployment %s/%s still has %d pods (want %d) after %s", ns, name, n, keep, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// scale sets a Deployment's replica count (a merge patch: no conflict
// with the controllers updating its status).
func (m *meta) scale(ctx context.Context, ns, name string, n int) error {
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	_, err := m.client.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func (deployBackend) LogTail(x *kReplica) string {
	return fmt.Sprintf("\n\nThe replica's log: kubectl logs -n %s deployment/%s", x.Ext.Namespace, x.Ext.Deployment)
}

func (deployBackend) State(st *sdk.Object, r *kRecord) {
	var backends []string
	seen := map[string]bool{}
	for _, x := range r.Current() {
		if !seen[x.URL] {
			seen[x.URL] = true
			backends = append(backends, x.URL)
		}
	}
	st.Set("backends", serving.StringList(backends))
	st.SetString("service", r.Spec.Ext.Namespace+"/"+stableName(r.ID))
}

func (deployBackend) Import(st *sdk.Object, r *kRecord) {
	if len(r.Spec.Ext.Config) == 0 {
		return
	}
	ty := map[string]cty.Type{}
	for _, a := range deployConfigAttrs {
		ty[a] = st.Attr(a).Type()
	}
	if v, err := ctyjson.Unmarshal(r.Spec.Ext.Config, cty.Object(ty)); err == nil {
		for a := range ty {
			st.Set(a, v.GetAttr(a))
		}
	}
}

// Cleanup deletes what is left labelled with the deployment's id (the
// stable Service, revisions' objects).
func (b deployBackend) Cleanup(r *kRecord) error {
	mm := *b.m
	if r.Spec.Ext.Namespace != "" {
		mm.namespace = r.Spec.Ext.Namespace
	}
	return mm.deleteObjects(context.Background(), r.ID, true)
}

// Switched points the stable Service at the revision the gateway routes
// to (both revisions' pods in the middle of a rolling update).
func (b deployBackend) Switched(ctx context.Context, r *kRecord) error {
	ns := r.Spec.Ext.Namespace
	revs := map[int64]bool{}
	for _, x := range r.Replicas {
		if x.Routed {
			revs[x.Revision] = true
		}
	}
	sel := map[string]string{LabelID: r.ID}
	switch len(revs) {
	case 0:
		// Nothing is routed (recreate, between the old revision's stop
		// and the new one's start): the Service selects no pod rather
		// than pods the gateway does not send to.
		sel[LabelRevision] = noRevision
	case 1:
		for rev := range revs {
			sel[LabelRevision] = strconv.FormatInt(rev, 10)
		}
	}
	svcs := b.m.client.CoreV1().Services(ns)
	name := stableName(r.ID)
	cur, err := svcs.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		svc := revisionService(r.ID, 0, name, ns, r.Spec.Ext.Port, addressOf(ctx))
		svc.Spec.Selector = sel
		_, err = svcs.Create(ctx, svc, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	cur.Spec.Selector = sel
	if a := addressOf(ctx); a != "" && cur.Annotations[AnnotationAddress] != a {
		cur.Annotations = mergeMap(cur.Annotations, addressAnnotation(a))
	}
	_, err = svcs.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

func stableName(id string) string { return "llmops-" + id }

// noRevision is the stable Service's revision selector while no revision
// is routed: revisions count from 1, so it selects no pod.
const noRevision = "0"

// LabelRevisionName labels a revision's pods with their Deployment's name.
const LabelRevisionName = "llmops.io/revision-name"

func deployLabels(id string, rev int64, name string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelID: id, LabelKind: "deployment"}
	if rev > 0 {
		l[LabelRevision] = strconv.FormatInt(rev, 10)
		l[LabelRevisionName] = name
	}
	return l
}

func revisionService(id string, rev int64, name, ns string, port int, addr string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: deployLabels(id, rev, name), Annotations: addressAnnotation(addr)},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{LabelID: id, LabelRevision: strconv.FormatInt(rev, 10)},
			Ports:    []corev1.ServicePort{{Name: "http", Port: int32(port), TargetPort: intstr.FromInt32(int32(port))}},
		},
	}
}

// buildDeployment renders a revision: an init container (the runner)
// fetches the model from the remote store into an emptyDir; the serve
// container runs the command with {model_path} and {port} substituted,
// its readiness probe on the health path.
func (m *meta) buildDeployment(r *kRecord, spec *kSpec, rev int64, replicas int, addr string) (*appsv1.Deployment, error) {
	name, ns := revisionName(r.ID, rev), spec.Ext.Namespace
	p := &jobParams{Name: name, Namespace: ns, ID: r.ID, Kind: schema.Deployment, Attempt: int(rev), Address: addr, Req: spec.Ext.Req, Runner: m.runnerPath, RunnerImg: m.runnerImage}
	job, err := buildJob(p, m.gpuTypes)
	if err != nil {
		return nil, err
	}
	pod := job.Spec.Template.Spec
	pod.RestartPolicy = corev1.RestartPolicyAlways
	port := strconv.Itoa(spec.Ext.Port)
	argv := make([]string, len(spec.Command))
	for i, a := range spec.Command {
		argv[i] = strings.NewReplacer("{model_path}", spec.ModelPath, "{port}", port).Replace(a)
	}
	env := []corev1.EnvVar{{Name: jobs.EnvModelPath, Value: spec.ModelPath}}
	for _, k := range sortedKeys(spec.Env) {
		env = append(env, corev1.EnvVar{Name: k, Value: spec.Env[k]})
	}
	mount := corev1.VolumeMount{Name: "llmops-model", MountPath: modelMount}
	c := &pod.Containers[0]
	c.Name, c.Command, c.Env, c.EnvFrom = "serve", argv, env, nil
	c.VolumeMounts = append(c.VolumeMounts, mount)
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: int32(spec.Ext.Port)}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: spec.HealthPathOrDefault(), Port: intstr.FromInt32(int32(spec.Ext.Port))}}, PeriodSeconds: 5}
	fetchEnv := []corev1.EnvVar{{Name: EnvRunnerDir, Value: modelMount}}
	for k, v := range m.remote.Env() {
		fetchEnv = append(fetchEnv, corev1.EnvVar{Name: k, Value: v})
	}
	fetch := corev1.Container{Name: "llmops-fetch-model", Image: c.Image, Command: []string{m.runnerPath, FetchArg, spec.Model}, Env: fetchEnv,
		VolumeMounts: append([]corev1.VolumeMount{mount}, c.VolumeMounts[:len(c.VolumeMounts)-1]...)}
	pod.InitContainers = append(pod.InitContainers, fetch)
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "llmops-model", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	labels := deployLabels(r.ID, rev, name)
	n := int32(replicas)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: p.annotations()},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelID: r.ID, LabelRevision: labels[LabelRevision]}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: p.annotations()}, Spec: pod},
		},
	}, nil
}

// mergeMap returns a with b's entries set (a may be nil).
func mergeMap(a, b map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}
