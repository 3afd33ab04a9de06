package slurm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/llmops/llmops/internal/testenv"
)

// End-to-end tests: the llmops CLI with the local and slurm provider
// binaries, against the test cluster.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

// binaries builds llmops and the two providers once per test binary.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "llmops-slurm-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "./cmd/llmops", "./cmd/llmops-provider-local", "./cmd/llmops-provider-slurm")
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
	t   *testing.T
	env *slurmEnv
	dir string
	bin string
}

// newE2E makes a configuration directory under the shared directory (jobs
// run in it as the job user).
func newE2E(t *testing.T) *e2e {
	t.Helper()
	env := needSlurm(t)
	if testing.Short() {
		t.Skip("builds llmops")
	}
	w := &e2e{t: t, env: env, bin: binaries(t)}
	dir, err := os.MkdirTemp(env.Shared, "e2e-"+t.Name()+"-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() {
		if !t.Failed() || os.Getenv("LLMOPS_TEST_KEEP") == "" {
			os.RemoveAll(dir)
		}
	})
	w.dir = dir
	return w
}

func (w *e2e) providerBlock(extra string) string {
	return fmt.Sprintf(`
provider "slurm" {
  url        = %q
  user       = %q
  token_file = %q
  shared_dir = %q
  partition  = %q
%s}
`, w.env.URL, w.env.User, w.env.TokenFile, w.env.Shared, w.env.Partition, extra)
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
	took           time.Duration
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d after %s\n--- stdout\n%s\n--- stderr\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

func (w *e2e) llmops(want int, args ...string) cliResult {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(w.bin, "llmops"), args...)
	cmd.Dir = w.dir
	// A fixed test state key (the quickstart stores sensitive values) and
	// the quickstart deployment's API key.
	cmd.Env = testenv.Clean("LLMOPS_PLUGIN_PATH="+w.bin, "NO_COLOR=1",
		"LLMOPS_STATE_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "LLMOPS_VAR_api_key=sk-slurm-e2e-test")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("llmops %v: %v", args, err)
	}
	if want >= 0 && r.code != want {
		w.t.Fatalf("llmops %s: want exit %d, got %s%s", strings.Join(args, " "), want, r, w.lastLog(args[0]))
	}
	w.t.Logf("llmops %s: exit %d in %s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

// lastLog returns the end of llmops' own log of the last run of a command.
func (w *e2e) lastLog(command string) string {
	logs, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "logs", "*-"+command+".log"))
	if len(logs) == 0 {
		return ""
	}
	b, _ := os.ReadFile(logs[len(logs)-1])
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return "\n--- " + logs[len(logs)-1] + "\n" + string(b)
}

