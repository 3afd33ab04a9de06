package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
)

// kubelet stands in for the kubelets of the test cluster's fake nodes:
// kwok places pods on nodes and marks them Running, but runs no
// container. For each Running pod of the namespace, the kubelet takes the
// job container's command and environment from the Pod the provider
// created (resolving fieldRef and Secret variables as a kubelet does),
// runs it as a local process with the result file pointed at a file of
// its own, then writes the pod's status: Succeeded or Failed, with the
// container's exit code and the result as its termination message. The
// Job controller then completes (or fails) the Job.
type kubelet struct {
	t      *testing.T
	client k8s.Interface
	ns     string
	extra  []string // more environment (the S3 emulator's credentials)
	dir    string

	mu   sync.Mutex
	ran  map[string]string // pod name -> its output
	stop chan struct{}
	done chan struct{}
}

func startKubelet(t *testing.T, client k8s.Interface, ns string, extra []string) *kubelet {
	k := &kubelet{t: t, client: client, ns: ns, extra: extra, dir: t.TempDir(), ran: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go k.loop()
	t.Cleanup(func() { close(k.stop); <-k.done })
	return k
}

// output returns what the pod's command printed ("" when it did not run).
func (k *kubelet) output(pod string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.ran[pod]
	return s, ok
}

func (k *kubelet) loop() {
	defer close(k.done)
	for {
		select {
		case <-k.stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		pods, err := k.client.CoreV1().Pods(k.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			continue
		}
		var wg sync.WaitGroup
		for i := range pods.Items {
			p := pods.Items[i]
			k.mu.Lock()
			_, seen := k.ran[p.Name]
			k.mu.Unlock()
			if seen || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			k.mu.Lock()
			k.ran[p.Name] = ""
			k.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); k.run(&p) }()
		}
		wg.Wait()
	}
}

func (k *kubelet) run(p *corev1.Pod) {
	ctx := context.Background()
	var c *corev1.Container
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == ContainerName {
			c = &p.Spec.Containers[i]
		}
	}
	if c == nil {
		return
	}
	dir := filepath.Join(k.dir, p.Name)
	os.MkdirAll(dir, 0o755)
	resultFile := filepath.Join(dir, "termination-log")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, EnvRunnerDir + "=" + dir}
	env = append(env, k.extra...)
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		s, err := k.client.CoreV1().Secrets(p.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			k.t.Logf("kubelet: pod %s: secret %s: %v", p.Name, from.SecretRef.Name, err)
			continue
		}
		for name, v := range s.Data {
			env = append(env, name+"="+string(v))
		}
	}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			v = fieldValue(p, e.ValueFrom.FieldRef.FieldPath)
		}
		if e.Name == EnvResultFile {
			v = resultFile
		}
		env = append(env, e.Name+"="+v)
	}
	var out bytes.Buffer
	cmd := exec.Command(c.Command[0], append(c.Command[1:], c.Args...)...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, &out, &out
	started := time.Now()
	err := cmd.Run()
	code := int32(0)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = int32(ee.ExitCode())
	} else if err != nil {
		code = 127
		out.WriteString(err.Error())
	}
	msg, _ := os.ReadFile(resultFile)
	k.mu.Lock()
	k.ran[p.Name] = out.String()
	k.mu.Unlock()
	phase, reason := corev1.PodSucceeded, "Completed"
	if code != 0 {
		phase, reason = corev1.PodFailed, "Error"
	}
	for attempt := 0; attempt < 20; attempt++ {
		cur, err := k.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return
		}
		cur.Status.Phase = phase
		now := metav1.Now()
		for i := range cur.Status.ContainerStatuses {
			cs := &cur.Status.ContainerStatuses[i]
			if cs.Name != ContainerName {
				continue
			}
			cs.Ready = false
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: code, Reason: reason, Message: string(msg), StartedAt: metav1.NewTime(started), FinishedAt: now}}
		}
		for i := range cur.Status.Conditions {
			if cur.Status.Conditions[i].Type == corev1.PodReady || cur.Status.Conditions[i].Type == corev1.ContainersReady {
				cur.Status.Conditions[i].Status = corev1.ConditionFalse
			}
		}
		if _, err = k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.t.Logf("kubelet: could not write pod %s's status", p.Name)
}

// fieldValue resolves a fieldRef the way the kubelet does, for the paths
// the provider uses.
func fieldValue(p *corev1.Pod, path string) string {
	if a, ok := strings.CutPrefix(path, "metadata.annotations['"); ok {
		return p.Annotations[strings.TrimSuffix(a, "']")]
	}
	if l, ok := strings.CutPrefix(path, "metadata.labels['"); ok {
		return p.Labels[strings.TrimSuffix(l, "']")]
	}
	switch path {
	case "metadata.name":
		return p.Name
	case "metadata.namespace":
		return p.Namespace
	case "spec.nodeName":
		return p.Spec.NodeName
	}
	return ""
}
