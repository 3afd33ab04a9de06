package local_test

// The retraining loop of issue 22 on the quickstart, through the llmops
// CLI: the deployment captures its traffic, a dataset is made from it,
// the training run of the deployment's own model trains on it (no cycle:
// deployment.tickets.traffic reads the prior state), and a drift monitor
// watches the captured inputs. Skipped with -short.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// loopHCL edits the quickstart into the loop: old -> new, in order.
var loopHCL = [][2]string{
	// The dataset of the deployment's traffic (the tickets file until the
	// deployment exists), which the training run now trains on.
	{`model "base" {`, `dataset "feedback" {
  source       = coalesce(deployment.tickets.traffic, "file://data/tickets.jsonl")
  min_new_rows = 200
  split        = { train = 0.9, eval = 0.1 }
  seed         = 1
}

model "base" {`},
	{"dataset    = dataset.tickets.id\n  method", "dataset    = dataset.feedback.id\n  method"},
	// The retrained model is judged on the tickets' held-out split; the
	// test is about the loop, not about what the model learns from its
	// own answers.
	{"metric = \"accuracy_gain\" # over the base model, on the same split\n    min    = 0.2", "metric = \"accuracy_gain\" # over the base model, on the same split\n    min    = -1"},
	{"  depends_on = [evaluation.quality]\n}", "  capture {\n    sample = 1\n  }\n  depends_on = [evaluation.quality]\n}"},
	// The monitor watches the language of the captured inputs against the
	// tickets (its live evaluation would add its own traffic).
	{`evaluations = { quality = evaluation.quality.id }`, `training_dataset = dataset.tickets.id`},
	{`check "eval:quality.accuracy" { min = 0.2 } # the evaluation rerun live (the base model: ~0.1)`, `check "drift:language" { max = 0.25 }`},
	{`interval    = "30s"`, `interval    = "1s"`},
}

// ticketPrompts are the customers' questions of the quickstart's tickets
// (English, as the training data), the prompts of the test's traffic.
func ticketPrompts(t *testing.T, q *quickstart) []string {
	b, err := os.ReadFile(filepath.Join(q.dir, "data", "tickets.jsonl"))
	must(t, err)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row struct{ Text string }
		must(t, json.Unmarshal([]byte(line), &row))
		_, question, _ := strings.Cut(row.Text, ". ")
		question, _, _ = strings.Cut(question, " | ")
		out = append(out, question)
	}
	return out
}

// send sends one completion with the official client and returns the
// request id and revision that answered.
func send(ctx context.Context, c openai.Client, prompt string) (id, revision string, err error) {
	var resp *http.Response
	_, err = c.Completions.New(ctx, openai.CompletionNewParams{
		Model:     "tinylm",
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
		MaxTokens: openai.Int(12),
	}, option.WithResponseInto(&resp))
	if resp != nil {
		id, revision = resp.Header.Get("X-Request-Id"), resp.Header.Get("X-LLMOps-Revision")
	}
	return id, revision, err
}

