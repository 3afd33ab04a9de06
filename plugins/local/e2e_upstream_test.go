package local_test

// An upstream deployment through the CLI: the quickstart's deployment
// plays the hosted API, and deployment "gpt" puts it behind a second
// gateway with its own team key, as a hosted model would be; an evaluation
// targets it. The upstream key is the quickstart deployment's key: it must
// reach only the upstream, never a file under the configuration directory
// or llmops' output. Skipped with -short.

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

const upstreamHCL = `
variable "team_key" {
  type      = string
  sensitive = true
}

deployment "gpt" {
  upstream {
    base_url = deployment.tickets.endpoint
    api_key  = var.api_key
    model    = "tinylm"
  }
  access {
    api_keys = [var.team_key]
  }
}

evaluation "hosted" {
  endpoint = deployment.gpt.endpoint
  api_key  = var.team_key
  dataset  = dataset.tickets.id
  command  = ["go", "run", "./eval", "-max-examples", "5"]
}

output "gpt_endpoint" {
  value = deployment.gpt.endpoint
}
`

func TestE2EUpstreamDeployment(t *testing.T) {
	q := newQuickstart(t)
	teamKey := "sk-team-" + strings.Repeat("7", 24)
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=1000000", "LLMOPS_VAR_team_key="+teamKey)
	must(t, os.WriteFile(filepath.Join(q.dir, "upstream.llmops.hcl"), []byte(upstreamHCL), 0o644))
	q.ok("init")
	r := q.ok("apply", "-auto-approve")
	contains(t, r.out, "deployment.gpt: Creation complete", "evaluation.hosted: Creation complete")
	ep := q.output("gpt_endpoint")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The team key works; the upstream key does not open the upstream
	// deployment's gateway (only its own team key does).
	c := openaiClient(ep, teamKey)
	page, err := c.Models.List(ctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "tinylm" {
		t.Fatalf("models through the upstream deployment: %v %+v", err, page)
	}
	comp, err := c.Completions.New(ctx, openai.CompletionNewParams{Model: "tinylm",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("kes job ")}, MaxTokens: openai.Int(6), Temperature: openai.Float(0)})
	if err != nil || len(comp.Choices) != 1 || comp.Usage.CompletionTokens == 0 {
		t.Fatalf("a completion through the upstream deployment: %v %+v", err, comp)
	}
	wrong := openaiClient(ep, q.apiKey)
	_, err = wrong.Models.List(ctx)
	apiError(t, "the upstream's key at the upstream deployment's gateway", err, 401, "invalid_api_key", "")
	_, err = c.Completions.New(ctx, openai.CompletionNewParams{Model: "gpt-4o",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("x")}})
	apiError(t, "another model", err, 404, "model_not_found", "model")

	// The evaluation ran against the hosted model and measured it.
	if res := q.output("eval_results"); res == "" {
		t.Fatalf("no eval results")
	}
	show := q.ok("state", "show", "evaluation.hosted").out
	contains(t, show, "accuracy", "scored_examples")
	q.noChanges()

	// The upstream key: nowhere under the configuration directory (state,
	// records, gateway configuration and logs), nor in llmops' output.
	if strings.Contains(r.out, q.apiKey) || strings.Contains(show, q.apiKey) {
		t.Fatalf("the upstream key is in llmops' output")
	}
	err = filepath.WalkDir(filepath.Join(q.dir, ".llmops"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), q.apiKey) {
			t.Errorf("the upstream key is in %s", p)
		}
		return nil
	})
	must(t, err)
}
