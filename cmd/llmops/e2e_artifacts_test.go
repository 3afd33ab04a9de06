package main

import (
	"context"
	"encoding/json"
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
	"github.com/llmops/llmops/plugins/sdk/artifacts"
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

// llmops artifacts ls|push|pull|verify and gc with a remote store (a
// shared directory: no service needed).
func TestE2EArtifactsCommands(t *testing.T) {
	remoteDir := t.TempDir()
	w := newWorkspace(t, map[string]string{})
	cfg := func(id string) string {
		return `artifacts {
  url = "` + remoteDir + `"
}
resource "null_value" "m" {
  input = { model = "` + id + `" }
}
`
	}
	// Stored before the remote store was configured: local only.
	local, err := artifacts.Open(filepath.Join(w.dir, ".llmops", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := local.PutBytes([]byte("model weights, first version"))
	second, _ := local.PutBytes([]byte("model weights, second version"))
	stray, _ := local.PutBytes([]byte("never referenced"))
	w.write(map[string]string{"main.llmops.hcl": cfg(first.ID.String())})

	r := w.must(0, "artifacts", "ls")
	if strings.Count(r.stdout, "local only") != 3 || !strings.Contains(r.stdout, "caching "+remoteDir) {
		t.Fatalf("ls before push:\n%s", r.stdout)
	}
	r = w.must(0, "artifacts", "push")
	if !strings.Contains(r.stdout, "Pushed 3 artifact(s) to "+remoteDir+"; 0 were there already.") {
		t.Fatalf("push:\n%s", r.stdout)
	}
	r = w.must(0, "artifacts", "push", first.ID.String())
	if !strings.Contains(r.stdout, "Pushed 0 artifact(s)") {
		t.Fatalf("push again:\n%s", r.stdout)
	}
	r = w.must(0, "artifacts", "ls", "-json")
	var ls struct {
		Artifacts []struct {
			ID     string `json:"id"`
			Pushed bool   `json:"pushed"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil || len(ls.Artifacts) != 3 || !ls.Artifacts[0].Pushed {
		t.Fatalf("ls -json: %v\n%s", err, r.stdout)
	}
	r = w.must(0, "artifacts", "ls", "-remote")
	if !strings.Contains(r.stdout, "3 object(s) in "+remoteDir) {
		t.Fatalf("ls -remote:\n%s", r.stdout)
	}

	// A corrupt cached copy: verify finds it, -fix fetches it again.
	p := local.Path(second.ID)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("bit rot"), 0o644)
	r = w.must(1, "artifacts", "verify")
	if !strings.Contains(r.stdout, "corrupt: artifact "+second.ID.String()) || !strings.Contains(r.stdout, "1 corrupt") {
		t.Fatalf("verify:\n%s", r)
	}
	r = w.must(0, "artifacts", "verify", "-fix")
	if !strings.Contains(r.stdout, "fixed: "+second.ID.String()) {
		t.Fatalf("verify -fix:\n%s", r)
	}
	w.must(0, "artifacts", "verify", second.ID.String())

	// An empty cache pulls by digest, with transfer events in JSON.
	os.RemoveAll(filepath.Join(w.dir, ".llmops", "artifacts"))
	r = w.must(0, "artifacts", "pull", "-json", first.ID.String())
	if !strings.Contains(r.stdout, `"type":"transfer_complete"`) || !strings.Contains(r.stdout, `"bytes":28`) {
		t.Fatalf("pull -json:\n%s", r.stdout)
	}
	r = w.must(0, "artifacts", "pull", first.ID.String())
	if !strings.Contains(r.stdout, "Already cached "+first.ID.String()) {
		t.Fatalf("pull again:\n%s", r.stdout)
	}
	r = w.must(1, "artifacts", "pull", "sha256:"+strings.Repeat("0", 64))
	if !strings.Contains(r.stderr, remoteDir+": fetch sha256:") || !strings.Contains(r.stderr, "llmops artifacts push") {
		t.Fatalf("pull of an unknown digest:\n%s", r)
	}
	w.must(1, "artifacts", "pull", "not-a-digest")

	// gc --keep 1 removes, locally and remotely, what the newest version
	// does not reference; -dry-run only says so.
	w.must(0, "init")
	w.must(0, "apply", "-auto-approve")
	w.write(map[string]string{"main.llmops.hcl": cfg(second.ID.String())})
	w.must(0, "apply", "-auto-approve")
	r = w.must(0, "gc", "--keep", "1", "-dry-run", "-min-age", "0")
	if !strings.Contains(r.stdout, "would remove "+first.ID.String()+" from "+remoteDir) || !strings.Contains(r.stdout, "would remove "+stray.ID.String()+" from "+remoteDir) ||
		strings.Contains(r.stdout, second.ID.String()) {
		t.Fatalf("gc -dry-run:\n%s", r.stdout)
	}
	r = w.must(0, "gc", "--keep", "1", "-min-age", "0")
	if !strings.Contains(r.stdout, "Freed") || !strings.Contains(r.stdout, "in 2 object(s) of "+remoteDir) {
		t.Fatalf("gc:\n%s", r.stdout)
	}
	r = w.must(0, "artifacts", "ls", "-remote")
	if !strings.Contains(r.stdout, "1 object(s)") || !strings.Contains(r.stdout, second.ID.String()) {
		t.Fatalf("after gc:\n%s", r.stdout)
	}
}

// Configuration errors in the artifacts block are diagnostics with advice.
func TestE2EArtifactsBlockDiagnostics(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`url = "s3://team-llm/x"` + "\n  secret_key = \"abc\"", "llmops never reads credentials from configuration files"},
		{`url = "ftp://x/y"`, "is not a remote store"},
		{`endpoint = "http://minio:9000"`, "configures a remote store, but the block has no url"},
		{`url = "oci://registry.example.com/team/llmops"` + "\n  region = \"eu-west-1\"", "an oci:// store takes only the url"},
		{`url = "s3://b/x"` + "\n  endpoint = \"minio:9000\"", "is not an http:// or https:// URL"},
	} {
		w := newWorkspace(t, map[string]string{"main.llmops.hcl": "artifacts {\n  " + tc.body + "\n}\n"})
		r := w.must(1, "artifacts", "ls")
		if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "main.llmops.hcl:") || strings.Contains(r.stderr, `abc`) {
			t.Errorf("%s:\n%s", tc.body, r.stderr)
		}
	}
}
