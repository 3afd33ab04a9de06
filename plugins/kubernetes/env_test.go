package kubernetes

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const howToRun = "the Kubernetes tests need the test control plane: scripts/k8s-test-env.sh start (then go test ./plugins/kubernetes/), or export LLMOPS_TEST_K8S_DIR and KUBECONFIG as it prints"

// cluster is the test control plane (scripts/k8s-test-env.sh).
type cluster struct {
	kubeconfig string
	client     k8s.Interface
}

// needCluster returns the running test control plane, or skips the test
// saying how to start it; LLMOPS_REQUIRE_SERVICES=1 makes its absence a
// failure. A developer's own KUBECONFIG is never used: only the one the
// script printed (with LLMOPS_TEST_K8S_DIR) or its env.sh.
func needCluster(t *testing.T) *cluster {
	t.Helper()
	kc := ""
	if os.Getenv("LLMOPS_TEST_K8S_DIR") != "" {
		kc = os.Getenv("KUBECONFIG")
	} else {
		home := os.Getenv("LLMOPS_TEST_K8S_HOME")
		if home == "" {
			home = "/tmp/llmops-k8s-test"
		}
		kc = readExport(filepath.Join(home, "env.sh"), "KUBECONFIG")
	}
	skip := func(why string) *cluster {
		if os.Getenv("LLMOPS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("LLMOPS_REQUIRE_SERVICES=1 and the Kubernetes test control plane is missing (%s): %s", why, howToRun)
		}
		t.Skipf("skipped (%s): %s", why, howToRun)
		return nil
	}
	if kc == "" {
		return skip("no KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		return skip(err.Error())
	}
	cfg.Timeout = 10 * time.Second
	cl, err := k8s.NewForConfig(cfg)
	if err != nil {
		return skip(err.Error())
	}
	if _, err := cl.Discovery().ServerVersion(); err != nil {
		return skip("the API server does not answer: " + err.Error())
	}
	return &cluster{kubeconfig: kc, client: cl}
}

// namespace makes a namespace of its own for the test (deleted after it)
// and waits for its default service account (pods need it).
func (c *cluster) namespace(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "llmops-e2e-" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("LLMOPS_TEST_KEEP") == "" || !t.Failed() {
			c.client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	})
	poll(t, time.Minute, "the default service account of namespace "+name, func() bool {
		_, err := c.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	return name
}

// poll calls cond until it holds; past the deadline the test fails naming
// what it waited for.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readExport(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return strings.Trim(v, `'"`)
		}
	}
	return ""
}