// waitCaptured waits until the deployment's capture holds this many
// records (exchanges and feedback), all in sealed segments.
func (q *quickstart) waitCaptured(records int) {
	q.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := q.ok("traffic", "ls", "-json").out
		var doc struct {
			Deployments []struct {
				Open     int `json:"open_segments"`
				Rows     int `json:"exchanges"`
				Feedback int `json:"feedback"`
			} `json:"deployments"`
		}
		json.Unmarshal([]byte(out), &doc)
		if len(doc.Deployments) == 1 && doc.Deployments[0].Open == 0 && doc.Deployments[0].Rows+doc.Deployments[0].Feedback == records {
			return
		}
		if time.Now().After(deadline) {
			q.t.Fatalf("the capture did not hold %d sealed records within 30s:\n%s", records, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestE2ERetrainingLoop(t *testing.T) {
	start := time.Now()
	q := newQuickstart(t)
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=1000000", "LLMOPS_VAR_min_accuracy=0", "LLMOPS_CAPTURE_SEAL_AFTER=200ms")
	for _, e := range loopHCL {
		q.editHCL(e[0], e[1])
	}
	q.ok("init")

	// The first apply: the deployment is not in the state, so its traffic
	// is null (the loop cannot wait for it) and the dataset starts from
	// the tickets file.
	r := q.ok("apply", "-auto-approve")
	contains(t, r.out, "deployment.tickets.traffic is null in this run", "deployment.tickets: Creation complete")
	if strings.Contains(r.out, "Dependency cycle") {
		t.Fatalf("the loop is a cycle:\n%s", r.out)
	}
	t.Logf("first apply: %s", r.took.Round(100*time.Millisecond))
	ep, key := q.output("endpoint"), q.output("api_key")
	firstModel := q.output("fine_tuned_model")

	// A few hundred requests with the official client, one in ten with an
	// email address in the prompt; feedback on some.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := openaiClient(ep, key)
	prompts := ticketPrompts(t, q)
	const n = 300
	var ids []string
	for i := 0; i < n; i++ {
		p := prompts[i%len(prompts)]
		if i%10 == 0 {
			p = fmt.Sprintf("I am customer%d@example.org. %s", i, p)
		}
		id, rev, err := send(ctx, c, p)
		if err != nil || id == "" || rev != "1" {
			t.Fatalf("request %d: %v (request id %q, revision %q)", i, err, id, rev)
		}
		ids = append(ids, id)
	}
	feedback := 0
	for i := 0; i < n; i += 30 {
		body := fmt.Sprintf(`{"request_id": %q, "rating": 5, "correction": "Mail customer%d@example.org back."}`, ids[i], i)
		req, _ := http.NewRequestWithContext(ctx, "POST", ep+"/feedback", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("feedback: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("feedback: %d", resp.StatusCode)
		}
		feedback++
	}
	q.waitCaptured(n + feedback)
	q.ok("traffic", "export", "-sealed", "-o", "captured.jsonl", "deployment.tickets")
	b, err := os.ReadFile(filepath.Join(q.dir, "captured.jsonl"))
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < n {
		t.Fatalf("traffic export: %d exchanges, want at least the %d sent", len(lines), n)
	}
	exported := len(lines)
	if strings.Contains(string(b), "@example.org") || !strings.Contains(string(b), "[REDACTED:email]") {
		t.Errorf("the export is not redacted")
	}

	// No email reached the disk: not in the capture, the state, the logs.
	noEmail := func() {
		t.Helper()
		filepath.Walk(filepath.Join(q.dir, ".llmops"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), "@example.org") {
					t.Errorf("%s holds an email address of the traffic", p)
				}
			}
			return nil
		})
	}
	noEmail()

	// The plan: the dataset's new version, the retraining it implies and
	// the deployment moving to the new model.
	r = q.run("plan", "-no-color", "-detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("plan after the traffic: exit %d, want 2\n%s", r.code, r.out)
	}
	contains(t, r.out, "dataset.feedback will be updated in place", "training_run.ft must be replaced",
		"evaluation.quality must be replaced", "deployment.tickets will be updated in place")
	if strings.Contains(r.out, "Dependency cycle") || strings.Contains(r.out, "changed outside") {
		t.Fatalf("plan:\n%s", r.out)
	}

	// Apply retrains and rolls the deployment to the new model blue/green:
	// a client calling throughout sees no failed request, the endpoint
	// stays, the new revision answers once it is done.
	var mu sync.Mutex
	served, failed := 0, []string{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			_, _, err := send(ctx, c, prompts[i%len(prompts)])
			mu.Lock()
			if err != nil {
				failed = append(failed, err.Error())
			} else {
				served++
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // a client's pace, not a load test
		}
	}()
	r = q.ok("apply", "-auto-approve")
	close(done)
	wg.Wait()
	t.Logf("retraining apply: %s", r.took.Round(100*time.Millisecond))
	contains(t, r.out, "training_run.ft: Creation complete", "deployment.tickets: Modifying", "deployment.tickets: Modifications complete")
	if len(failed) > 0 || served == 0 {
		t.Fatalf("during the blue/green update %d requests succeeded and %d failed, e.g. %v", served, len(failed), failed[:min(3, len(failed))])
	}
	if q.output("endpoint") != ep {
		t.Fatalf("the endpoint changed: %s", q.output("endpoint"))
	}
	if q.output("fine_tuned_model") == firstModel {
		t.Fatalf("the training run did not make a new model")
	}
	if _, rev, err := send(ctx, c, prompts[0]); err != nil || rev != "2" {
		t.Fatalf("after the retraining: revision %q (%v), want 2", rev, err)
	}
	// The dataset's own rows (the least indented; its splits have theirs).
	show := q.ok("state", "show", "dataset.feedback").out
	rows, indent := "", 1<<30
	for _, m := range regexp.MustCompile(`(?m)^( *)rows\s*=\s*(\d+)`).FindAllStringSubmatch(show, -1) {
		if len(m[1]) < indent {
			rows, indent = m[2], len(m[1])
		}
	}
	// The snapshot keeps the answered exchanges of what was captured
	// before the plan.
	if r, err := strconv.Atoi(rows); err != nil || r < n*3/4 || r > exported {
		t.Errorf("dataset.feedback rows: %q, want the answered exchanges of the %d captured before the plan\n%s", rows, exported, show)
	}
	t.Logf("dataset.feedback: %s rows of %d exchanges captured before the plan", rows, exported)
	t.Logf("blue/green update: %d requests served during it, none failed", served)
	noEmail()

	// Drift: a reading of English traffic does not breach drift:language;
	// once the traffic's language changes, the next reading does.
	for i := 0; i < 40; i++ {
		if _, _, err := send(ctx, c, prompts[i]); err != nil {
			t.Fatal(err)
		}
	}
	// The monitor reads at most every interval (1s): the 40 requests
	// above took longer than that.
	r = q.ok("watch", "-once")
	if strings.Contains(q.ok("events").out, "drift:language") {
		t.Fatalf("English traffic breached drift:language:\n%s\n%s", r.out, q.ok("events").out)
	}
	for i := 0; i < 40; i++ {
		p := []string{"Как перезапустить задачу с последней контрольной точки?", "Не могу войти в консоль, помогите пожалуйста.",
			"ジョブを最後のチェックポイントから再開するには?", "予約の期間を延長できますか?"}[i%4]
		if _, _, err := send(ctx, c, p); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		q.ok("watch", "-once")
		ev := q.ok("events").out
		if strings.Contains(ev, "monitor.breach") && strings.Contains(ev, "drift:language") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drift:language breach in the events within 30s of non-English traffic:\n%s", ev)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the loop end to end: %s", time.Since(start).Round(time.Second))
}
