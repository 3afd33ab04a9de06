package local

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// Chunking defaults.
const (
	defaultChunkSize    = 1000
	defaultChunkOverlap = 100
	defaultTextField    = "text"
	embeddingsFile      = "embeddings.jsonl"
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
type chunk struct {
	ID   int    `json:"id"`
	Row  int    `json:"row"`
	Text string `json:"text"`
}

// chunkFile splits every row's text into chunks of size characters, the
// next starting overlap characters before the previous one ends.
func chunkFile(path, format, field string, size, overlap int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out strings.Builder
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	id, row := 0, 0
	emit := func(text string) error {
		r := []rune(text)
		for start := 0; start < len(r); start += size - overlap {
			end := start + size
			if end > len(r) {
				end = len(r)
			}
			if err := enc.Encode(chunk{ID: id, Row: row, Text: string(r[start:end])}); err != nil {
				return err
			}
			id++
			if end == len(r) {
				break
			}
		}
		row++
		return nil
	}
	switch format {
	case "csv":
		cr := csv.NewReader(bufio.NewReader(f))
		header, err := cr.Read()
		if err != nil {
			return nil, err
		}
		col := -1
		for i, h := range header {
			if h == field {
				col = i
			}
		}
		if col < 0 {
			return nil, fmt.Errorf("the CSV has no column %q (columns: %s); set text_field", field, strings.Join(header, ", "))
		}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if err := emit(rec[col]); err != nil {
				return nil, err
			}
		}
	default:
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			text := sc.Text()
			if strings.TrimSpace(text) == "" {
				continue
			}
			if format == "jsonl" {
				var obj map[string]any
				if err := json.Unmarshal([]byte(text), &obj); err != nil {
					return nil, fmt.Errorf("line %d is not a JSON object: %v", line, err)
				}
				s, ok := obj[field].(string)
				if !ok {
					return nil, fmt.Errorf("line %d has no string field %q; set text_field", line, field)
				}
				text = s
			}
			if err := emit(text); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return []byte(out.String()), nil
}
