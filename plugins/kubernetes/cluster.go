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
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llmops/llmops/plugins/sdk"
)

// AnnotationQueueTimeout keeps a Job's queue_timeout (seconds) on it.
const AnnotationQueueTimeout = "llmops.io/queue-timeout"

// createJob creates an attempt's Secret, headless Service and Job. The
// Secret and the Service are owned by the Job, so they go with it.
func (m *meta) createJob(ctx context.Context, p *jobParams, job *batchv1.Job, secrets map[string]string) error {
	if p.Req.QueueTimeout > 0 {
		job.Annotations[AnnotationQueueTimeout] = strconv.FormatInt(p.Req.QueueTimeout, 10)
	}
	created, err := m.client.BatchV1().Jobs(p.Namespace).Create(ctx, job, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A Job of this name that adopt did not find by its labels: one
		// relabelled with kubectl (drift). It is replaced.
		if err := m.replaceStray(ctx, p.Namespace, p.Name); err != nil {
			return err
		}
		created, err = m.client.BatchV1().Jobs(p.Namespace).Create(ctx, job, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(created, batchv1.SchemeGroupVersion.WithKind("Job"))}
	if len(secrets) > 0 {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: p.Secret, Namespace: p.Namespace, Labels: p.labels(), Annotations: p.annotations(), OwnerReferences: owner}, StringData: secrets}
		if _, err := m.client.CoreV1().Secrets(p.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			m.deleteJob(ctx, created)
			return fmt.Errorf("creating the Secret of the job's sensitive variables: %w", err)
		}
	}
	if p.Req.Nodes > 1 {
		svc := buildService(p)
		svc.OwnerReferences = owner
		if _, err := m.client.CoreV1().Services(p.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			m.deleteJob(ctx, created)
			return fmt.Errorf("creating the headless Service of the multi-node job: %w", err)
		}
	}
	return nil
}

var foreground = metav1.DeletePropagationForeground

// replaceStray deletes the Job of llmops' name whose labels were edited,
// and waits until it is gone (a minute at most).
func (m *meta) replaceStray(ctx context.Context, ns, name string) error {
	sdk.Logger(ctx).Warn("a Job of this name exists without the object's labels (edited with kubectl): replacing it", "job", name)
	jobs := m.client.BatchV1().Jobs(ns)
	if err := jobs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the relabelled Job %s/%s: %w", ns, name, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := jobs.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the relabelled Job %s/%s was still present a minute after its deletion", ns, name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// annotateAddress sets llmops.io/address=addr on the Jobs, Deployments,
// Services and Secrets labelled with the object's id (an import gives
// them their new address; a merge patch of the metadata only, so no pod
// is restarted and a Job's immutable template is left as it is).
func (m *meta) annotateAddress(ctx context.Context, ns, id, addr string) error {
	if addr == "" {
		return nil
	}
	sel := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelID + "=" + id}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationAddress: addr}}})
	var names []string
	var patchers []func(string) error
	if l, err := m.client.BatchV1().Jobs(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			names = append(names, o.Name)
			patchers = append(patchers, func(n string) error {
				_, err := m.client.BatchV1().Jobs(ns).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		}
	} else {
		return err
	}
	if l, err := m.client.AppsV1().Deployments(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			names = append(names, o.Name)
			patchers = append(patchers, func(n string) error {
				_, err := m.client.AppsV1().Deployments(ns).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		}
	}
	if l, err := m.client.CoreV1().Services(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			names = append(names, o.Name)
			patchers = append(patchers, func(n string) error {
				_, err := m.client.CoreV1().Services(ns).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		}
	}
	if l, err := m.client.CoreV1().Secrets(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			names = append(names, o.Name)
			patchers = append(patchers, func(n string) error {
				_, err := m.client.CoreV1().Secrets(ns).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		}
	}
	for i, p := range patchers {
		if err := p(names[i]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return nil
}

func (m *meta) deleteJob(ctx context.Context, job *batchv1.Job) {
	_ = m.client.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: &foreground})
}

// deleteObjects deletes every Job, Service and Secret labelled with the
// object's id (foreground: the pods go first); with wait, it returns once
// none is left (or after two minutes, with an error naming what is left).
func (m *meta) deleteObjects(ctx context.Context, id string, wait bool) error {
	sel := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelID + "=" + id}
	opts := metav1.DeleteOptions{PropagationPolicy: &foreground}
	ns := m.namespace
	if err := m.client.BatchV1().Jobs(ns).DeleteCollection(ctx, opts, sel); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err := m.client.AppsV1().Deployments(ns).DeleteCollection(ctx, opts, sel); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	svcs, err := m.client.CoreV1().Services(ns).List(ctx, sel)
	if err == nil {
		for _, s := range svcs.Items {
			_ = m.client.CoreV1().Services(ns).Delete(ctx, s.Name, opts)
		}
	}
	if err := m.client.CoreV1().Secrets(ns).DeleteCollection(ctx, opts, sel); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if !wait {
		return nil
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		left := m.labelled(ctx, ns, sel)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still present two minutes after deletion: %s", strings.Join(left, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// labelled lists the objects a selector matches (Jobs, pods, Services,
// Secrets), as kind/name.
func (m *meta) labelled(ctx context.Context, ns string, sel metav1.ListOptions) []string {
	var out []string
	if l, err := m.client.BatchV1().Jobs(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "job/"+o.Name)
		}
	}
	if l, err := m.client.AppsV1().Deployments(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "deployment/"+o.Name)
		}
	}
	if l, err := m.client.CoreV1().Pods(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "pod/"+o.Name)
		}
	}
	if l, err := m.client.CoreV1().Services(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "service/"+o.Name)
		}
	}
	if l, err := m.client.CoreV1().Secrets(ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			out = append(out, "secret/"+o.Name)
		}
	}
	return out
}

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func jobSucceeded(job *batchv1.Job) bool { return condition(job, batchv1.JobComplete) != nil }

