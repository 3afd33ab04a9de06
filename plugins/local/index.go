package local

import (
	"bufio"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the index format

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// IndexFormat is recorded in an index's meta table.
const IndexFormat = retrieval.IndexFormat

type indexStats struct{ chunks, dimensions int }

// buildIndex reads the chunks (the job's stdin) and the vectors the
// command wrote ($LLMOPS_OUTPUT_DIR/embeddings.jsonl, else its stdout),
// one per chunk in order, and stores them as a SQLite file:
//
//	meta(key TEXT PRIMARY KEY, value TEXT)   format, dimensions, chunks,
//	                                         embed_command, embed_model_path
//	chunks(id INTEGER PRIMARY KEY, row INTEGER, text TEXT, embedding BLOB)
//
// where embedding is little-endian float32. A vector line is a JSON array
// of numbers, or an object with an "embedding" (or "vector") array.
func buildIndex(store *artifacts.Store, rn *run, spec *jobSpec) (artifacts.Info, indexStats, error) {
	var st indexStats
	chunks, err := readChunks(spec.Stdin)
	if err != nil {
		return artifacts.Info{}, st, fmt.Errorf("reading the chunks: %w", err)
	}
	vecPath := filepath.Join(rn.outputDir(), embeddingsFile)
	if _, err := os.Stat(vecPath); err != nil {
		vecPath = rn.path(embeddingsStdout)
	}
	vectors, err := readVectors(vecPath)
	if err != nil {
		return artifacts.Info{}, st, err
	}
	if len(vectors) != len(chunks) {
		return artifacts.Info{}, st, fmt.Errorf("the command wrote %d vectors for %d chunks (one JSON line per chunk, in order, to stdout or $LLMOPS_OUTPUT_DIR/%s)", len(vectors), len(chunks), embeddingsFile)
	}
	for i, v := range vectors {
		if i == 0 {
			st.dimensions = len(v)
		}
		if len(v) != st.dimensions || len(v) == 0 {
			return artifacts.Info{}, st, fmt.Errorf("vector %d has %d dimensions, vector 0 has %d", i, len(v), st.dimensions)
		}
	}
	st.chunks = len(chunks)
	dbPath := filepath.Join(rn.outputDir(), "index.sqlite")
	_ = os.Remove(dbPath)
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		return artifacts.Info{}, st, err
	}
	err = func() error {
		defer db.Close()
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, q := range []string{
			`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
			`CREATE TABLE chunks(id INTEGER PRIMARY KEY, row INTEGER NOT NULL, text TEXT NOT NULL, embedding BLOB NOT NULL)`,
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		meta := map[string]string{"format": IndexFormat, "dimensions": fmt.Sprint(st.dimensions), "chunks": fmt.Sprint(st.chunks)}
		for k, v := range embedderMeta(store, spec) {
			meta[k] = v
		}
		for k, v := range meta {
			if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES (?, ?)`, k, v); err != nil {
				return err
			}
		}
		ins, err := tx.Prepare(`INSERT INTO chunks(id, row, text, embedding) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		blob := make([]byte, 4*st.dimensions)
		for i, c := range chunks {
			for j, f := range vectors[i] {
				binary.LittleEndian.PutUint32(blob[4*j:], math.Float32bits(float32(f)))
			}
			if _, err := ins.Exec(c.ID, c.Row, c.Text, blob); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		return artifacts.Info{}, st, fmt.Errorf("writing the index: %w", err)
	}
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

func readChunks(path string) ([]chunk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []chunk
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var c chunk
		if err := dec.Decode(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func readVectors(path string) ([][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the command wrote no vectors (neither $LLMOPS_OUTPUT_DIR/%s nor stdout): %w", embeddingsFile, err)
	}
	defer f.Close()
	var out [][]float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var v []float64
		if err := json.Unmarshal(b, &v); err != nil {
			var obj struct {
				Embedding []float64 `json:"embedding"`
				Vector    []float64 `json:"vector"`
			}
			if err := json.Unmarshal(b, &obj); err != nil {
				return nil, fmt.Errorf("vector line %d: %v", line, err)
			}
			v = obj.Embedding
			if v == nil {
				v = obj.Vector
			}
		}
		out = append(out, v)
	}
	return out, sc.Err()
}
