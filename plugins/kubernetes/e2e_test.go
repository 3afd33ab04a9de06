package kubernetes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llmops/llmops/internal/testenv"
)

// End-to-end tests: the llmops CLI with the local and kubernetes provider
// binaries, against the test control plane (scripts/k8s-test-env.sh) and
// the S3 emulator (scripts/aws-test-env.sh) as the remote artifact store.
// kwok runs no container, so each test runs a kubelet (kubelet_test.go)
// that executes the pods' commands here, through the runner.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "llmops-k8s-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "./cmd/llmops", "./cmd/llmops-provider-local", "./cmd/llmops-provider-kubernetes")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building llmops: %v", buildErr)
	}
	return binDir
}

type e2e struct {
	t       *testing.T
	c       *cluster
	ns      string
	dir     string
	bin     string
	env     []string
	kubelet *kubelet
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	c := needCluster(t)
	aws := testenv.NeedAWS(t)
	if testing.Short() {
		t.Skip("builds llmops")
	}
	w := &e2e{t: t, c: c, bin: binaries(t), dir: t.TempDir()}
	w.ns = c.namespace(t)
	bucket := aws.NewBucket(t)
	w.env = testenv.Clean(append(aws.Env(), "LLMOPS_PLUGIN_PATH="+w.bin, "NO_COLOR=1", "KUBECONFIG="+c.kubeconfig,
		"LLMOPS_STATE_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")...)
	// The pods reach the same store: the kubelet gives them the emulator's
	// credentials, as a cluster would through a service account.
	w.kubelet = startKubelet(t, c.client, w.ns, aws.Env())
	// A failed test still destroys what it applied: deployments leave a
	// gateway process running on this host otherwise.
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(filepath.Join(w.bin, "llmops"), "destroy", "-auto-approve")
			cmd.Dir, cmd.Env = w.dir, w.env
			_ = cmd.Run()
		}
	})
	w.write("base/weights.txt", "base weights\n")
	w.write("main.llmops.hcl", fmt.Sprintf(`
artifacts {
  url        = "s3://%s/team"
  path_style = true
}

provider "kubernetes" {
  kubeconfig  = %q
  namespace   = %q
  image       = "ghcr.io/acme/train:1.4"
  runner_path = %q
}

model "base" {
  source = "file://base"
}
`, bucket, c.kubeconfig, w.ns, filepath.Join(w.bin, "llmops-provider-kubernetes")))
	return w
}

