package kubernetes

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/llmops/llmops/plugins/sdk"
)

// Labels and annotations on everything llmops creates.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "llmops"
	LabelID        = "llmops.io/id"
	LabelKind      = "llmops.io/kind"
	LabelAttempt   = "llmops.io/attempt"
	// AnnotationIdentity holds the job's input digest (sha256:...), too
	// long for a label value.
	AnnotationIdentity = "llmops.io/identity"
	// AnnotationAddress holds the object's address in the configuration
	// (training_run.ft), which is not a valid label value.
	AnnotationAddress = "llmops.io/address"
	// LabelQueue is Kueue's queue label.
	LabelQueue = "kueue.x-k8s.io/queue-name"
	// ResourceGPU is the NVIDIA device plugin's resource.
	ResourceGPU = corev1.ResourceName("nvidia.com/gpu")
	// MasterPort is the rendezvous port of multi-node jobs (MASTER_PORT).
	MasterPort = 29500
	// ContainerName is the job container's name.
	ContainerName = "job"
	// TerminationLog is where the runner writes its result; the kubelet
	// copies it into the container's terminated state.
	TerminationLog = "/dev/termination-log"
	// EnvResultFile names the file the runner writes its result to.
	EnvResultFile = "LLMOPS_RESULT_FILE"
)

// runnerMount is where an init container copies the runner from
// runner_image; runnerName is the runner's file name in both.
const (
	runnerMount = "/llmops"
	runnerName  = "llmops-provider-kubernetes"
)

// defaultGPUTypes is the documented gpu_type table (docs/kubernetes.md):
// the label NVIDIA's GPU feature discovery sets on each node. The provider
// block's gpu_types overrides it, type by type.
var defaultGPUTypes = map[string]map[string]string{
	"H100": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
	"H200": {"nvidia.com/gpu.product": "NVIDIA-H200"},
	"A100": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
	"L40S": {"nvidia.com/gpu.product": "NVIDIA-L40S"},
	"L4":   {"nvidia.com/gpu.product": "NVIDIA-L4"},
	"A10G": {"nvidia.com/gpu.product": "NVIDIA-A10G"},
	"T4":   {"nvidia.com/gpu.product": "Tesla-T4"},
}

// gpuTable is the built-in table with the provider's gpu_types over it;
// keys are upper-cased (gpu_type = "h100" is H100).
func gpuTable(c sdk.Object) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range defaultGPUTypes {
		out[k] = v
	}
	v := c.Attr("gpu_types")
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return out
	}
	for it := v.ElementIterator(); it.Next(); {
		k, sel := it.Element()
		labels := map[string]string{}
		for it2 := sel.ElementIterator(); it2.Next(); {
			lk, lv := it2.Element()
			labels[lk.AsString()] = lv.AsString()
		}
		out[strings.ToUpper(k.AsString())] = labels
	}
	return out
}

// jobRequest is what a job asks of the cluster, from the resources and
// kubernetes blocks.
type jobRequest struct {
	Image          string            `json:"image"`
	Nodes          int               `json:"nodes"`
	GPUs           int               `json:"gpus,omitempty"`
	GPUType        string            `json:"gpu_type,omitempty"`
	CPUs           int               `json:"cpus,omitempty"`
	MemoryMiB      int64             `json:"memory_mib,omitempty"`
	DeadlineSecs   int64             `json:"deadline_seconds,omitempty"`
	NodeSelector   map[string]string `json:"node_selector,omitempty"`
	Tolerations    []toleration      `json:"tolerations,omitempty"`
	PriorityClass  string            `json:"priority_class,omitempty"`
	Queue          string            `json:"queue,omitempty"`
	ServiceAccount string            `json:"service_account,omitempty"`
	QueueTimeout   int64             `json:"queue_timeout_seconds,omitempty"`
}

type toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// jobParams is one attempt of a job, ready to become a Job.
type jobParams struct {
	Name      string // the Job's (and for nodes > 1 the headless Service's) name
	Namespace string
	ID        string // the object's id (llmops.io/id)
	Kind      string
	Identity  string
	Address   string // the object's address (llmops.io/address); "" when unknown
	Attempt   int
	Argv      []string          // the user's command
	Env       map[string]string // the contract's and the user's variables
	Secret    string            // a Secret whose keys become variables ("" for none)
	Req       jobRequest
	Runner    string // the runner's path in the container
	RunnerImg string
}

func (p *jobParams) labels() map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelID: p.ID, LabelKind: strings.ReplaceAll(p.Kind, "_", "-"), LabelAttempt: strconv.Itoa(p.Attempt)}
}

// annotations are the annotations of everything made for the attempt:
// the object's address.
func (p *jobParams) annotations() map[string]string {
	return addressAnnotation(p.Address)
}

// addressAnnotation is {llmops.io/address: addr} (empty without one).
func addressAnnotation(addr string) map[string]string {
	a := map[string]string{}
	if addr != "" {
		a[AnnotationAddress] = addr
	}
	return a
}

