package local

import (
	"context"
	"path/filepath"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// Chunking defaults.
const (
	defaultChunkSize    = retrieval.DefaultChunkSize
	defaultChunkOverlap = retrieval.DefaultChunkOverlap
	defaultTextField    = retrieval.DefaultTextField
	embeddingsFile      = retrieval.EmbeddingsFile
	embeddingsStdout    = "embeddings.stdout.jsonl"
)

var embeddingKind = &jobKind{
	kind: schema.EmbeddingIndex, prefix: "index", collect: "index", idIsArtifact: true,
	prepare: prepareEmbedding,
	finished: func(_ *meta, st *sdk.Object, man *jobs.Manifest) sdk.Diagnostics {
		out := man.Outputs["index"]
		st.SetString("id", out.ID)
		st.SetString("digest", out.ID)
		st.SetString("path", out.Path)
		st.SetFloat("chunks", man.Metrics["chunks"])
		st.SetFloat("dimensions", man.Metrics["dimensions"])
		return nil
	},
	clear: func(st *sdk.Object) {
		for _, n := range []string{"digest", "path", "chunks", "dimensions"} {
			st.SetNull(n)
		}
	},
	stored: func(st sdk.Object) []string {
		if id := st.GetString("digest"); id != "" {
			return []string{id}
		}
		return nil
	},
}

func embeddingIndexResource() *sdk.Resource {
	k := embeddingKind
	return &sdk.Resource{
		Schema:   kindsdk.Block(schema.EmbeddingIndex, sdk.Block{}),
		Validate: validateJob(schema.EmbeddingIndex),
		ModifyPlan: func(ctx context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			d := checkGPUsAtPlan(ctx, req)
			d = append(d, k.planIdentity(ctx, req, &planned)...)
			return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
		},
		Create: k.create,
		Read:   k.read,
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return &sdk.Response{State: done(req.Planned)}
		},
		Delete: k.delete,
	}
}

// prepareEmbedding chunks the corpus into a chunks file in the artifact
// store, which the command reads on stdin (and at LLMOPS_INPUT_PATH).
func prepareEmbedding(_ context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics) {
	var d sdk.Diagnostics
	in := &jobInputs{identity: map[string]any{}, stdoutFile: embeddingsStdout}
	ds := st.GetString("dataset")
	info, dir, err := m.readDataset(ds)
	if err != nil {
		d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
		return nil, d
	}
	size, overlap := int(defaultChunkSize), int(defaultChunkOverlap)
	if st.IsSet("chunk_size") {
		size = int(st.GetInt("chunk_size"))
	}
	if st.IsSet("chunk_overlap") {
		overlap = int(st.GetInt("chunk_overlap"))
	}
	if overlap >= size {
		overlap = size - 1
	}
	field := st.GetString("text_field")
	if field == "" {
		field = defaultTextField
	}
	data := filepath.Join(dir, info.Data)
	chunks, err := chunkFile(data, info.Format, field, size, overlap)
	if err != nil {
		d.AttrErrorf(attr("dataset"), "Cannot chunk the dataset", "%v", err)
		return nil, d
	}
	stored, err := m.store.PutBytes(chunks)
	if err != nil {
		d.FromError("Cannot store the chunks", err)
		return nil, d
	}
	in.stdin = stored.Path
	in.env.InputPath = stored.Path
	in.env.DatasetPath = data
	if model := st.GetString("model"); model != "" {
		p, err := m.store.Resolve(model)
		if err != nil {
			d.AttrErrorf(attr("model"), "Embedding model not found", "%v", err)
			return nil, d
		}
		in.env.ModelPath = p
		in.identity["model"] = model
	}
	in.identity["dataset"] = ds
	in.identity["chunks"] = string(stored.ID)
	in.identity["chunk_size"], in.identity["chunk_overlap"], in.identity["text_field"] = size, overlap, field
	return in, d
}

// chunk is one line of the chunks file.
type chunk = retrieval.Chunk

// chunkFile splits every row's text into chunks (retrieval.ChunkFile).
func chunkFile(path, format, field string, size, overlap int) ([]byte, error) {
	return retrieval.ChunkFile(path, format, field, size, overlap)
}
