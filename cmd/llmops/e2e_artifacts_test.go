package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmops/llmops/internal/testenv"
)

// serveModel is a deployment's replica in these tests (the test binary
// run with LLMOPS_E2E_SERVE_MODEL=1 and the arguments MODEL_PATH PORT):
// GET /health answers 200, any other path the model's weights.txt.
func serveModel(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: MODEL_PATH PORT")
		return 2
	}
	model, port := args[0], args[1]
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		b, err := os.ReadFile(filepath.Join(model, "weights.txt"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(b)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

const sharedHCL = `
variable "gen" {
  default = "a"
}
variable "store" {}
variable "exe" {}

artifacts {
  url = var.store
%s}

model "m" {
  source = "file://models/${var.gen}"
}

deployment "d" {
  model = model.m.id
  serve {
    command     = [var.exe, "{model_path}", "{port}"]
    env         = { LLMOPS_E2E_SERVE_MODEL = "1" }
    health_path = "/health"
  }
  access {
    public = true
  }
}

output "endpoint" {
  value = deployment.d.endpoint
}
`

// Two machines (two working directories, each with its own empty local
// cache) share one state and one remote artifact store. The first applies
// model a, then model b. The second plans with an empty cache and sees no
// changes (it asks the remote store, and fetches nothing), then rolls the
// deployment back to model a, which it has never had: it is fetched by
// digest, and the deployment serves it.
//
// The local provider's deployments are processes on this host and keep
// their records in the cache directory's runs/; the second machine sees
// the first one's (a link), as two machines would see a deployment on a
// cluster they share. Its objects/, the cache proper, starts empty.
func TestE2ESharedRemoteStore(t *testing.T) {
	for _, kind := range []string{"dir", "s3", "oci"} {
		t.Run(kind, func(t *testing.T) {
			store, extra, env := remoteFor(t, kind)
			testSharedRemoteStore(t, store, extra, env)
		})
	}
}

func remoteFor(t *testing.T, kind string) (url, extra string, env []string) {
	switch kind {
	case "s3":
		a := testenv.NeedAWS(t)
		return "s3://" + a.NewBucket(t) + "/team", "  path_style = true\n", a.Env()
	case "oci":
		return testenv.NeedOCI(t).NewRepository(), "", nil
	}
	return t.TempDir(), "", nil
}

func testSharedRemoteStore(t *testing.T, store, extra string, env []string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"main.llmops.hcl":      fmt.Sprintf(sharedHCL, extra),
		"models/a/weights.txt": "model a",
		"models/a/config.json": `{"layers": 1}`,
		"models/b/weights.txt": "model b",
		"models/b/config.json": `{"layers": 1}`,
	}
	state := filepath.Join(t.TempDir(), "shared.db")
	vars := []string{"-state", state, "-var", "store=" + store, "-var", "exe=" + exe}
	one, two := newWorkspace(t, files), newWorkspace(t, files)
	one.env = append(one.env, env...)
	two.env = append(two.env, env...)
	defer func() { one.run(append([]string{"destroy", "-auto-approve"}, vars...)...) }()

	one.must(0, "init")
	one.must(0, append([]string{"apply", "-auto-approve"}, vars...)...)
	modelA := stateAttr(t, one, vars, "model.m", "id")
	one.must(0, append([]string{"apply", "-auto-approve", "-var", "gen=b"}, vars...)...)
	modelB := stateAttr(t, one, vars, "model.m", "id")
	if modelA == modelB || !strings.HasPrefix(modelA, "sha256:") {
		t.Fatalf("model ids %q, %q", modelA, modelB)
	}
	ep := strings.TrimSpace(one.must(0, append([]string{"output", "-raw", "endpoint"}, vars[:2]...)...).stdout)
	if got := get(t, ep+"/model"); got != "model b" {
		t.Fatalf("the deployment serves %q, want model b", got)
	}

	// The second machine: its cache is empty; the deployment's runtime is
	// the host's.
	cache := filepath.Join(two.dir, ".llmops", "artifacts")
	os.MkdirAll(cache, 0o755)
	if err := os.Symlink(filepath.Join(one.dir, ".llmops", "artifacts", "runs"), filepath.Join(cache, "runs")); err != nil {
		t.Fatal(err)
	}
	two.must(0, "init")
	r := two.must(0, append([]string{"plan", "-detailed-exitcode", "-var", "gen=b"}, vars...)...)
	if !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("plan on the second machine:\n%s", r)
	}
	objects := filepath.Join(cache, "objects", "sha256")
	if des, _ := os.ReadDir(objects); len(des) != 0 {
		t.Fatalf("plan fetched %d artifact(s) into the second machine's cache", len(des))
	}

	r = two.must(0, append([]string{"rollback", "deployment.d", "--previous", "-auto-approve", "-var", "gen=b"}, vars...)...)
	if !strings.Contains(r.stdout, "Rolled back") {
		t.Fatalf("rollback:\n%s", r)
	}
	if got := stateAttr(t, two, vars, "deployment.d", "model"); got != modelA {
		t.Fatalf("after the rollback the deployment's model is %s, want %s", got, modelA)
	}
	b, err := os.ReadFile(filepath.Join(objects, strings.TrimPrefix(modelA, "sha256:"), "weights.txt"))
	if err != nil || string(b) != "model a" {
		t.Fatalf("model a was not fetched into the second machine's cache: %q %v", b, err)
	}
	if got := get(t, ep+"/model"); got != "model a" {
		t.Fatalf("after the rollback the deployment serves %q, want model a", got)
	}
	// Cached now: used without the remote store.
	r = two.must(0, append([]string{"artifacts", "pull", modelA}, vars[2:]...)...)
	if !strings.Contains(r.stdout, "Already cached "+modelA) {
		t.Fatalf("pull of a cached model:\n%s", r)
	}
}

// stateAttr reads one attribute of an object from `state show`.
func stateAttr(t *testing.T, w *workspace, vars []string, addr, name string) string {
	t.Helper()
	r := w.must(0, append([]string{"state", "show", addr}, vars[:2]...)...)
	m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*"([^"]*)"`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("%s has no %s:\n%s", addr, name, r.stdout)
	}
	return m[1]
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
