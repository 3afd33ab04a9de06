package local_test

// A retrieval-augmented deployment through the CLI and the official
// OpenAI Go client: an embedding index of a few notes built by the
// quickstart's embed command, a prompt with {{context}} and {{question}},
// and deployment "support" whose gateway retrieves for each question and
// cites the chunks. Re-indexing (a note added) plans a new revision, and
// the answer then cites the new note. Skipped with -short.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

const ragHCL = `
dataset "notes" {
  source = "file://notes.jsonl"
}

embedding_index "notes" {
  dataset = dataset.notes.id
  model   = model.base.id
  command = ["go", "run", "./embed"]
}

prompt "support" {
  template = "Notes:\n{{context}}\n\nQuestion: {{question}}\nAnswer:"
}

deployment "support" {
  model = model.base.id
  serve {
    command = ["go", "run", "./serve", "-model", "{model_path}", "-port", "{port}"]
  }
  retrieval {
    index    = embedding_index.notes.id
    top_k    = 2
    template = prompt.support.id
  }
  access {
    api_keys = [var.api_key]
  }
}

monitor "support" {
  deployment = deployment.support.id
  interval   = "1s"
  check "empty_retrieval_rate" { max = 0.5 }
}

output "support_endpoint" {
  value = deployment.support.endpoint
}
`

var ragNotes = []string{
	"refunds are paid back to the original card within five days",
	"passwords are reset from the login page with the forgot link",
	"invoices are sent by email at the start of every month",
	"the mobile app works offline and syncs when back online",
}

func writeNotes(t *testing.T, dir string, notes []string) {
	var b strings.Builder
	for _, n := range notes {
		line, _ := json.Marshal(map[string]string{"text": n})
		b.Write(line)
		b.WriteByte('\n')
	}
	must(t, os.WriteFile(filepath.Join(dir, "notes.jsonl"), []byte(b.String()), 0o644))
}

type citation struct {
	ID    int64   `json:"id"`
	Score float64 `json:"score"`
}

