package local_test

// End-to-end tests of the quickstart's deployment and monitor, through the
// llmops CLI: access, blue/green without a failed request, a revision that
// never gets healthy, a killed replica, import, a monitor's breach and the
// rate limit. Skipped with -short.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func (q *quickstart) output(name string) string {
	q.t.Helper()
	return strings.TrimSpace(q.ok("output", "-raw", name).out)
}

// deploymentID returns the id of the quickstart's (only) deployment.
func (q *quickstart) deploymentID() string {
	q.t.Helper()
	m, _ := filepath.Glob(filepath.Join(q.dir, ".llmops", "artifacts", "runs", "local", "deployment", "dep-*"))
	if len(m) != 1 {
		q.t.Fatalf("deployment directories: %v", m)
	}
	return filepath.Base(m[0])
}

func TestE2EDeployment(t *testing.T) {
	q := newQuickstart(t)
	// The clients below send more than the quickstart's 600 requests a
	// minute; the rate limit is tested at the end.
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=1000000")
	q.ok("init")
	start := time.Now()
	r := q.ok("apply", "-auto-approve")
	t.Logf("quickstart apply with the deployment took %s", r.took.Round(100*time.Millisecond))
	contains(t, r.out, "deployment.tickets: Creation complete", "monitor.tickets: Creation complete")
	if strings.Contains(r.out, q.apiKey) {
		t.Fatalf("the API key is in the apply's output")
	}
	ep, key := q.output("endpoint"), q.output("api_key")
	if key != q.apiKey || !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/v1$`).MatchString(ep) {
		t.Fatalf("outputs: endpoint %q key %q", ep, key)
	}

	// Access.
	c := complete(t, ep, key)
	if c.code != 200 || c.model != "tinylm" || !strings.Contains(c.body, `"text_completion"`) || c.revision != "1" {
		t.Fatalf("a completion with the key: %+v", c)
	}
	if c := complete(t, ep, ""); c.code != 401 || !strings.Contains(c.body, "invalid_api_key") {
		t.Fatalf("without the key: %+v", c)
	}
	if c := complete(t, ep, key+"x"); c.code != 401 {
		t.Fatalf("with a wrong key: %+v", c)
	}
	q.noChanges()

	// Blue/green: a new serve argument is revision 2 on the same endpoint,
	// and a client calling throughout sees no failed request.
	stop := hammer(t, ep, key, 2)
	q.editHCL(`"-port", "{port}"]`, `"-port", "{port}", "-name", "tinylm-v2"]`)
	r = q.ok("apply", "-auto-approve")
	ok, failed := stop()
	contains(t, r.out, "deployment.tickets: Modifying", "Apply complete! Resources: 0 added, 1 changed")
	if len(failed) > 0 || ok == 0 {
		t.Fatalf("during the blue/green update %d requests succeeded and %d failed, e.g. %v", ok, len(failed), failed[:min(3, len(failed))])
	}
	if q.output("endpoint") != ep {
		t.Fatalf("the endpoint changed: %s", q.output("endpoint"))
	}
	if c := complete(t, ep, key); c.model != "tinylm-v2" || c.revision != "2" {
		t.Fatalf("after the update: %+v", c)
	}
	t.Logf("blue/green update: %d requests served during it, none failed", ok)

	// A revision that never gets healthy: the apply fails with its log and
	// revision 2 keeps serving.
	q.editHCL(`command = ["go", "run", "./serve", "-model", "{model_path}", "-port", "{port}", "-name", "tinylm-v2"]`,
		`command = ["sh", "-c", "echo loading the weights; echo 'CUDA error: out of memory' >&2; sleep 600"]
    health_timeout = "2s"`)
	r = q.run("apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("an unhealthy revision: exit %d\n%s", r.code, r.out)
	}
	contains(t, r.out, "did not become healthy", "revision 2 keeps serving", "CUDA error: out of memory", "Last lines of the replica's log")
	if c := complete(t, ep, key); c.code != 200 || c.model != "tinylm-v2" {
		t.Fatalf("after the failed rollout: %+v", c)
	}
	q.editHCL(`command = ["sh", "-c", "echo loading the weights; echo 'CUDA error: out of memory' >&2; sleep 600"]
    health_timeout = "2s"`, `command = ["go", "run", "./serve", "-model", "{model_path}", "-port", "{port}", "-name", "tinylm-v2"]`)
	q.noChanges()

	// A killed replica is drift; apply restarts it in the same revision.
	id := q.deploymentID()
	rec := readRecord(t, filepath.Join(q.dir, ".llmops", "artifacts"), id)
	pid := rec.Replicas[0].PID
	must(t, syscall.Kill(-pid, syscall.SIGKILL))
	waitFor(5*time.Second, func() bool { return !alive(pid) })
	r = q.run("plan", "-detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("plan after killing the replica: exit %d\n%s", r.code, r.out)
	}
	contains(t, r.out, "Objects have changed outside of llmops", "deployment.tickets has changed", `"degraded"`, "deployment.tickets will be updated in place")
	q.ok("apply", "-auto-approve")
	if c := complete(t, ep, key); c.code != 200 || c.revision != "2" {
		t.Fatalf("after the repair: %+v", c)
	}
	q.noChanges()

	// Import: forget the deployment, adopt it again by its id.
	q.ok("state", "rm", "deployment.tickets")
	q.ok("import", "deployment.tickets", id)
	r = q.run("plan", "-detailed-exitcode")
	if strings.Contains(r.out, "deployment.tickets will") || strings.Contains(r.out, "deployment.tickets must") {
		t.Fatalf("the imported deployment does not match its configuration:\n%s", r.out)
	}

	// A monitor with an impossible latency bound reports a breach.
	q.editHCL(`check "p95_latency_ms" { max = 500 }`, `check "p95_latency_ms" { max = 0.001 }`)
	q.editHCL(`interval    = "30s"`, `interval    = "1s"`)
	q.ok("apply", "-auto-approve")
	for i := 0; i < 3; i++ {
		complete(t, ep, key)
	}
	time.Sleep(1100 * time.Millisecond)
	q.ok("apply", "-refresh-only", "-auto-approve")
	r = q.ok("state", "show", "monitor.tickets")
	contains(t, r.out, `status              = "breach"`, `check = "p95_latency_ms"`, `kind  = "max"`, `bound = 0.001`)

	// The rate limit: an access change updates the gateway only.
	q.editHCL(`check "eval:quality.accuracy" { min = 0.2 }`, ``) // its reruns would take the requests
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=3")    // the environment wins over -var
	r = q.ok("apply", "-auto-approve")
	contains(t, r.out, "deployment.tickets: Modifying")
	for i := 1; i <= 3; i++ {
		if c := complete(t, ep, key); c.code != 200 || c.revision != "2" {
			t.Fatalf("request %d under the limit: %+v", i, c)
		}
	}
	req := completeRaw(t, ep, key)
	if req.code != 429 || req.retryAfter == "" || !strings.Contains(req.body, "rate_limit_exceeded") {
		t.Fatalf("past the rate limit: %+v", req)
	}

	// destroy stops everything.
	q.ok("destroy", "-auto-approve")
	if c := complete(t, ep, key); c.code != -1 {
		t.Fatalf("the endpoint still answers after destroy: %+v", c)
	}
	if _, err := os.Stat(filepath.Join(q.dir, ".llmops", "artifacts", "runs", "local", "deployment", id)); !os.IsNotExist(err) {
		t.Fatalf("the deployment's directory survived destroy")
	}
	t.Logf("the whole scenario took %s", time.Since(start).Round(time.Second))
}

// greedy asks for a deterministic completion and returns its text.
func greedy(t *testing.T, ep, key string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", ep+"/completions", strings.NewReader(`{"prompt":"To reset your API key, run ","max_tokens":24,"temperature":0}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := testClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var doc struct{ Choices []struct{ Text string } }
	must(t, json.NewDecoder(resp.Body).Decode(&doc))
	if resp.StatusCode != 200 || len(doc.Choices) != 1 {
		t.Fatalf("completion: %s", resp.Status)
	}
	return doc.Choices[0].Text
}

