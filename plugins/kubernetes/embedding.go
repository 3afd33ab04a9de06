package kubernetes

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
	"github.com/llmops/llmops/schema"
)

// embeddingKind builds an embedding index with a Job: the provider chunks
// the dataset (as every provider does, retrieval.ChunkFile) and pushes the
// chunks to the remote store; the runner fetches them (LLMOPS_INPUT_PATH),
// feeds them to the command on stdin and pushes the vectors it wrote
// (LLMOPS_OUTPUT_DIR/embeddings.jsonl, else its stdout); the provider
// then writes the index (SQLite, retrieval.WriteIndex) into the store.
var embeddingKind = &jobKind{
	kind: schema.EmbeddingIndex, prefix: "index", collect: collectEmbeddings, idIsArtifact: true,
	identity: func(st sdk.Object) (map[string]any, error) {
		c := chunkingOf(st)
		in := map[string]any{"dataset": st.GetString("dataset"), "chunk_size": c.size, "chunk_overlap": c.overlap, "text_field": c.field}
		if model := st.GetString("model"); model != "" {
			in["model"] = model
		}
		return in, nil
	},
	prepare: func(ctx context.Context, m *meta, st sdk.Object) (*jobs.Env, sdk.Diagnostics) {
		var d sdk.Diagnostics
		e := &jobs.Env{}
		chunks, data, err := m.chunks(ctx, st)
		if err != nil {
			d.AttrErrorf(attr("dataset"), "Cannot chunk the dataset", "%v", err)
			return nil, d
		}
		if err := m.store.Push(ctx, chunks.ID); err != nil {
			d.FromError("Cannot push the chunks to the remote artifact store", err)
			return nil, d
		}
		e.InputPath, e.DatasetPath = chunks.Path, data
		if model := st.GetString("model"); model != "" {
			p, err := m.input(ctx, model)
			if err != nil {
				d.AttrErrorf(attr("model"), "Embedding model not found", "%v. model takes a model id, such as model.embedder.id.", err)
				return nil, d
			}
			e.ModelPath = p
		}
		return e, d
	},
	finished: func(ctx context.Context, m *meta, st *sdk.Object, res *result) sdk.Diagnostics {
		var d sdk.Diagnostics
		vid := res.Outputs[collectEmbeddings]
		if vid == "" {
			d.Errorf("The embedding job left no vectors", "Its runner's result lists no embeddings output (%s).", res.Reason)
			return d
		}
		vpath, err := m.store.ResolveContext(ctx, vid)
		if err != nil {
			d.FromError("Cannot fetch the vectors from the artifact store", err)
			return d
		}
		chunkInfo, _, err := m.chunks(ctx, *st)
		if err != nil {
			d.AttrErrorf(attr("dataset"), "Cannot chunk the dataset", "%v", err)
			return d
		}
		chunks, err := retrieval.ReadChunks(chunkInfo.Path)
		if err != nil {
			d.FromError("Cannot read the chunks", err)
			return d
		}
		vectors, err := retrieval.ReadVectors(vpath)
		if err != nil {
			d.Errorf("The embedding command's vectors are invalid", "%v", err)
			return d
		}
		if err := os.MkdirAll(filepath.Join(m.store.Root(), "tmp"), 0o755); err != nil {
			d.FromError("Cannot build the index", err)
			return d
		}
		dir, err := os.MkdirTemp(filepath.Join(m.store.Root(), "tmp"), "index-")
		if err != nil {
			d.FromError("Cannot build the index", err)
			return d
		}
		defer os.RemoveAll(dir)
		db := filepath.Join(dir, "index.sqlite")
		stats, err := retrieval.WriteIndex(db, chunks, vectors, m.embedderMeta(ctx, *st))
		if err != nil {
			d.Errorf("Cannot build the index", "%v", err)
			return d
		}
		info, err := m.store.PutContext(ctx, db, artifacts.PutOptions{Mode: artifacts.Move})
		if err != nil {
			d.FromError("Cannot store the index", err)
			return d
		}
		st.SetString("id", string(info.ID))
		st.SetString("digest", string(info.ID))
		st.SetString("path", info.Path)
		st.SetInt("chunks", int64(stats.Chunks))
		st.SetInt("dimensions", int64(stats.Dimensions))
		return d
	},
	clear: func(st *sdk.Object) {
		for _, a := range []string{"id", "digest", "path", "chunks", "dimensions"} {
			st.SetNull(a)
		}
	},
}

func embeddingIndexResource() *sdk.Resource {
	r := jobResource(embeddingKind)
	r.Import = nil // the index is an artifact, not a Job to adopt
	return r
}

// chunking is an index's chunking settings, defaults applied.
type chunking struct {
	size, overlap int
	field         string
}

func chunkingOf(st sdk.Object) chunking {
	c := chunking{size: retrieval.DefaultChunkSize, overlap: retrieval.DefaultChunkOverlap, field: retrieval.DefaultTextField}
	if st.IsSet("chunk_size") {
		c.size = int(st.GetInt("chunk_size"))
	}
	if st.IsSet("chunk_overlap") {
		c.overlap = int(st.GetInt("chunk_overlap"))
	}
	if c.overlap >= c.size {
		c.overlap = c.size - 1
	}
	if f := st.GetString("text_field"); f != "" {
		c.field = f
	}
	return c
}

// chunks stores the chunks of an index's dataset in the local store (the
// same bytes each time: the store keeps one copy) and returns them and
// the dataset's data file.
func (m *meta) chunks(ctx context.Context, st sdk.Object) (artifacts.Info, string, error) {
	dir, err := m.store.ResolveContext(ctx, st.GetString("dataset"))
	if err != nil {
		return artifacts.Info{}, "", err
	}
	info, err := jobs.ReadDatasetInfo(dir)
	if err != nil {
		return artifacts.Info{}, "", err
	}
	c := chunkingOf(st)
	data := filepath.Join(dir, info.Data)
	b, err := retrieval.ChunkFile(data, info.Format, c.field, c.size, c.overlap)
	if err != nil {
		return artifacts.Info{}, "", err
	}
	stored, err := m.store.PutBytesContext(ctx, b)
	return stored, data, err
}

// embedderMeta is how the index's vectors were made, for a deployment's
// retrieval to embed questions the same way on the llmops host: the
// command (a sensitive element is refused on Kubernetes, so it is always
// recorded) and the model's path relative to the store.
func (m *meta) embedderMeta(ctx context.Context, st sdk.Object) map[string]string {
	out := map[string]string{retrieval.MetaEmbedModelPath: ""}
	b, _ := json.Marshal(st.GetStrings("command"))
	out[retrieval.MetaEmbedCommand] = string(b)
	if model := st.GetString("model"); model != "" {
		if p, err := m.store.ResolveContext(ctx, model); err == nil {
			if rel, err := filepath.Rel(m.store.Root(), p); err == nil && !strings.HasPrefix(rel, "..") {
				out[retrieval.MetaEmbedModelPath] = rel
			}
		}
	}
	return out
}