// citations reads the extension field of a response (or a stream's chunk).
func citations(t *testing.T, raw string) []citation {
	t.Helper()
	var doc struct {
		Citations []citation `json:"citations"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || doc.Citations == nil {
		t.Fatalf("no citations in %s (%v)", raw, err)
	}
	return doc.Citations
}

// askNote asks the deployment for note i's text and checks that the
// answer cites note i first, as an exact match (score ~1), and at most 2.
func askNote(ctx context.Context, t *testing.T, c openai.Client, i int) {
	t.Helper()
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tinylm", MaxTokens: openai.Int(8), Seed: openai.Int(1),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer briefly."), openai.UserMessage(ragNotes[i])}})
	if err != nil || len(resp.Choices) != 1 {
		t.Fatalf("RAG chat: %v %+v", err, resp)
	}
	cs := citations(t, resp.RawJSON())
	if len(cs) == 0 || len(cs) > 2 || cs[0].ID != int64(i) || cs[0].Score < 0.99 {
		t.Fatalf("citations for note %d: %+v, want note %d first with score ~1, at most top_k=2", i, cs, i)
	}
	for j := 1; j < len(cs); j++ {
		if cs[j].Score > cs[j-1].Score {
			t.Fatalf("citations not best first: %+v", cs)
		}
	}
	// The prompt the model got is the filled template: its usage counts
	// the notes, far more than the question alone.
	if resp.Usage.PromptTokens <= int64(len(ragNotes[i])+len("Answer briefly.")) {
		t.Fatalf("prompt_tokens %d: the model did not get the filled template", resp.Usage.PromptTokens)
	}
}

func TestE2ERetrievalDeployment(t *testing.T) {
	q := newQuickstart(t)
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=1000000")
	writeNotes(t, q.dir, ragNotes)
	must(t, os.WriteFile(filepath.Join(q.dir, "rag.llmops.hcl"), []byte(ragHCL), 0o644))
	q.ok("init")
	r := q.ok("apply", "-auto-approve")
	contains(t, r.out, "embedding_index.notes: Creation complete", "deployment.support: Creation complete")
	ep, key := q.output("support_endpoint"), q.output("api_key")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := openaiClient(ep, key)
	askNote(ctx, t, c, 1)

	// A completion's prompt is the question too; a stream's first chunk
	// carries the citations.
	comp, err := c.Completions.New(ctx, openai.CompletionNewParams{Model: "tinylm", MaxTokens: openai.Int(4),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(ragNotes[2])}})
	if err != nil {
		t.Fatalf("RAG completion: %v", err)
	}
	if cs := citations(t, comp.RawJSON()); cs[0].ID != 2 {
		t.Fatalf("completion citations %+v, want note 2 first", cs)
	}
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "tinylm", MaxTokens: openai.Int(6),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(ragNotes[3])}})
	first := ""
	for stream.Next() {
		if first == "" {
			first = stream.Current().RawJSON()
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("RAG stream: %v", err)
	}
	if cs := citations(t, first); cs[0].ID != 3 {
		t.Fatalf("stream citations %+v, want note 3 first", cs)
	}
	// A request without a question is refused, naming the param.
	_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tinylm",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("only a system prompt")}})
	apiError(t, "RAG chat without a user message", err, 400, "invalid_value", "messages")

	// The gateway's retrieval metric, read by the monitor's check (its
	// reading as the provider keeps it: a refresh whose readings alone
	// changed records no drift).
	time.Sleep(1100 * time.Millisecond) // the monitor's interval
	q.ok("apply", "-auto-approve", "-refresh-only")
	files, _ := filepath.Glob(filepath.Join(q.dir, ".llmops", "artifacts", "runs", "local", "monitor", "*", "monitor.json"))
	var reading struct {
		Config struct {
			Deployment string `json:"deployment"`
		} `json:"config"`
		Result struct {
			Status string             `json:"status"`
			Values map[string]float64 `json:"values"`
		} `json:"result"`
	}
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		if strings.Contains(string(b), "empty_retrieval_rate") {
			must(t, json.Unmarshal(b, &reading))
			found = true
		}
	}
	if v, ok := reading.Result.Values["empty_retrieval_rate"]; !found || !ok || v != 0 || reading.Result.Status != "ok" {
		t.Fatalf("monitor.support's reading should be empty_retrieval_rate = 0 (3 retrievals that found notes), status ok: %+v", reading)
	}

	// Re-indexing: a new note is a new index, so a new revision of the
	// deployment, which the plan shows.
	writeNotes(t, q.dir, append(ragNotes, "support is open from nine to five on weekdays"))
	plan := q.run("plan", "-detailed-exitcode")
	if plan.code != 2 {
		t.Fatalf("plan after re-indexing: exit %d, want 2 (changes)\n%s", plan.code, plan.out)
	}
	contains(t, plan.out, "embedding_index.notes", "deployment.support", "revision")
	if !regexp.MustCompile(`(?s)deployment\.support.*index\s+=.*\(known after apply\).*revision\s+=\s*1\s*->\s*\(known after apply\)`).MatchString(plan.out) {
		t.Fatalf("the plan should show deployment.support's index and revision changing:\n%s", plan.out)
	}
	q.ok("apply", "-auto-approve")
	if rev := strings.TrimSpace(q.ok("state", "show", "deployment.support").out); !strings.Contains(rev, "revision") || !regexp.MustCompile(`revision\s*=\s*2\b`).MatchString(rev) {
		t.Fatalf("deployment.support after re-indexing, want revision 2:\n%s", rev)
	}
	ragNotes = append(ragNotes, "support is open from nine to five on weekdays")
	defer func() { ragNotes = ragNotes[:4] }()
	askNote(ctx, t, c, 4)
}