// buildJob renders the Job of an attempt: the runner runs the user's
// command (runner mode of this binary); nodes > 1 is an Indexed Job whose
// pods find pod 0 through the headless Service of the same name.
func buildJob(p *jobParams, gpuTypes map[string]map[string]string) (*batchv1.Job, error) {
	r := p.Req
	nodes := int32(max(r.Nodes, 1))
	env := []corev1.EnvVar{}
	for _, k := range sortedKeys(p.Env) {
		env = append(env, corev1.EnvVar{Name: k, Value: p.Env[k]})
	}
	env = append(env, corev1.EnvVar{Name: EnvResultFile, Value: TerminationLog})
	if nodes > 1 {
		env = append(env,
			corev1.EnvVar{Name: "NODE_RANK", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
			corev1.EnvVar{Name: "WORLD_SIZE", Value: strconv.Itoa(int(nodes))},
			corev1.EnvVar{Name: "MASTER_ADDR", Value: fmt.Sprintf("%s-0.%s.%s.svc", p.Name, p.Name, p.Namespace)},
			corev1.EnvVar{Name: "MASTER_PORT", Value: strconv.Itoa(MasterPort)})
	}
	var envFrom []corev1.EnvFromSource
	if p.Secret != "" {
		envFrom = append(envFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: p.Secret}}})
	}
	limits := corev1.ResourceList{}
	requests := corev1.ResourceList{}
	if r.GPUs > 0 {
		limits[ResourceGPU] = *resource.NewQuantity(int64(r.GPUs), resource.DecimalSI)
	}
	if r.CPUs > 0 {
		requests[corev1.ResourceCPU] = *resource.NewQuantity(int64(r.CPUs), resource.DecimalSI)
	}
	if r.MemoryMiB > 0 {
		q := *resource.NewQuantity(r.MemoryMiB*1024*1024, resource.BinarySI)
		requests[corev1.ResourceMemory] = q
		limits[corev1.ResourceMemory] = q
	}
	selector := map[string]string{}
	if t := r.GPUType; t != "" && !strings.EqualFold(t, "any") {
		sel, ok := gpuTypes[strings.ToUpper(t)]
		if !ok {
			return nil, fmt.Errorf("gpu_type %q is not in the GPU type table (%s): add it to the provider's gpu_types, e.g. gpu_types = { %s = { \"nvidia.com/gpu.product\" = \"...\" } }", t, strings.Join(sortedKeys(gpuTypes), ", "), t)
		}
		for k, v := range sel {
			selector[k] = v
		}
	}
	for k, v := range r.NodeSelector {
		selector[k] = v
	}
	var tols []corev1.Toleration
	for _, t := range r.Tolerations {
		tols = append(tols, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	labels := p.labels()
	podLabels := p.labels()
	if r.Queue != "" {
		labels[LabelQueue] = r.Queue
	}
	command := append([]string{p.Runner, RunnerArg, "--"}, p.Argv...)
	c := corev1.Container{
		Name: ContainerName, Image: r.Image, Command: command, Env: env, EnvFrom: envFrom,
		Resources:                corev1.ResourceRequirements{Limits: limits, Requests: requests},
		TerminationMessagePath:   TerminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
	spec := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{c}, NodeSelector: selector, Tolerations: tols,
		PriorityClassName: r.PriorityClass, ServiceAccountName: r.ServiceAccount,
	}
	if p.RunnerImg != "" {
		spec.Volumes = []corev1.Volume{{Name: "llmops-runner", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		mount := []corev1.VolumeMount{{Name: "llmops-runner", MountPath: runnerMount}}
		spec.InitContainers = []corev1.Container{{Name: "llmops-runner", Image: p.RunnerImg,
			Command: []string{"/" + runnerName, CopyRunnerArg, runnerMount + "/" + runnerName}, VolumeMounts: mount}}
		spec.Containers[0].VolumeMounts = mount
	}
	backoff := int32(0) // retries are attempts, decided by the provider (retry block)
	jobAnn := p.annotations()
	jobAnn[AnnotationIdentity] = p.Identity
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: labels, Annotations: jobAnn},
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff,
			Template:     corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: p.annotations()}, Spec: spec},
		},
	}
	if r.DeadlineSecs > 0 {
		job.Spec.ActiveDeadlineSeconds = &r.DeadlineSecs
	}
	if nodes > 1 {
		mode := batchv1.IndexedCompletion
		job.Spec.CompletionMode = &mode
		job.Spec.Completions = &nodes
		job.Spec.Parallelism = &nodes
		job.Spec.Template.Spec.Subdomain = p.Name
	}
	return job, nil
}

// buildService is the headless Service of a multi-node job: pod i is
// <job>-<i>.<job>.<namespace>.svc.
func buildService(p *jobParams) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.labels(), Annotations: p.annotations()},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{"batch.kubernetes.io/job-name": p.Name},
			Ports:     []corev1.ServicePort{{Name: "rendezvous", Port: MasterPort, TargetPort: intstr.FromInt32(MasterPort)}},
			// Pods resolve each other before they are ready (rendezvous).
			PublishNotReadyAddresses: true,
		},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