// jobFailed names how a Job ended without success ("" while it has not):
// timeout (activeDeadlineSeconds), preempted (a pod disrupted), failed.
func jobFailed(job *batchv1.Job) string {
	c := condition(job, batchv1.JobFailed)
	if c == nil {
		return ""
	}
	switch c.Reason {
	case batchv1.JobReasonDeadlineExceeded:
		return "timeout"
	case batchv1.JobReasonPodFailurePolicy:
		return "preempted"
	}
	if strings.Contains(c.Message, "OOMKilled") {
		return "oom"
	}
	return "failed"
}

func (m *meta) pods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	l, err := m.client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job.Name})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// terminated returns a pod's job container's terminated state.
func terminated(p *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == ContainerName && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

// rankZero reports whether a pod is the job's first (index 0, or the only one).
func rankZero(p *corev1.Pod) bool {
	i, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	return !ok || i == "0"
}

// jobResult reads the runner's result from the terminated message of a
// succeeded Job's rank-0 pod.
func (m *meta) jobResult(ctx context.Context, job *batchv1.Job) (*result, error) {
	pods, err := m.pods(ctx, job)
	if err != nil {
		return nil, err
	}
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodSucceeded || !rankZero(p) {
			continue
		}
		t := terminated(p)
		if t == nil || t.Message == "" {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(t.Message), &res); err != nil {
			return nil, fmt.Errorf("pod %s's termination message is not the runner's result (%v): was the command run through the runner?", p.Name, err)
		}
		return &res, nil
	}
	return nil, fmt.Errorf("the Job completed but no succeeded pod of rank 0 left the runner's result in its termination message (was the pod deleted?)")
}

// failureOf says why a failed Job failed: the runner's reason and
// checkpoint from a failed pod's termination message, else the Job's
// condition.
func (m *meta) failureOf(ctx context.Context, job *batchv1.Job) (why, checkpoint string) {
	if c := condition(job, batchv1.JobFailed); c != nil {
		why = strings.TrimSpace(c.Reason + ": " + c.Message)
	}
	pods, _ := m.pods(ctx, job)
	for i := range pods {
		t := terminated(&pods[i])
		if t == nil || t.ExitCode == 0 {
			continue
		}
		var res result
		if json.Unmarshal([]byte(t.Message), &res) == nil {
			if res.Reason != "" {
				why = fmt.Sprintf("pod %s: %s", pods[i].Name, res.Reason)
			}
			if rankZero(&pods[i]) {
				checkpoint = res.Checkpoint
			}
		} else {
			why = fmt.Sprintf("pod %s: exit status %d (%s)", pods[i].Name, t.ExitCode, t.Reason)
		}
	}
	return why, checkpoint
}

// wait is what a running Job's pods are doing.
type wait struct {
	pods, running int
	// unschedulable is the scheduler's message for a pod it cannot place
	// ("0/3 nodes are available: 3 Insufficient nvidia.com/gpu."), since
	// when it has been so.
	unschedulable string
	since         time.Time
	where         string
}

func (m *meta) waiting(ctx context.Context, job *batchv1.Job) wait {
	w := wait{}
	pods, err := m.pods(ctx, job)
	if err != nil {
		return w
	}
	w.pods = len(pods)
	nodes := []string{}
	for _, p := range pods {
		switch p.Status.Phase {
		case corev1.PodRunning:
			w.running++
			nodes = append(nodes, p.Spec.NodeName)
		case corev1.PodPending:
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					w.unschedulable = c.Message
					w.since = p.CreationTimestamp.Time
				}
			}
		}
	}
	if len(nodes) > 0 {
		w.where = " on " + strings.Join(nodes, ", ")
	}
	return w
}

func queueTimeout(job *batchv1.Job) time.Duration {
	s, _ := strconv.ParseInt(job.Annotations[AnnotationQueueTimeout], 10, 64)
	return time.Duration(s) * time.Second
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

func stringList(s []string) cty.Value {
	if len(s) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(s))
	for i, x := range s {
		vals[i] = cty.StringVal(x)
	}
	return cty.ListVal(vals)
}

func stringMapVal(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := map[string]cty.Value{}
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

// progress is the latest metrics.jsonl line the runner of the rank-0 pod
// echoed to its log ("" when the log cannot be read: no kubelet, or no
// line yet).
func (m *meta) progress(ctx context.Context, job *batchv1.Job) string {
	pods, err := m.pods(ctx, job)
	if err != nil {
		return ""
	}
	tail := int64(200)
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodRunning || !rankZero(p) {
			continue
		}
		b, err := m.client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ContainerName, TailLines: &tail}).DoRaw(ctx)
		if err != nil {
			return ""
		}
		return lastProgress(string(b))
	}
	return ""
}

// lastProgress finds the last progress line in a log.
func lastProgress(log string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), ProgressPrefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
