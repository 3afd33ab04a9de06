package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	serveOnce sync.Once
	serveBin  string
	serveErr  error
)

// quickstartServe builds the quickstart's serving program once.
func quickstartServe(t *testing.T) string {
	t.Helper()
	serveOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..")
		serveBin = filepath.Join(binDir, "quickstart-serve")
		cmd := exec.Command("go", "build", "-o", serveBin, "./examples/quickstart/serve")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			serveErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if serveErr != nil {
		t.Fatalf("building the quickstart's serve: %v", serveErr)
	}
	return serveBin
}

// The whole promise, end to end: a configuration passes a sensitive
// variable through env, a command's argv, a validation message, a failing
// function, a failing provider, a failing job and a deployment with API
// keys; then every file under .llmops/, every output stream and log, and
// the environment of every process on the machine are searched for each
// secret and for the state key. None is found.
func TestE2ESecretsNeverInClear(t *testing.T) {
	const (
		secret      = "tok-e2e-secret-4a1f9c" // var.k
		badSecret   = "nope-e2e-secret-7b2d"  // var.k in the run whose validation fails
		apiKey      = "sk-e2e-apikey-93c0d1e8"
		stateKeyB64 = "ZTJlLXNlY3JldHMtc3RhdGUta2V5LTMyLWJ5dGVzLSE="
	)
	secrets := []string{secret, badSecret, apiKey, stateKeyB64}
	serve := quickstartServe(t)
	_, self, _, _ := runtime.Caller(0)
	base := filepath.Join(filepath.Dir(self), "..", "..", "examples", "quickstart", "base")
	files := map[string]string{
		"main.llmops.hcl": `
variable "k" {
  type      = string
  sensitive = true
  validation {
    condition     = substr(var.k, 0, 4) == "tok-"
    error_message = "The token ${var.k} must start with tok-."
  }
}
variable "api" {
  type      = string
  sensitive = true
}
model "base" {
  source = "file://base"
}
dataset "d" {
  source = "file://data.jsonl"
  transform {
    command = ["sh", "-c", "echo token=$TOKEN; echo arg=$1; cp \"$LLMOPS_INPUT_PATH\" \"$LLMOPS_OUTPUT_DIR/data.jsonl\"", "sh", "--key=${var.k}"]
    env     = { TOKEN = var.k }
  }
}
dataset "broken" {
  source = "file://data.jsonl"
  transform {
    command = ["sh", "-c", "echo about to fail with $TOKEN >&2; exit 3"]
    env     = { TOKEN = var.k }
  }
}
deployment "web" {
  model = model.base.id
  serve {
    command = ["` + serve + `", "-model", "{model_path}", "-port", "{port}"]
  }
  access {
    api_keys = [var.api]
  }
}
output "endpoint" {
  value = deployment.web.endpoint
}
output "token" {
  value     = var.k
  sensitive = true
}
`,
		"data.jsonl": "{\"text\": \"a\"}\n{\"text\": \"b\"}\n",
	}
	for _, f := range []string{"config.json", "model.bin"} {
		b, err := os.ReadFile(filepath.Join(base, f))
		if err != nil {
			t.Fatal(err)
		}
		files["base/"+f] = string(b)
	}
	w := newWorkspace(t, files)
	common := append([]string(nil), w.env...)
	common = append(common, "LLMOPS_STATE_KEY="+stateKeyB64, "LLMOPS_VAR_api="+apiKey, "LLMOPS_LOG=trace")
	w.env = append(append([]string(nil), common...), "LLMOPS_VAR_k="+secret)
	t.Cleanup(func() { w.run("destroy", "-auto-approve") })

	var streams bytes.Buffer
	record := func(r result) result {
		streams.WriteString(r.stdout)
		streams.WriteString(r.stderr)
		return r
	}
	record(w.must(0, "init"))
	// The apply: the good job and the deployment succeed, the broken job
	// fails (its log quoted in the failure and the summary).
	r := record(w.run("apply", "-auto-approve"))
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "about to fail with (sensitive)") {
		t.Fatalf("apply: want the broken job's failure with (sensitive) in its log:\n%s", r)
	}
	for _, want := range []string{"token=(sensitive)", "arg=(sensitive)"} {
		logs, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "artifacts", "runs", "local", "dataset", "*", "job.log"))
		found := false
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			found = found || strings.Contains(string(b), want)
		}
		if !found {
			t.Errorf("no job log holds %q: the job did not run as expected", want)
		}
	}
	// The deployment serves with its key; its replica answers nobody else.
	endpoint := strings.TrimSpace(record(w.must(0, "output", "-raw", "endpoint")).stdout)
	req, _ := http.NewRequest("POST", endpoint+"/completions", strings.NewReader(`{"prompt":"hi","max_tokens":2}`))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the deployment with its key: %v %v", resp, err)
	}
	resp.Body.Close()
	// Plans, show, state, history: every command that prints values.
	for _, cmd := range [][]string{{"plan"}, {"show"}, {"show", "-json"}, {"state", "list"}, {"state", "show", "dataset.d"}, {"history"}, {"output"}, {"output", "-json"}} {
		record(w.run(cmd...))
	}
	// A validation message, a failing function and a failing provider,
	// each in a run of its own.
	w.env = append(append([]string(nil), common...), "LLMOPS_VAR_k="+badSecret)
	if r := record(w.run("plan")); r.code != 1 || !strings.Contains(r.stderr, "The token (sensitive) must start with tok-.") {
		t.Errorf("the validation message:\n%s", r)
	}
	w.env = append(append([]string(nil), common...), "LLMOPS_VAR_k="+secret)
	w.write(map[string]string{"extra.llmops.hcl": `
output "n" {
  value     = tonumber(var.k)
  sensitive = true
}
`})
	if r := record(w.run("plan")); r.code != 1 || !strings.Contains(r.stderr, `cannot convert "(sensitive)" to number`) {
		t.Errorf("the failing function:\n%s", r)
	}
	w.write(map[string]string{"extra.llmops.hcl": `
model "missing" {
  source = "file://models/${var.k}/weights"
}
`})
	if r := record(w.run("plan")); r.code != 1 || !strings.Contains(r.stderr, "models/(sensitive)/weights") {
		t.Errorf("the failing provider:\n%s", r)
	}
	os.Remove(filepath.Join(w.dir, "extra.llmops.hcl"))

	// Nothing anywhere holds a secret or the state key.
	for _, s := range secrets {
		if strings.Contains(streams.String(), s) {
			t.Errorf("an output stream shows %q", s)
		}
	}
	n := 0
	filepath.WalkDir(filepath.Join(w.dir, ".llmops"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		n++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in clear", p, s)
			}
		}
		return nil
	})
	if n < 20 {
		t.Fatalf("only %d files under .llmops: the search looked in the wrong place", n)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				pid := strings.Split(p, "/")[2]
				cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
				t.Errorf("process %s (%s) has %q in its environment", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), s)
			}
		}
	}
	// The deployment's processes run what was hashed: the gateway is the
	// provider's cached copy.
	recs, _ := filepath.Glob(filepath.Join(w.dir, ".llmops", "artifacts", "runs", "local", "deployment", "*", "deployment.json"))
	if len(recs) != 1 {
		t.Fatalf("deployment records: %v", recs)
	}
	var rec struct {
		Gateway  struct{ PID int }
		Replicas []struct{ PID int }
	}
	b, _ := os.ReadFile(recs[0])
	json.Unmarshal(b, &rec)
	if rec.Gateway.PID == 0 || len(rec.Replicas) == 0 {
		t.Fatalf("deployment record: %s", b)
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(rec.Gateway.PID) + "/exe")
	if err != nil || !strings.HasPrefix(exe, filepath.Join(w.dir, ".llmops", "providers")+"/") {
		t.Errorf("the gateway runs %s (%v), not the provider's copy in .llmops/providers/", exe, err)
	}
}
