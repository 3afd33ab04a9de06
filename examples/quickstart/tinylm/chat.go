package tinylm

import (
	"fmt"
	"math"
	"strings"
	"text/template"
)

// DefaultChatTemplate is the chat template of a model whose config.json
// declares none: one line per message, "role: content", then the
// assistant's turn. Like a Hugging Face model's chat_template (Jinja
// there, Go text/template here), it sees .Messages (each with .Role and
// .Content) and .AddGenerationPrompt.
const DefaultChatTemplate = "{{range .Messages}}{{.Role}}: {{.Content}}\n{{end}}{{if .AddGenerationPrompt}}assistant: {{end}}"

// Message is one turn of a conversation.
type Message struct {
	Role    string
	Content string
}

// ChatPrompt renders a conversation (system prompt, history, the last user
// message) into the prompt the model continues, with the chat template its
// config declares (DefaultChatTemplate when none).
func (m *Model) ChatPrompt(msgs []Message) (string, error) {
	src := m.Cfg.ChatTemplate
	if src == "" {
		src = DefaultChatTemplate
	}
	tpl, err := template.New("chat_template").Option("missingkey=error").Parse(src)
	if err != nil {
		return "", fmt.Errorf("tinylm: the model's chat_template: %w", err)
	}
	var b strings.Builder
	data := struct {
		Messages            []Message
		AddGenerationPrompt bool
	}{msgs, true}
	if err := tpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("tinylm: the model's chat_template: %w", err)
	}
	return b.String(), nil
}

// Embed returns text's embedding: the model's hidden activations at every
// position of the text, averaged, centred and scaled to unit length. Equal
// texts give equal vectors; the index (embedding_index) and the
// deployment's /v1/embeddings use this same function, so a question and
// the chunks it is compared to live in the same space.
func (m *Model) Embed(text string) []float32 {
	H := m.Cfg.Hidden
	out := make([]float32, H)
	ids := m.Encode(text)
	if len(ids) == 0 {
		return out
	}
	ws := m.NewWorkspace()
	ctx := make([]int, 0, m.Cfg.Context)
	for t := 1; t <= len(ids); t++ {
		ctx = m.Context(ctx, ids, t)
		m.Forward(ws, ctx)
		for j, h := range ws.h[:H] {
			out[j] += h
		}
	}
	var mean float32
	for j := range out {
		out[j] /= float32(len(ids))
		mean += out[j]
	}
	mean /= float32(H)
	var norm float64
	for j := range out {
		out[j] -= mean
		norm += float64(out[j]) * float64(out[j])
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for j := range out {
			out[j] *= inv
		}
	}
	return out
}
