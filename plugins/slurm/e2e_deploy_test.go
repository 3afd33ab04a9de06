package slurm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// A deployment served by a Slurm job, through the llmops CLI: the key and
// 401, revision 2 blue/green on the same endpoint with a client calling
// throughout, a revision that never gets healthy (cancelled, the old one
// keeps serving, the apply fails with its log), an admin's scancel as drift
// repaired by apply, a dead gateway restarted on its port, import by id,
// and destroy cancelling the job and stopping the gateway.
func TestE2EDeployment(t *testing.T) {
	w := newE2E(t)
	serve := serveBinary(t, w.env)
	w.write("base/weights.bin", "base weights")
	config := func(tag, mode, healthTimeout string) {
		w.write("main.llmops.hcl", w.providerBlock("")+fmt.Sprintf(`
variable "api_key" {
  type      = string
  sensitive = true
}

model "base" {
  source = "file://base"
}

deployment "chat" {
  provider = slurm
  model    = model.base.id
  replicas = 1
  serve {
    command        = [%q, "--port={port}", "--model={model_path}", "--tag=%s"]
    env            = { LLMOPS_SLURM_TEST_SERVE = %q }
    health_timeout = %q
  }
  access {
    api_keys            = [var.api_key]
    requests_per_minute = 1000000
  }
  resources {
    gpus         = 1
    max_duration = "30m"
  }
}

# The local provider's monitor watches the Slurm deployment through the
# gateway listing in the shared artifact store.
monitor "chat" {
  deployment = deployment.chat.id
  interval   = "1s"
  check "error_rate" {
    max = 1
  }
  check "requests_per_minute" {
    min = 0
  }
}

output "endpoint" {
  value = deployment.chat.endpoint
}
`, serve, tag, mode, healthTimeout))
	}
	const key = "sk-slurm-e2e-test" // LLMOPS_VAR_api_key, as llmops() sets it
	config("v1", "1", "60s")
	w.llmops(0, "init")
	r := w.llmops(0, "apply", "-auto-approve")
	t.Logf("create (one serving job, gateway): %s", r.took.Round(10*time.Millisecond))
	t.Cleanup(func() { w.llmops(-1, "destroy", "-auto-approve") })
	dep := w.resources()["deployment.chat"]
	ep, _ := dep["endpoint"].(string)
	jobs1 := strs(dep["job_ids"])
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/v1$`).MatchString(ep) || dep["status"] != "serving" || dep["revision"] != float64(1) ||
		dep["healthy_replicas"] != float64(1) || len(jobs1) != 1 || len(strs(dep["backends"])) != 1 {
		t.Fatalf("deployment.chat after create: %v", dep)
	}
	if st := w.jobState(jobs1[0]); st != "RUNNING" {
		t.Fatalf("replica job %s is %s", jobs1[0], st)
	}
	if out := strings.TrimSpace(w.llmops(0, "output", "-raw", "endpoint").stdout); out != ep {
		t.Fatalf("output endpoint %q, state %q", out, ep)
	}

	// Access through the gateway, to the job's server on its node.
	c := call(ep, key)
	if c.code != 200 || c.doc["model"] != "v1" || c.revision != "1" || c.doc["job"] != jobs1[0] || c.doc["auth"] != "" {
		t.Fatalf("a completion with the key: %+v", c)
	}
	if c := call(ep, ""); c.code != 401 || !strings.Contains(c.body, "invalid_api_key") {
		t.Fatalf("without the key: %+v", c)
	}
	if c := call(ep, key+"x"); c.code != 401 {
		t.Fatalf("with a wrong key: %+v", c)
	}
	// The three calls above, as client_golang writes them (labels sorted by name).
	m := get(strings.TrimSuffix(ep, "/v1") + "/metrics")
	for _, series := range []string{
		`llmops_gateway_requests_total{code="200",deployment="` + dep["id"].(string) + `",revision="1"} 1`,
		`llmops_gateway_requests_total{code="401",deployment="` + dep["id"].(string) + `",revision="1"} 2`,
	} {
		if !strings.Contains(m, series) {
			t.Fatalf("/metrics has no %s:\n%s", series, m)
		}
	}
	w.llmops(0, "plan", "-detailed-exitcode")
	if mon := w.resources()["monitor.chat"]; mon["deployment_revision"] != float64(1) || mon["status"] == "error" {
		t.Fatalf("the monitor of the Slurm deployment: %v", mon)
	}

	// Revision 2, blue/green, on the same endpoint; no request fails.
	config("v2", "1", "60s")
	stop := hammer(ep, key, 2)
	r = w.llmops(0, "apply", "-auto-approve")
	ok, failed := stop()
	t.Logf("update to revision 2: %s, %d requests served during it", r.took.Round(10*time.Millisecond), ok)
	if !strings.Contains(r.stdout, "Resources: 0 added, 1 changed") {
		t.Fatalf("the update:\n%s", r)
	}
	if len(failed) > 0 || ok == 0 {
		t.Fatalf("during the blue/green update %d requests succeeded and %d failed, e.g. %v", ok, len(failed), failed[:min(3, len(failed))])
	}
	dep = w.resources()["deployment.chat"]
	jobs2 := strs(dep["job_ids"])
	if dep["endpoint"] != ep || dep["revision"] != float64(2) || len(jobs2) != 1 || jobs2[0] == jobs1[0] {
		t.Fatalf("after the update: %v", dep)
	}
	if c := call(ep, key); c.code != 200 || c.doc["model"] != "v2" || c.revision != "2" || c.doc["job"] != jobs2[0] {
		t.Fatalf("after the update: %+v", c)
	}
	if st := w.jobState(jobs1[0]); st == "RUNNING" || st == "PENDING" {
		t.Fatalf("revision 1's job %s is still %s", jobs1[0], st)
	}
	// The monitor's next reading follows the deployment to revision 2 and
	// sees the requests made during the rollout.
	time.Sleep(1100 * time.Millisecond)
	if mon := w.refreshed("monitor.chat"); mon["deployment_revision"] != float64(2) || mon["status"] != "ok" {
		t.Fatalf("the monitor after revision 2: %v", mon)
	}

	// A revision that never gets healthy: its job is cancelled, the apply
	// fails with its log, revision 2 keeps serving.
	config("v3", "unhealthy", "5s")
	r = w.llmops(1, "apply", "-auto-approve")
	out := r.stdout + r.stderr
	t.Logf("the failed rollout:\n%s", out)
	for _, want := range []string{"did not become healthy", "revision 2 keeps serving", "CUDA error: out of memory", "Last lines of the job's log"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the failed rollout does not say %q:\n%s", want, r)
		}
	}
	if m := regexp.MustCompile(`\(Slurm job (\d+)\)`).FindStringSubmatch(out); m == nil {
		t.Errorf("the failure does not name the job:\n%s", out)
	} else if st := w.jobState(m[1]); st == "RUNNING" || st == "PENDING" {
		t.Errorf("the unhealthy revision's job %s is still %s", m[1], st)
	}
	if c := call(ep, key); c.code != 200 || c.doc["model"] != "v2" || c.revision != "2" {
		t.Fatalf("after the failed rollout: %+v", c)
	}
	config("v2", "1", "60s")
	w.llmops(0, "plan", "-detailed-exitcode")

	// An administrator cancels the replica's job: drift; apply resubmits it
	// in the same revision.
	w.scancel(jobs2[0])
	r = w.llmops(2, "plan", "-detailed-exitcode")
	t.Logf("plan after scancel:\n%s", r.stdout)
	for _, want := range []string{"deployment.chat", `"degraded"`, "updated in place"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("the plan after scancel does not show %q:\n%s", want, r)
		}
	}
	r = w.llmops(0, "apply", "-auto-approve")
	t.Logf("repair (resubmitted job): %s", r.took.Round(10*time.Millisecond))
	dep = w.resources()["deployment.chat"]
	jobs3 := strs(dep["job_ids"])
	if dep["status"] != "serving" || dep["revision"] != float64(2) || len(jobs3) != 1 || jobs3[0] == jobs2[0] || dep["endpoint"] != ep {
		t.Fatalf("after the repair: %v", dep)
	}
	if c := call(ep, key); c.code != 200 || c.revision != "2" || c.doc["job"] != jobs3[0] {
		t.Fatalf("after the repair: %+v", c)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	// The gateway dies (the llmops host rebooted): drift; apply restarts it
	// on the same port.
	id := dep["id"].(string)
	b, err := os.ReadFile(filepath.Join(w.dir, ".llmops", "artifacts", "runs", "slurm", "deployment", id, deployRecordFile))
	var rec depRecord
	if err != nil || json.Unmarshal(b, &rec) != nil || !rec.Gateway.Alive() {
		t.Fatalf("the deployment's record: %v %s", err, b)
	}
	rec.Gateway.Stop(5 * time.Second)
	if c := call(ep, key); c.code != -1 {
		t.Fatalf("the gateway answers after it was stopped: %+v", c)
	}
	r = w.llmops(2, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, `"degraded"`) {
		t.Fatalf("the plan after the gateway died:\n%s", r)
	}
	w.llmops(0, "apply", "-auto-approve")
	if c := call(ep, key); c.code != 200 || c.revision != "2" || c.doc["job"] != jobs3[0] {
		t.Fatalf("after the gateway's restart: %+v", c)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	// Import by id: forget the deployment, adopt it again.
	w.llmops(0, "state", "rm", "deployment.chat")
	w.llmops(0, "import", "deployment.chat", id)
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after import: %s", r)
	}

	// Destroy cancels the job and stops the gateway.
	w.llmops(0, "destroy", "-auto-approve")
	if st := w.jobState(jobs3[0]); st == "RUNNING" || st == "PENDING" {
		t.Fatalf("after destroy, job %s is %s", jobs3[0], st)
	}
	if c := call(ep, key); c.code != -1 {
		t.Fatalf("the gateway still answers after destroy: %+v", c)
	}
	if _, err := os.Stat(filepath.Join(w.env.Shared, "llmops", "deployments", id)); !os.IsNotExist(err) {
		t.Fatalf("the replicas' directory is left: %v", err)
	}
}

func strs(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// jobState asks Slurm (scontrol) for a job's state.
func (w *e2e) jobState(id string) string {
	b, err := w.env.command("scontrol", "show", "job", "-o", id).CombinedOutput()
	if err != nil {
		return "unknown: " + strings.TrimSpace(string(b))
	}
	return parseKV(strings.TrimSpace(string(b)))["JobState"]
}

// scancel cancels a job as an administrator would, and waits until it ended.
func (w *e2e) scancel(id string) {
	w.t.Helper()
	if out, err := w.env.command("scancel", id).CombinedOutput(); err != nil {
		w.t.Fatalf("scancel %s: %v: %s", id, err, out)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if st := w.jobState(id); st != "RUNNING" && st != "PENDING" && st != "COMPLETING" {
			return
		}
	}
	w.t.Fatalf("job %s did not end after scancel", id)
}

type reply struct {
	code     int
	revision string
	body     string
	doc      map[string]any
}

var e2eClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}

func call(endpoint, key string) reply {
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/completions", strings.NewReader(`{"prompt":"Hello","max_tokens":8}`))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e2eClient.Do(req)
	if err != nil {
		return reply{code: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{code: resp.StatusCode, revision: resp.Header.Get("X-LLMOps-Revision"), body: string(b)}
	json.Unmarshal(b, &r.doc)
	return r
}

func get(url string) string {
	resp, err := e2eClient.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// hammer sends completions from a few clients until stopped, and returns
// how many succeeded and what failed.
func hammer(endpoint, key string, workers int) (stop func() (ok int, failed []string)) {
	done := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed []string
	n := 0
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r := call(endpoint, key)
				mu.Lock()
				if r.code != 200 {
					failed = append(failed, fmt.Sprintf("%d %s", r.code, r.body))
				} else {
					n++
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return func() (int, []string) {
		close(done)
		wg.Wait()
		return n, failed
	}
}

// refreshed is an object's value as a plan's refresh reads it (readings
// such as a monitor's are never drift, so they show in the plan only).
func (w *e2e) refreshed(addr string) map[string]any {
	w.t.Helper()
	r := w.llmops(0, "plan", "-json")
	var doc struct {
		Changes []struct {
			Address string         `json:"address"`
			Before  map[string]any `json:"before"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		w.t.Fatalf("plan -json: %v\n%s", err, r.stdout)
	}
	for _, c := range doc.Changes {
		if c.Address == addr {
			return c.Before
		}
	}
	w.t.Fatalf("plan -json has no %s:\n%s", addr, r.stdout)
	return nil
}