// resources returns `show -json`'s objects by address.
func (w *e2e) resources() map[string]map[string]any {
	r := w.llmops(0, "show", "-json")
	var doc struct {
		Values struct {
			Resources []struct {
				Address string         `json:"address"`
				Status  string         `json:"status"`
				Values  map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		w.t.Fatalf("show -json: %v\n%s", err, r.stdout)
	}
	out := map[string]map[string]any{}
	for _, o := range doc.Values.Resources {
		o.Values["_status"] = o.Status
		out[o.Address] = o.Values
	}
	return out
}

// The quickstart's training run moved to Slurm by changing only its
// provider: the quickstart is copied as it is, with a provider "slurm"
// block added and `provider = slurm` on the training run. Its command,
// `go run ./train`, runs on the cluster as the job user, so the copy gets
// a go.mod (it lives inside this repository's module otherwise) and the
// provider block gives jobs a Go build cache they can write (HOME and
// GOCACHE): the configuration's command is untouched.
func TestE2EQuickstartOnSlurm(t *testing.T) {
	w := newE2E(t)
	src := filepath.Join(repoRoot(), "examples", "quickstart")
	main, err := os.ReadFile(filepath.Join(src, "main.llmops.hcl"))
	if err != nil {
		t.Skipf("the quickstart has no main.llmops.hcl yet: %v", err)
	}
	if err := copyTree(src, w.dir); err != nil {
		t.Fatal(err)
	}
	w.write("go.mod", "module github.com/llmops/llmops/examples/quickstart\n\ngo 1.22\n")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	home := filepath.Join(w.env.Shared, "home-jobs")
	os.MkdirAll(filepath.Join(home, "gocache"), 0o777)
	os.Chmod(home, 0o777)
	os.Chmod(filepath.Join(home, "gocache"), 0o777)
	f, diags := hclwrite.ParseConfig(main, "main.llmops.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	moved := 0
	for _, b := range f.Body().Blocks() {
		if b.Type() == "training_run" {
			b.Body().SetAttributeTraversal("provider", hcl.Traversal{hcl.TraverseRoot{Name: "slurm"}})
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the quickstart has no training_run")
	}
	extra := fmt.Sprintf("  env = {\n    HOME        = %q\n    GOCACHE     = %q\n    GOTOOLCHAIN = \"local\"\n    PATH        = %q\n  }\n",
		home, filepath.Join(home, "gocache"), filepath.Dir(goBin)+":/usr/local/bin:/usr/bin:/bin")
	w.write("main.llmops.hcl", string(f.Bytes())+w.providerBlock(extra))

	w.llmops(0, "init")
	r := w.llmops(0, "apply", "-auto-approve")
	t.Cleanup(func() { w.llmops(-1, "destroy", "-auto-approve") }) // stops the deployment's processes
	t.Logf("apply:\n%s", r.stdout)
	objs := w.resources()
	ft := objs["training_run.ft"]
	if ft == nil || ft["status"] != "succeeded" || ft["job_id"] == nil {
		t.Fatalf("training_run.ft: %v", ft)
	}
	if lp, _ := ft["log_path"].(string); lp == "" {
		t.Fatalf("no log_path")
	}
	runs, _ := filepath.Glob(filepath.Join(w.env.Shared, "llmops", "runs", "training_run", "*", "attempt-1", "job.id"))
	found := false
	for _, p := range runs {
		if b, _ := os.ReadFile(p); strings.TrimSpace(string(b)) == fmt.Sprint(ft["job_id"]) {
			found = true
		}
	}
	if !found {
		t.Fatalf("Slurm job %v has no run directory under %s", ft["job_id"], w.env.Shared)
	}
	if q := objs["evaluation.quality"]; q == nil || q["passed"] != true {
		t.Fatalf("evaluation.quality (local, on the model trained on Slurm): %v", q)
	}
	w.llmops(0, "plan", "-detailed-exitcode")
}

// An evaluation gate on a model trained on Slurm, then an admin's scancel
// showing as drift in the plan, all through the CLI.
func TestE2EGateAndDrift(t *testing.T) {
	w := newE2E(t)
	w.write("base/weights.bin", "base weights")
	w.write("data.jsonl", strings.Repeat(`{"text": "hello"}`+"\n", 3)+`{"text": "bye"}`+"\n")
	w.write("train.sh", `set -eu
mkdir -p "$LLMOPS_OUTPUT_DIR/model"
cp "$LLMOPS_BASE_MODEL_PATH/weights.bin" "$LLMOPS_OUTPUT_DIR/model/"
echo "gpus: ${CUDA_VISIBLE_DEVICES:-none}" | tee "$LLMOPS_OUTPUT_DIR/model/gpus.txt"
echo '{"loss": 0.5}' > "$LLMOPS_OUTPUT_DIR/metrics.json"
`)
	w.write("eval.sh", `set -eu
test -f "$LLMOPS_MODEL_PATH/weights.bin"
echo '{"accuracy": 0.8}' > "$LLMOPS_OUTPUT_DIR/metrics.json"
`)
	w.write("main.llmops.hcl", w.providerBlock("")+`
variable "min_accuracy" {
  type    = number
  default = 0.7
}

model "base" {
  source = "file://base"
}

dataset "d" {
  provider = slurm
  source   = "file://data.jsonl"
  split    = { train = 0.5, eval = 0.5 }
}

# The same dataset made by the local provider: the bundles are the same.
dataset "d_local" {
  source = "file://data.jsonl"
  split  = { train = 0.5, eval = 0.5 }
}

training_run "ft" {
  provider   = slurm
  base_model = model.base.id
  dataset    = dataset.d.id
  command    = ["bash", "train.sh"]
  resources {
    gpus         = 1
    max_duration = "10m"
  }
}

evaluation "gate" {
  provider = slurm
  model    = training_run.ft.output_model
  dataset  = dataset.d.id
  command  = ["bash", "eval.sh"]
  gate {
    metric = "accuracy"
    min    = var.min_accuracy
  }
}

output "passed" {
  value = evaluation.gate.passed
}
`)
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	objs := w.resources()
	if objs["evaluation.gate"]["passed"] != true || objs["training_run.ft"]["status"] != "succeeded" {
		t.Fatalf("after apply: %v", objs)
	}
	if a, b := objs["dataset.d"]["id"], objs["dataset.d_local"]["id"]; a != b || a == nil {
		t.Errorf("the slurm and local providers made different bundles of the same data: %v and %v", a, b)
	}
	w.llmops(0, "plan", "-detailed-exitcode")
	// A stricter gate fails the apply and names the metric.
	r := w.llmops(1, "apply", "-auto-approve", "-var", "min_accuracy=0.9")
	if !strings.Contains(r.stdout+r.stderr, "accuracy") {
		t.Fatalf("the gate failure does not name the metric:\n%s", r)
	}

	// Drift: a long run submitted without waiting, cancelled by an admin.
	w.write("slow.llmops.hcl", `
training_run "slow" {
  provider   = slurm
  base_model = model.base.id
  command    = ["sleep", "305"]
}
`)
	w.llmops(0, "apply", "-auto-approve", "-wait=false", "-var", "min_accuracy=0.5")
	slow := w.resources()["training_run.slow"]
	jid := fmt.Sprint(slow["job_id"])
	if slow == nil || jid == "" || jid == "<nil>" {
		t.Fatalf("training_run.slow after -wait=false: %v", slow)
	}
	// Slurm shows a cancelled job as COMPLETING until its node killed
	// it (seconds on a loaded machine): w.scancel waits for the end.
	w.scancel(jid)
	r = w.llmops(2, "plan", "-detailed-exitcode", "-var", "min_accuracy=0.5")
	out := r.stdout
	if !strings.Contains(out, "training_run.slow") || !strings.Contains(out, "cancelled") {
		t.Fatalf("the plan does not show the cancelled run as a change:\n%s", r)
	}
	t.Logf("plan after scancel:\n%s", out)
	// Destroy cancels whatever still runs.
	w.llmops(0, "destroy", "-auto-approve", "-var", "min_accuracy=0.5")
}

// copyTree copies a directory (without .llmops state), world-readable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && (d.Name() == ".llmops" || d.Name() == "bin") && rel != "." {
			return filepath.SkipDir
		}
		t := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".lock.hcl") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o644)
	})
}

// examples/slurm runs as documented against the test cluster.
func TestE2EExample(t *testing.T) {
	w := newE2E(t)
	if err := copyTree(filepath.Join(repoRoot(), "examples", "slurm"), w.dir); err != nil {
		t.Fatal(err)
	}
	vars := []string{"-var", "slurm_url=" + w.env.URL, "-var", "slurm_user=" + w.env.User, "-var", "slurm_token_file=" + w.env.TokenFile,
		"-var", "shared_dir=" + w.env.Shared, "-var", "partition=" + w.env.Partition}
	w.llmops(0, "init")
	r := w.llmops(0, append([]string{"apply", "-auto-approve"}, vars...)...)
	t.Logf("apply:\n%s", r.stdout)
	objs := w.resources()
	if q := objs["evaluation.quality"]; q == nil || q["passed"] != true {
		t.Fatalf("evaluation.quality: %v", q)
	}
	if d := objs["dataset.corpus"]; d == nil || d["rows"] != float64(120) {
		t.Fatalf("dataset.corpus: %v", d)
	}
	w.llmops(0, append([]string{"plan", "-detailed-exitcode"}, vars...)...)
	w.llmops(0, append([]string{"destroy", "-auto-approve"}, vars...)...)
}
