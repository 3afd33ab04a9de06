package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// IndexFormat is recorded in an index's meta table.
const IndexFormat = retrieval.IndexFormat

type indexStats struct{ chunks, dimensions int }

// buildIndex reads the chunks (the job's stdin) and the vectors the
// command wrote ($LLMOPS_OUTPUT_DIR/embeddings.jsonl, else its stdout),
// one per chunk in order, and stores them as the index file
// (retrieval.WriteIndex).
func buildIndex(store *artifacts.Store, rn *run, spec *jobSpec) (artifacts.Info, indexStats, error) {
	var st indexStats
	chunks, err := retrieval.ReadChunks(spec.Stdin)
	if err != nil {
		return artifacts.Info{}, st, fmt.Errorf("reading the chunks: %w", err)
	}
	vecPath := filepath.Join(rn.outputDir(), embeddingsFile)
	if _, err := os.Stat(vecPath); err != nil {
		vecPath = rn.path(embeddingsStdout)
	}
	vectors, err := retrieval.ReadVectors(vecPath)
	if err != nil {
		return artifacts.Info{}, st, err
	}
	dbPath := filepath.Join(rn.outputDir(), "index.sqlite")
	stats, err := retrieval.WriteIndex(dbPath, chunks, vectors, embedderMeta(store, spec))
	if err != nil {
		return artifacts.Info{}, st, err
	}
	st.chunks, st.dimensions = stats.Chunks, stats.Dimensions
	info, err := store.Put(dbPath, artifacts.PutOptions{Mode: artifacts.Move})
	return info, st, err
}

// embedderMeta is how the index's vectors were made, for a deployment's
// retrieval to embed questions the same way: the command (unless it holds
// a secret, which is never written) and the model's path in the store.
func embedderMeta(store *artifacts.Store, spec *jobSpec) map[string]string {
	out := map[string]string{retrieval.MetaEmbedCommand: "", retrieval.MetaEmbedModelPath: ""}
	if shown := recorded(spec); !shown.ArgvHidden {
		b, _ := json.Marshal(spec.Argv)
		out[retrieval.MetaEmbedCommand] = string(b)
	}
	for _, kv := range spec.Env {
		if p, ok := strings.CutPrefix(kv, jobs.EnvModelPath+"="); ok && p != "" {
			if rel, err := filepath.Rel(store.Root(), p); err == nil && !strings.HasPrefix(rel, "..") {
				out[retrieval.MetaEmbedModelPath] = rel
			}
		}
	}
	return out
}
