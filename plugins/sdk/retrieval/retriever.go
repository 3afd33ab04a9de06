package retrieval

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// DefaultTopK is the number of chunks retrieved when top_k is unset.
const DefaultTopK = 4

// Config is a deployment's retrieval as its gateway runs it (a part of
// the gateway's configuration, written by the provider).
type Config struct {
	// IndexID is the index's id (its digest); Index its file.
	IndexID string `json:"index_id"`
	Index   string `json:"index"`
	TopK    int    `json:"top_k"`
	// MinScore is the cosine similarity a chunk needs.
	MinScore float64 `json:"min_score"`
	// Template is the prompt's text, with {{context}} and {{question}}.
	Template string `json:"template"`
	// Command is the embedding command (the index's), run in Dir with
	// LLMOPS_MODEL_PATH=ModelPath.
	Command   []string `json:"command"`
	ModelPath string   `json:"model_path,omitempty"`
	Dir       string   `json:"dir,omitempty"`
}

// Retriever answers questions from one index.
type Retriever struct {
	cfg   Config
	index *Index
	embed Embedder
}

// New loads the configured index.
func New(cfg Config) (*Retriever, error) {
	ix, err := Open(cfg.Index)
	if err != nil {
		return nil, err
	}
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("the index %s records no embedding command", cfg.IndexID)
	}
	if cfg.TopK <= 0 {
		cfg.TopK = DefaultTopK
	}
	env := os.Environ()
	if cfg.ModelPath != "" {
		env = append(env, "LLMOPS_MODEL_PATH="+cfg.ModelPath)
	}
	return &Retriever{cfg: cfg, index: ix, embed: Embedder{Argv: cfg.Command, Dir: cfg.Dir, Env: env}}, nil
}

// Config is the retriever's configuration.
func (r *Retriever) Config() Config { return r.cfg }

// Retrieve embeds the question, searches the index and fills the
// template: the prompt for the model and the chunks it cites (none: an
// empty retrieval; the template is filled with an empty context).
func (r *Retriever) Retrieve(ctx context.Context, question string) (string, []Hit, error) {
	q, err := r.embed.Embed(ctx, question)
	if err != nil {
		return "", nil, err
	}
	hits, err := r.index.Search(q, r.cfg.TopK, r.cfg.MinScore)
	if err != nil {
		return "", nil, err
	}
	return Fill(r.cfg.Template, hits, strings.TrimSpace(question)), hits, nil
}