// The provider's side of rolling a deployment back (issue 6): llmops
// rollback puts the first model back on the same endpoint at once, as a
// new revision, with the recorded key hashes and no training.
func TestE2ERollbackDeployment(t *testing.T) {
	q := newQuickstart(t)
	vars := q.countTraining()
	q.ok("init")
	q.ok(append([]string{"apply", "-auto-approve"}, vars...)...)
	ep, key := q.output("endpoint"), q.output("api_key")
	first := greedy(t, ep, key)
	q.editHCL("learning_rate = 0.01", "learning_rate = 0.03")
	q.ok(append([]string{"apply", "-auto-approve"}, vars...)...)
	second := greedy(t, ep, key)
	if first == second {
		t.Logf("both models complete the prompt alike: %q", first)
	}
	r := q.ok(append([]string{"rollback", "-auto-approve", "-previous", "deployment.tickets"}, vars...)...)
	if r.took > 10*time.Second {
		t.Fatalf("the rollback took %s", r.took)
	}
	contains(t, r.out, "deployment.tickets will be updated in place (rollback)")
	if got := greedy(t, ep, key); got != first {
		t.Fatalf("after the rollback the endpoint completes %q, want the first model's %q", got, first)
	}
	if c := complete(t, ep, key); c.revision != "3" {
		t.Fatalf("the rollback is revision %s, want 3", c.revision)
	}
	if n := q.startCount(); n != 2 {
		t.Fatalf("%d training starts, want 2 (the rollback trains nothing)", n)
	}
	t.Logf("rollback: %s", r.took.Round(10*time.Millisecond))

	// The plan says the configuration would roll forward, and keeps the rollback.
	r = q.ok(append([]string{"plan", "-detailed-exitcode"}, vars...)...)
	contains(t, r.out, "deployment.tickets was rolled back to serial", "the configuration declares serial", "'s model")
	if strings.Contains(r.out, "deployment.tickets will be updated") {
		t.Fatalf("the plan would undo the rollback:\n%s", r.out)
	}

	// The lineage of the deployment names the dataset and base model digests.
	var state struct {
		Values struct {
			Resources []struct {
				Address string         `json:"address"`
				Values  map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"values"`
	}
	must(t, json.Unmarshal([]byte(q.ok("show", "-json").out), &state))
	digest := map[string]string{}
	for _, o := range state.Values.Resources {
		if d, ok := o.Values["digest"].(string); ok {
			digest[o.Address] = d
		}
	}
	lin := q.ok("lineage", "deployment.tickets").out
	contains(t, lin, "training_run.ft", "model.base", "dataset.tickets", "evaluation.quality", digest["model.base"], digest["dataset.tickets"])

	// Modifying an artifact on disk is drift.
	deployed := ""
	for _, o := range state.Values.Resources {
		if o.Address == "deployment.tickets" {
			deployed, _ = o.Values["model"].(string)
		}
	}
	modelDir := filepath.Join(q.dir, ".llmops", "artifacts", "objects", "sha256", strings.TrimPrefix(deployed, "sha256:"))
	files, _ := filepath.Glob(filepath.Join(modelDir, "*"))
	if len(files) == 0 {
		t.Fatalf("no files in the model artifact %s", modelDir)
	}
	os.Chmod(files[0], 0o644)
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	f.Write([]byte("tampered"))
	f.Close()
	r = q.run(append([]string{"plan", "-detailed-exitcode"}, vars...)...)
	contains(t, r.out, "Objects have changed outside of llmops", "deployment.tickets has changed")

	// gc --keep 1 frees what only older versions referenced, and nothing
	// the current state needs.
	before := q.ok("gc", "-dry-run").out
	r = q.ok("gc", "--keep", "1")
	contains(t, r.out, "Freed")
	if strings.Contains(r.out, "removed "+q.output("fine_tuned_model")) {
		t.Fatalf("gc removed the current model:\n%s", r.out)
	}
	for _, o := range state.Values.Resources {
		for _, a := range []string{"id", "output_model", "model"} {
			if id, ok := o.Values[a].(string); ok && strings.HasPrefix(id, "sha256:") && strings.Contains(r.out, "removed "+id) {
				t.Fatalf("gc removed %s, which %s references:\n%s", id, o.Address, r.out)
			}
		}
	}
	t.Logf("gc -dry-run before --keep 1:\n%s\ngc --keep 1:\n%s", before, r.out)
}
