package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const trafficHCL = `
variable "exe" {}

model "m" {
  source = "file://models/a"
}

deployment "d" {
  model = model.m.id
  serve {
    command     = [var.exe, "{model_path}", "{port}"]
    env         = { LLMOPS_E2E_SERVE_MODEL = "1" }
    health_path = "/health"
  }
  access {
    api_keys = ["e2e-traffic-key-0123456789abcdef"]
  }
  capture {
    sample          = 1
    redact          = ["email", "phone", "api_key"]
    redact_patterns = [%s]
  }
}

dataset "feedback" {
  source       = deployment.d.traffic
  min_new_rows = 3
}

dataset "good" {
  source     = deployment.d.traffic
  min_rating = 4
}

training_run "ft" {
  base_model = model.m.id
  dataset    = dataset.feedback.id
  command    = ["sh", "-c", "mkdir -p $LLMOPS_OUTPUT_DIR/model && cp $LLMOPS_BASE_MODEL_PATH/* $LLMOPS_OUTPUT_DIR/model/ && wc -l < $LLMOPS_DATASET_PATH > $LLMOPS_OUTPUT_DIR/model/rows.txt"]
}

output "endpoint" {
  value = deployment.d.endpoint
}
`

var anyEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// Capture through the CLI: a deployment with a capture block keeps its
// traffic redacted; llmops traffic lists, shows and exports it; a dataset
// whose source is the deployment's traffic plans a new version (and the
// training run on it is replaced) once min_new_rows new rows are sealed,
// and stays unchanged below that.
func TestE2ETrafficCaptureToDataset(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkspace(t, map[string]string{
		"main.llmops.hcl":      fmt.Sprintf(trafficHCL, `"ACCT-[0-9]{8}"`),
		"models/a/weights.txt": `{"choices":[{"text":" reset it in the console"}],"usage":{"prompt_tokens":5,"completion_tokens":4}}`,
		"models/a/config.json": `{"layers": 1}`,
	})
	w.env = append(w.env, "LLMOPS_CAPTURE_SEAL_AFTER=200ms")
	vars := []string{"-var", "exe=" + exe}
	t.Cleanup(func() { w.run(append([]string{"destroy", "-auto-approve"}, vars...)...) })

	// A pattern that does not compile is an error on its line.
	w.write(map[string]string{"main.llmops.hcl": fmt.Sprintf(trafficHCL, `"ACCT-[0-9"`)})
	w.must(0, "init")
	r := w.must(1, append([]string{"validate"}, vars...)...)
	if !strings.Contains(r.stderr, "Invalid redact pattern") || !strings.Contains(r.stderr, "main.llmops.hcl:21:24") {
		t.Fatalf("a bad redact pattern is not reported on its line:\n%s", r)
	}
	w.write(map[string]string{"main.llmops.hcl": fmt.Sprintf(trafficHCL, `"ACCT-[0-9]{8}"`)})

	r = w.must(0, append([]string{"apply", "-auto-approve"}, vars...)...)
	if !strings.Contains(r.stdout+r.stderr, "No captured rows yet") {
		t.Errorf("the first, empty version is not flagged:\n%s", r)
	}
	ep := strings.TrimSpace(w.must(0, "output", "-raw", "endpoint").stdout)

	var ids []string
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf(`{"model":"m","prompt":"user%d@example.com asks about ACCT-1234567%d: how do I reset my key? "}`, i, i)
		resp := post(t, ep+"/completions", body)
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	fb := post(t, ep+"/feedback", fmt.Sprintf(`{"request_id":%q,"rating":5,"correction":" mail admin@example.com"}`, ids[0]))
	if fb.StatusCode != 200 {
		t.Fatalf("feedback: %d", fb.StatusCode)
	}
	waitSealed(t, w, 6)

	r = w.must(0, "traffic", "ls")
	if !strings.Contains(r.stdout, "deployment.d") || !regexp.MustCompile(`deployment\.d\s+dep-\w+\s+\d+ sealed, 0 open\s+5\s+1`).MatchString(r.stdout) {
		t.Fatalf("traffic ls:\n%s", r)
	}
	r = w.must(0, "traffic", "ls", "deployment.d")
	if strings.Count(r.stdout, "req-") != 5 || !strings.Contains(r.stdout, "[REDACTED:email]") {
		t.Fatalf("traffic ls deployment.d:\n%s", r)
	}
	r = w.must(0, "traffic", "show", "deployment.d", ids[0])
	for _, want := range []string{"[REDACTED:email] asks about [REDACTED:pattern]", "reset it in the console", "rating 5", "mail [REDACTED:email]"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("traffic show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = w.must(0, "traffic", "show", "-json", "deployment.d", ids[1])
	var shown struct {
		Exchange struct {
			RequestID string `json:"request_id"`
			Status    int    `json:"status"`
		} `json:"exchange"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown.Exchange.RequestID != ids[1] || shown.Exchange.Status != 200 {
		t.Errorf("traffic show -json: %v\n%s", err, r.stdout)
	}
	w.must(1, "traffic", "show", "deployment.d", "req-000000000000000000000000")
	r = w.must(0, "traffic", "export", "deployment.d")
	if n := strings.Count(r.stdout, "\n"); n != 5 {
		t.Errorf("export: %d lines, want 5:\n%s", n, r.stdout)
	}
	r = w.must(0, "traffic", "export", "-min-rating", "4", "-o", "good.jsonl", "deployment.d")
	if b, _ := os.ReadFile(filepath.Join(w.dir, "good.jsonl")); strings.Count(string(b), "\n") != 1 || anyEmail.Match(b) {
		t.Errorf("export -min-rating 4:\n%s", b)
	}

	// No email reached the disk.
	filepath.Walk(filepath.Join(w.dir, ".llmops", "artifacts", "traffic"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); anyEmail.Match(b) || strings.Contains(string(b), "ACCT-1234567") {
				t.Errorf("%s holds an email or an account number", p)
			}
		}
		return err
	})

	// The plan: both datasets have a new version, the run on one is replaced.
	r = w.must(2, append([]string{"plan", "-no-color", "-detailed-exitcode"}, vars...)...)
	for _, want := range []string{"dataset.feedback will be updated in place", "dataset.good will be updated in place", "training_run.ft must be replaced"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "changed outside") {
		t.Errorf("new traffic shows as drift:\n%s", r.stdout)
	}
	w.must(0, append([]string{"apply", "-auto-approve"}, vars...)...)
	if got := stateNum(t, w, "dataset.feedback", "rows"); got != "5" {
		t.Errorf("dataset.feedback has %s rows, want 5", got)
	}
	if got := stateNum(t, w, "dataset.good", "rows"); got != "1" {
		t.Errorf("dataset.good (min_rating 4) has %s rows, want 1", got)
	}

	// Two new rows are below min_new_rows (3) for feedback: no new version.
	for i := 0; i < 2; i++ {
		post(t, ep+"/completions", `{"model":"m","prompt":"more "}`)
	}
	waitSealed(t, w, 8)
	r = w.must(0, append([]string{"plan", "-no-color"}, vars...)...)
	if strings.Contains(r.stdout, "dataset.feedback will be") || strings.Contains(r.stdout, "training_run.ft") {
		t.Errorf("2 new rows (< min_new_rows 3) planned a new version:\n%s", r.stdout)
	}
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer e2e-traffic-key-0123456789abcdef")
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
	return resp
}

// waitSealed waits until the captured records (exchanges and feedback)
// are all in sealed segments.
func waitSealed(t *testing.T, w *workspace, records int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := w.must(0, "traffic", "ls", "-json")
		var doc struct {
			Deployments []struct {
				Open, Rows, Feedback int
			} `json:"deployments"`
		}
		json.Unmarshal([]byte(strings.ReplaceAll(strings.ReplaceAll(r.stdout, `"open_segments"`, `"open"`), `"exchanges"`, `"rows"`)), &doc)
		if len(doc.Deployments) == 1 && doc.Deployments[0].Open == 0 && doc.Deployments[0].Rows+doc.Deployments[0].Feedback == records {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the capture did not seal %d records within 15s:\n%s", records, r.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stateNum(t *testing.T, w *workspace, addr, name string) string {
	t.Helper()
	r := w.must(0, "state", "show", addr)
	m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*(\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("%s has no %s:\n%s", addr, name, r.stdout)
	}
	return m[1]
}
