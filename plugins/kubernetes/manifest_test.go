package kubernetes

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

// What the resources and kubernetes blocks become in the Job.
func TestBuildJob(t *testing.T) {
	table := defaultGPUTypes
	override := map[string]map[string]string{"H100": {"cloud.example/accelerator": "h100-sxm"}}
	for k, v := range defaultGPUTypes {
		if _, ok := override[k]; !ok {
			override[k] = v
		}
	}
	cases := []struct {
		name  string
		req   jobRequest
		types map[string]map[string]string
		check func(t *testing.T, p *jobParams, c corev1.Container, spec corev1.PodSpec)
		err   string
	}{
		{name: "one GPU of a type", req: jobRequest{Image: "img", GPUs: 1, GPUType: "h100", DeadlineSecs: 3600}, types: table,
			check: func(t *testing.T, _ *jobParams, c corev1.Container, spec corev1.PodSpec) {
				if q := c.Resources.Limits[ResourceGPU]; q.Value() != 1 {
					t.Errorf("GPU limit %v", c.Resources.Limits)
				}
				if spec.NodeSelector["nvidia.com/gpu.product"] != "NVIDIA-H100-80GB-HBM3" {
					t.Errorf("node selector %v", spec.NodeSelector)
				}
				if _, multi := envOf(c)["NODE_RANK"]; multi || spec.Subdomain != "" {
					t.Errorf("a one-node job has rank variables or a subdomain")
				}
			}},
		{name: "gpu_types overrides the table", req: jobRequest{Image: "img", GPUs: 2, GPUType: "H100"}, types: override,
			check: func(t *testing.T, _ *jobParams, _ corev1.Container, spec corev1.PodSpec) {
				if spec.NodeSelector["cloud.example/accelerator"] != "h100-sxm" || len(spec.NodeSelector) != 1 {
					t.Errorf("node selector %v", spec.NodeSelector)
				}
			}},
		{name: "any type selects none", req: jobRequest{Image: "img", GPUs: 1, GPUType: "any"}, types: table,
			check: func(t *testing.T, _ *jobParams, _ corev1.Container, spec corev1.PodSpec) {
				if len(spec.NodeSelector) != 0 {
					t.Errorf("node selector %v", spec.NodeSelector)
				}
			}},
		{name: "unknown type", req: jobRequest{Image: "img", GPUs: 1, GPUType: "B200"}, types: table, err: `gpu_type "B200" is not in the GPU type table`},
		{name: "two nodes", req: jobRequest{Image: "img", GPUs: 8, Nodes: 2, Queue: "team-a", PriorityClass: "training",
			Tolerations: []toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}}, types: table,
			check: func(t *testing.T, p *jobParams, c corev1.Container, spec corev1.PodSpec) {
				env := envOf(c)
				if env["WORLD_SIZE"].Value != "2" || env["MASTER_PORT"].Value != "29500" || env["MASTER_ADDR"].Value != "j-0.j.ns.svc" ||
					env["NODE_RANK"].ValueFrom == nil || !strings.Contains(env["NODE_RANK"].ValueFrom.FieldRef.FieldPath, "job-completion-index") {
					t.Errorf("rank variables %v", env)
				}
				if spec.Subdomain != "j" || spec.PriorityClassName != "training" || len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != "Exists" {
					t.Errorf("pod spec %+v", spec)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &jobParams{Name: "j", Namespace: "ns", ID: "train-1", Kind: "training_run", Identity: "sha256:x", Attempt: 1,
				Argv: []string{"python3", "train.py"}, Env: map[string]string{"LLMOPS_RUN_ID": "train-1"}, Req: tc.req, Runner: "/r"}
			job, err := buildJob(p, tc.types)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := job.Spec.Template.Spec.Containers[0]
			if strings.Join(c.Command, " ") != "/r "+RunnerArg+" -- python3 train.py" || *job.Spec.BackoffLimit != 0 {
				t.Errorf("command %v, backoff %d", c.Command, *job.Spec.BackoffLimit)
			}
			if job.Labels[LabelManagedBy] != "llmops" || job.Labels[LabelID] != "train-1" || job.Spec.Template.Labels[LabelID] != "train-1" {
				t.Errorf("labels %v", job.Labels)
			}
			if tc.req.Queue != "" && job.Labels[LabelQueue] != tc.req.Queue {
				t.Errorf("no Kueue label: %v", job.Labels)
			}
			if tc.req.DeadlineSecs > 0 && (job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != tc.req.DeadlineSecs) {
				t.Errorf("activeDeadlineSeconds %v", job.Spec.ActiveDeadlineSeconds)
			}
			if n := int32(max(tc.req.Nodes, 1)); n > 1 && (job.Spec.Completions == nil || *job.Spec.Completions != n || *job.Spec.Parallelism != n) {
				t.Errorf("completions/parallelism for %d nodes: %+v", n, job.Spec)
			}
			tc.check(t, p, c, job.Spec.Template.Spec)
		})
	}
}

// The address annotation is on the Job, its pod template and the headless
// Service; without an address there is none (not an empty value).
func TestAddressAnnotation(t *testing.T) {
	for _, addr := range []string{`module.a.training_run.ft["eu"]`, ""} {
		p := &jobParams{Name: "llmops-train-1-1", Namespace: "llm", ID: "train-1", Kind: "training_run", Identity: "sha256:00", Address: addr, Attempt: 1,
			Req: jobRequest{Image: "img", Nodes: 2}, Runner: "/r"}
		job, err := buildJob(p, defaultGPUTypes)
		if err != nil {
			t.Fatal(err)
		}
		svc := buildService(p)
		for what, ann := range map[string]map[string]string{"job": job.Annotations, "pod template": job.Spec.Template.Annotations, "service": svc.Annotations} {
			got, ok := ann[AnnotationAddress]
			if got != addr || ok != (addr != "") {
				t.Errorf("address %q: the %s's %s is %q (present %v)", addr, what, AnnotationAddress, got, ok)
			}
		}
		if job.Annotations[AnnotationIdentity] != "sha256:00" {
			t.Errorf("the identity annotation is lost: %v", job.Annotations)
		}
	}
}
