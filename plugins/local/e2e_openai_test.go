package local_test

// The quickstart's deployment called with the official OpenAI Go client
// (github.com/openai/openai-go), through the gateway: what a user's first
// calls do. Skipped with -short.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func openaiClient(ep, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(ep+"/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
}

// apiError asserts err is an API error with this status, code and param.
func apiError(t *testing.T, what string, err error, status int, code, param string) {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v, want an API error %d", what, err, status)
	}
	if e.StatusCode != status || e.Code != code || e.Param != param || e.Message == "" ||
		e.Response == nil || e.Response.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%s: %d code=%q param=%q message=%q request-id=%q, want %d code=%q param=%q",
			what, e.StatusCode, e.Code, e.Param, e.Message, e.Response.Header.Get("X-Request-Id"), status, code, param)
	}
}

func TestE2EOpenAIClient(t *testing.T) {
	q := newQuickstart(t)
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=1000000")
	q.ok("init")
	q.ok("apply", "-auto-approve")
	ep, key := q.output("endpoint"), q.output("api_key")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := openaiClient(ep, key)

	// Models: list and retrieve.
	page, err := c.Models.List(ctx)
	if err != nil || len(page.Data) == 0 || page.Data[0].ID != "tinylm" {
		t.Fatalf("models.list: %v %+v", err, page)
	}
	if m, err := c.Models.Get(ctx, "tinylm"); err != nil || m.ID != "tinylm" || m.Object != "model" {
		t.Fatalf("models.retrieve: %v %+v", err, m)
	}
	_, err = c.Models.Get(ctx, "gpt-nope")
	apiError(t, "models.retrieve of an unknown model", err, 404, "model_not_found", "model")

	// Completions, without and with streaming: the same seeded text.
	params := openai.CompletionNewParams{Model: "tinylm", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("kes job ")},
		MaxTokens: openai.Int(20), Temperature: openai.Float(0.7), Seed: openai.Int(5)}
	comp, err := c.Completions.New(ctx, params)
	if err != nil || len(comp.Choices) != 1 || comp.Model != "tinylm" || comp.Usage.PromptTokens != 8 || comp.Usage.CompletionTokens == 0 {
		t.Fatalf("completions: %v %+v", err, comp)
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	events, usage := 0, int64(0)
	for stream.Next() {
		ch := stream.Current()
		events++
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Text)
		}
		if ch.Usage.CompletionTokens > 0 {
			usage = ch.Usage.CompletionTokens
		}
	}
	if err := stream.Err(); err != nil || text.String() != comp.Choices[0].Text || events < 3 || usage != comp.Usage.CompletionTokens {
		t.Fatalf("streamed completion: err %v, %d events, %q (usage %d), want %q (usage %d)", err, events, text.String(), usage, comp.Choices[0].Text, comp.Usage.CompletionTokens)
	}

	// Chat: the whole conversation, without and with streaming.
	chatParams := openai.ChatCompletionNewParams{Model: "tinylm", MaxTokens: openai.Int(12), Temperature: openai.Float(0),
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You answer Kestrel support tickets."),
			openai.UserMessage("My job kj-4821 failed."),
			openai.AssistantMessage("Which error code?"),
			openai.UserMessage("KST-507"),
		}}
	chat, err := c.Chat.Completions.New(ctx, chatParams)
	rendered := "system: You answer Kestrel support tickets.\nuser: My job kj-4821 failed.\nassistant: Which error code?\nuser: KST-507\nassistant: "
	if err != nil || len(chat.Choices) != 1 || chat.Choices[0].Message.Role != "assistant" || chat.Usage.PromptTokens != int64(len(rendered)) {
		t.Fatalf("chat: %v %+v (want %d prompt tokens: the whole conversation)", err, chat, len(rendered))
	}
	cs := c.Chat.Completions.NewStreaming(ctx, chatParams)
	text.Reset()
	for cs.Next() {
		if ch := cs.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if err := cs.Err(); err != nil || text.String() != chat.Choices[0].Message.Content {
		t.Fatalf("streamed chat: %v %q, want %q", err, text.String(), chat.Choices[0].Message.Content)
	}

	// Embeddings, float and base64.
	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "tinylm",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"kes job list", "KST-507"}}})
	if err != nil || len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 {
		t.Fatalf("embeddings: %v %+v", err, emb)
	}
	b64, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "tinylm", EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64,
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("kes job list")}})
	if err != nil || len(b64.Data) != 1 || len(b64.Data[0].Embedding) != len(emb.Data[0].Embedding) ||
		float32(b64.Data[0].Embedding[0]) != float32(emb.Data[0].Embedding[0]) {
		t.Fatalf("base64 embeddings: %v, %d dims", err, len(b64.Data))
	}

	// Refusals: wrong key, unknown model, unsupported parameter.
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
	wrong := openaiClient(ep, key+"x")
	_, err = wrong.Completions.New(ctx, params)
	apiError(t, "a wrong key", err, 401, "invalid_api_key", "")
	bad := params
	bad.Model = "gpt-4o"
	_, err = c.Completions.New(ctx, bad)
	apiError(t, "an unknown model", err, 404, "model_not_found", "model")
	bad = params
	bad.N = openai.Int(3)
	_, err = c.Completions.New(ctx, bad)
	apiError(t, "n = 3", err, 400, "unsupported_parameter", "n")
	badChat := chatParams
	badChat.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &openai.ResponseFormatJSONObjectParam{}}
	_, err = c.Chat.Completions.New(ctx, badChat)
	apiError(t, "response_format json_object", err, 400, "unsupported_parameter", "response_format")

	// Every response carries X-Request-Id, refusals included.
	var resp *http.Response
	_, _ = c.Models.List(ctx, option.WithResponseInto(&resp))
	if resp == nil || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("no X-Request-Id on models.list")
	}
}