func (w *e2e) write(name, content string) {
	p := filepath.Join(w.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func (w *e2e) llmops(want int, args ...string) cliResult {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(w.bin, "llmops"), args...)
	cmd.Dir, cmd.Env = w.dir, w.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	started := time.Now()
	err := cmd.Run()
	w.t.Logf("llmops %s: %s", strings.Join(args, " "), time.Since(started).Round(100*time.Millisecond))
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("llmops %v: %v", args, err)
	}
	if want >= 0 && r.code != want {
		w.t.Fatalf("llmops %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// values returns `show -json`'s values of an object.
func (w *e2e) values(addr string) map[string]any {
	r := w.llmops(0, "show", "-json")
	var doc struct {
		Values struct {
			Resources []struct {
				Address string         `json:"address"`
				Values  map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		w.t.Fatalf("show -json: %v\n%s", err, r.stdout)
	}
	for _, o := range doc.Values.Resources {
		if o.Address == addr {
			return o.Values
		}
	}
	w.t.Fatalf("no %s in show -json:\n%s", addr, r.stdout)
	return nil
}

// train is a training run whose command copies the base model, adds a
// line, prints its rank variables and reports a loss.
func train(name, resources string) string {
	return fmt.Sprintf(`
training_run %q {
  provider   = kubernetes
  base_model = model.base.id
  command    = ["/bin/sh", "-c", "echo rank=$NODE_RANK world=$WORLD_SIZE master=$MASTER_ADDR:$MASTER_PORT; mkdir -p $LLMOPS_OUTPUT_DIR/model && cat $LLMOPS_BASE_MODEL_PATH/weights.txt > $LLMOPS_OUTPUT_DIR/model/weights.txt && echo tuned >> $LLMOPS_OUTPUT_DIR/model/weights.txt && echo '{\"loss\": 0.25}' > $LLMOPS_OUTPUT_DIR/metrics.json"]
  resources {
%s
  }
}
`, name, resources)
}

func (w *e2e) labelled() []string {
	m := &meta{client: w.c.client, namespace: w.ns}
	return m.labelled(context.Background(), w.ns, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
}

// A training run on one GPU: a Job with the GPU limit and the gpu_type's
// node selector, run through the runner (inputs fetched from S3, the model
// pushed there), its metrics and output model recorded. Then drift (the
// Job deleted with kubectl: the plan makes it again, apply repairs it),
// import (the object forgotten, then adopted by NAMESPACE/NAME: nothing to
// change), and destroy (no labelled object left).
func TestE2ETrainingRunOnOneGPU(t *testing.T) {
	w := newE2E(t)
	w.write("train.llmops.hcl", train("ft", `    gpus = 1
    gpu_type = "H100"
    max_duration = "1h"`))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	v := w.values("training_run.ft")
	if v["status"] != "succeeded" || !strings.HasPrefix(fmt.Sprint(v["output_model"]), "sha256:") {
		t.Fatalf("training_run.ft: %v", v)
	}
	if m, _ := v["metrics"].(map[string]any); fmt.Sprint(m["loss"]) != "0.25" {
		t.Fatalf("metrics: %v", v["metrics"])
	}
	ns, name, _ := strings.Cut(v["job_id"].(string), "/")
	job, err := w.c.client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	if q := pod.Containers[0].Resources.Limits[ResourceGPU]; q.Value() != 1 || pod.NodeSelector["nvidia.com/gpu.product"] != "NVIDIA-H100-80GB-HBM3" ||
		job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != 3600 || job.Labels[LabelManagedBy] != "llmops" || job.Labels[LabelID] != v["id"] {
		t.Fatalf("the Job: limits %v, node selector %v, deadline %v, labels %v", pod.Containers[0].Resources.Limits, pod.NodeSelector, job.Spec.ActiveDeadlineSeconds, job.Labels)
	}
	if job.Annotations[AnnotationAddress] != "training_run.ft" || job.Spec.Template.Annotations[AnnotationAddress] != "training_run.ft" {
		t.Fatalf("the Job and its pod template are not annotated %s=training_run.ft: %v, %v", AnnotationAddress, job.Annotations, job.Spec.Template.Annotations)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	// Drift: the Job relabelled with kubectl (kubectl label job NAME
	// llmops.io/id=other --overwrite) is no longer the object's.
	patchJob := func(patch string) {
		t.Helper()
		if _, err := w.c.client.BatchV1().Jobs(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patchJob(`{"metadata":{"labels":{"llmops.io/id":"edited"}}}`)
	if r := w.llmops(2, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "training_run.ft") {
		t.Fatalf("the plan after kubectl label job does not name training_run.ft:\n%s", r)
	}
	w.llmops(0, "apply", "-auto-approve")
	if j, err := w.c.client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil || j.Labels[LabelID] != v["id"] {
		t.Fatalf("apply did not repair the relabelled Job: %v %v", j.Labels, err)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	// Drift: the Job deleted with kubectl.
	fg := metav1.DeletePropagationForeground
	if err := w.c.client.BatchV1().Jobs(ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	poll(t, time.Minute, "the deleted Job to be gone", func() bool {
		_, err := w.c.client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err != nil
	})
	if r := w.llmops(2, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "training_run.ft") {
		t.Fatalf("the plan after kubectl delete job does not name training_run.ft:\n%s", r)
	}
	w.llmops(0, "apply", "-auto-approve")
	if _, err := w.c.client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
		t.Fatalf("apply did not make the Job again: %v", err)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	// Import: forget the object, take its address annotation off (kubectl
	// annotate job NAME llmops.io/address-), adopt the Job by
	// NAMESPACE/NAME: nothing to change, and the annotation is back.
	w.llmops(0, "state", "rm", "training_run.ft")
	patchJob(`{"metadata":{"annotations":{"llmops.io/address":null}}}`)
	w.llmops(0, "import", "training_run.ft", ns+"/"+name)
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("after import the plan is not empty:\n%s", r)
	}
	if j, err := w.c.client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil || j.Annotations[AnnotationAddress] != "training_run.ft" {
		t.Fatalf("import did not restore %s on the Job: %v %v", AnnotationAddress, j.Annotations, err)
	}

	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}

// Two nodes: an Indexed Job (completions = parallelism = 2) with a
// headless Service; each pod gets NODE_RANK (its completion index),
// WORLD_SIZE, MASTER_ADDR (pod 0's DNS name) and MASTER_PORT.
func TestE2EMultiNodeIndexedJob(t *testing.T) {
	w := newE2E(t)
	w.write("train.llmops.hcl", train("dist", "    gpus = 8\n    nodes = 2"))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	v := w.values("training_run.dist")
	_, name, _ := strings.Cut(v["job_id"].(string), "/")
	job, err := w.c.client.BatchV1().Jobs(w.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.Completions != 2 || *job.Spec.Parallelism != 2 || job.Spec.CompletionMode == nil || string(*job.Spec.CompletionMode) != "Indexed" || job.Spec.Template.Spec.Subdomain != name {
		t.Fatalf("the Job is not an Indexed Job of 2: %+v", job.Spec)
	}
	if svc, err := w.c.client.CoreV1().Services(w.ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless Service %s: %v %v", name, svc, err)
	}
	pods, err := w.c.client.CoreV1().Pods(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + name})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods of %s: %v %v", name, pods, err)
	}
	master := fmt.Sprintf("%s-0.%s.%s.svc", name, name, w.ns)
	nodes := map[string]bool{}
	for _, p := range pods.Items {
		idx := p.Annotations["batch.kubernetes.io/job-completion-index"]
		out, _ := w.kubelet.output(p.Name)
		want := fmt.Sprintf("rank=%s world=2 master=%s:%d", idx, master, MasterPort)
		if !strings.Contains(out, want) {
			t.Errorf("pod %s (index %s) printed %q, want %q", p.Name, idx, out, want)
		}
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) != 2 {
		t.Errorf("the two 8-GPU pods share a node: %v", nodes)
	}
	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}

// More GPUs than any node has: apply waits with the scheduler's own
// reason, and fails after queue_timeout with it; the Job is deleted.
func TestE2EUnschedulableReportsTheSchedulersReason(t *testing.T) {
	w := newE2E(t)
	w.write("train.llmops.hcl", strings.Replace(train("huge", "    gpus = 16"), "  resources {", "  kubernetes {\n    queue_timeout = \"15s\"\n  }\n  resources {", 1))
	w.llmops(0, "init")
	r := w.llmops(1, "apply", "-auto-approve")
	all := r.stdout + r.stderr
	if !strings.Contains(all, "Insufficient nvidia.com/gpu") || !strings.Contains(all, "queue_timeout") {
		t.Fatalf("apply does not report the scheduler's reason and the queue_timeout:\n%s", r)
	}
	poll(t, time.Minute, "the unschedulable Job to be deleted", func() bool {
		l, err := w.c.client.BatchV1().Jobs(w.ns).List(context.Background(), metav1.ListOptions{})
		return err == nil && len(l.Items) == 0
	})
}

// A deployment: each revision a Deployment and a Service, a stable
// Service whose selector the blue/green switch moves to revision 2 only
// once its pods are Ready, revision 1 deleted after; import by
// NAMESPACE/NAME of a Deployment; destroy leaves no labelled object.
// kwok marks the pods Ready (no server runs in them): the gateway on
// the llmops host is set up, but no request goes through it here.
func TestE2EDeploymentBlueGreen(t *testing.T) {
	w := newE2E(t)
	deploy := func(gen string) string {
		return fmt.Sprintf(`
deployment "d" {
  provider = kubernetes
  model    = model.base.id
  replicas = 2
  serve {
    command     = ["vllm", "serve", "{model_path}", "--port", "{port}"]
    env         = { GEN = %q }
    health_path = "/health"
  }
  access {
    public = true
  }
  resources {
    gpus = 1
  }
}
`, gen)
	}
	w.write("deploy.llmops.hcl", deploy("a"))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	v := w.values("deployment.d")
	id := v["id"].(string)
	ctx := context.Background()
	stable := func() map[string]string {
		svc, err := w.c.client.CoreV1().Services(w.ns).Get(ctx, "llmops-"+id, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the stable Service: %v", err)
		}
		return svc.Spec.Selector
	}
	r1 := "llmops-" + id + "-r1"
	d1, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, r1, metav1.GetOptions{})
	if err != nil || *d1.Spec.Replicas != 2 || d1.Status.ReadyReplicas != 2 {
		t.Fatalf("revision 1's Deployment: %v %v", d1, err)
	}
	if q := d1.Spec.Template.Spec.Containers[0].Resources.Limits[ResourceGPU]; q.Value() != 1 || d1.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path != "/health" {
		t.Fatalf("revision 1's pod template: %+v", d1.Spec.Template.Spec.Containers[0])
	}
	if sel := stable(); sel[LabelRevision] != "1" {
		t.Fatalf("the stable Service selects %v, want revision 1", sel)
	}
	for _, s := range []string{r1, "llmops-" + id} {
		svc, err := w.c.client.CoreV1().Services(w.ns).Get(ctx, s, metav1.GetOptions{})
		if err != nil || svc.Annotations[AnnotationAddress] != "deployment.d" {
			t.Fatalf("Service %s is not annotated %s=deployment.d: %v %v", s, AnnotationAddress, svc.Annotations, err)
		}
	}
	if d1.Annotations[AnnotationAddress] != "deployment.d" || d1.Spec.Template.Annotations[AnnotationAddress] != "deployment.d" {
		t.Fatalf("revision 1's Deployment and pod template are not annotated %s=deployment.d: %v, %v", AnnotationAddress, d1.Annotations, d1.Spec.Template.Annotations)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	// Drift: the Deployment relabelled with kubectl shows in the plan;
	// apply sets its labels back.
	if _, err := w.c.client.AppsV1().Deployments(w.ns).Patch(ctx, r1, types.MergePatchType, []byte(`{"metadata":{"labels":{"llmops.io/id":"edited"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := w.llmops(2, "plan", "-detailed-exitcode"); !strings.Contains(r.stdout, "deployment.d") {
		t.Fatalf("the plan after kubectl label deployment does not name deployment.d:\n%s", r)
	}
	w.llmops(0, "apply", "-auto-approve")
	if d, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, r1, metav1.GetOptions{}); err != nil || d.Labels[LabelID] != id || *d.Spec.Replicas != 2 {
		t.Fatalf("apply did not repair the relabelled Deployment: %v %v", d, err)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	w.write("deploy.llmops.hcl", deploy("b"))
	w.llmops(0, "apply", "-auto-approve")
	if v := w.values("deployment.d"); fmt.Sprint(v["revision"]) != "2" || v["status"] != "serving" {
		t.Fatalf("after the update: %v", v)
	}
	if sel := stable(); sel[LabelRevision] != "2" {
		t.Fatalf("the stable Service selects %v, want revision 2", sel)
	}
	poll(t, time.Minute, "revision 1's Deployment to be deleted", func() bool {
		_, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, r1, metav1.GetOptions{})
		return err != nil
	})
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		d2, err := w.c.client.AppsV1().Deployments(w.ns).Get(ctx, "llmops-"+id+"-r2", metav1.GetOptions{})
		t.Fatalf("after the update the plan is not empty (revision 2: %+v %v):\n%s", d2.Status, err, r)
	}
	w.llmops(0, "state", "rm", "deployment.d")
	w.llmops(0, "import", "deployment.d", w.ns+"/llmops-"+id+"-r2")
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("after import the plan is not empty:\n%s", r)
	}
	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}

// The retry block and the resume contract: the first attempt writes a
// checkpoint and fails; the runner pushes the checkpoint, and the second
// Job gets its id as LLMOPS_RESUME_FROM, which the runner fetches. Then
// an evaluation Job reads the trained model and passes its gate.
func TestE2ERetryResumesFromCheckpointThenEvaluation(t *testing.T) {
	w := newE2E(t)
	w.write("train.llmops.hcl", `
training_run "ft" {
  provider   = kubernetes
  base_model = model.base.id
  command    = ["/bin/sh", "-c", <<-EOT
    out=$LLMOPS_OUTPUT_DIR
    if [ -n "$LLMOPS_RESUME_FROM" ]; then
      mkdir -p $out/model && cat $LLMOPS_RESUME_FROM/step.txt > $out/model/w && echo '{"loss": 0.1}' > $out/metrics.json
    else
      mkdir -p $out/checkpoints/step-100 && echo step100 > $out/checkpoints/step-100/step.txt && echo preempted-ish >&2 && exit 3
    fi
  EOT
  ]
  retry {
    attempts = 2
    on       = ["failed"]
  }
}

evaluation "quality" {
  provider = kubernetes
  model    = training_run.ft.output_model
  command  = ["/bin/sh", "-c", "if [ \"$(cat $LLMOPS_MODEL_PATH/w)\" = step100 ]; then echo '{\"accuracy\": 0.9}'; else echo '{\"accuracy\": 0}'; fi > $LLMOPS_OUTPUT_DIR/metrics.json"]
  gate {
    metric = "accuracy"
    min    = 0.8
  }
}
`)
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	ft := w.values("training_run.ft")
	if ft["status"] != "succeeded" || fmt.Sprint(ft["attempts"]) != "2" || !strings.HasSuffix(fmt.Sprint(ft["job_id"]), "-2") {
		t.Fatalf("training_run.ft after a failed first attempt: %v", ft)
	}
	ev := w.values("evaluation.quality")
	if ev["passed"] != true || fmt.Sprint(ev["results"].(map[string]any)["accuracy"]) != "0.9" {
		t.Fatalf("evaluation.quality: %v", ev)
	}
	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}
