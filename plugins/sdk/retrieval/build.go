package retrieval

import (
	"bufio"
	"database/sql"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// How an embedding_index chunks its dataset by default, and where its
// command writes vectors (docs/job-contract.md, "Embedding commands").
const (
	DefaultChunkSize    = 1000
	DefaultChunkOverlap = 100
	DefaultTextField    = "text"
	// EmbeddingsFile is the command's vectors under LLMOPS_OUTPUT_DIR
	// (else its stdout).
	EmbeddingsFile = "embeddings.jsonl"
)

// Chunk is one line of a chunks file, what an embedding command reads.
type Chunk struct {
	ID   int    `json:"id"`
	Row  int    `json:"row"`
	Text string `json:"text"`
}

// Stats describes a built index.
type Stats struct{ Chunks, Dimensions int }

// ChunkFile splits every row's text (the field of a JSON line, the column
// of a CSV file, a line of text) of a dataset's data file into chunks of
// size characters, the next starting overlap characters before the
// previous one ends, and returns them as JSON lines (Chunk). Every
// provider that builds an index chunks the same way, so an index's chunks
// depend only on the dataset and the chunking settings.
func ChunkFile(path, format, field string, size, overlap int) ([]byte, error) {
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
			if err := enc.Encode(Chunk{ID: id, Row: row, Text: string(r[start:end])}); err != nil {
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

// ReadChunks reads a chunks file.
func ReadChunks(path string) ([]Chunk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Chunk
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var c Chunk
		if err := dec.Decode(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ReadVectors reads an embedding command's output: one JSON line per
// chunk, an array of numbers or an object with an "embedding" (or
// "vector") array.
func ReadVectors(path string) ([][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the command wrote no vectors (neither $LLMOPS_OUTPUT_DIR/%s nor stdout): %w", EmbeddingsFile, err)
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

// WriteIndex writes the index file at dbPath (replacing it) from the
// chunks and their vectors, one per chunk in order, with meta's entries
// beside format, dimensions and chunks in its meta table:
//
//	meta(key TEXT PRIMARY KEY, value TEXT)
//	chunks(id INTEGER PRIMARY KEY, row INTEGER, text TEXT, embedding BLOB)
//
// where embedding is little-endian float32. It fails when the counts
// differ or a vector's dimensions differ from the first's.
func WriteIndex(dbPath string, chunks []Chunk, vectors [][]float64, meta map[string]string) (Stats, error) {
	var st Stats
	if len(vectors) != len(chunks) {
		return st, fmt.Errorf("the command wrote %d vectors for %d chunks (one JSON line per chunk, in order, to stdout or $LLMOPS_OUTPUT_DIR/%s)", len(vectors), len(chunks), EmbeddingsFile)
	}
	for i, v := range vectors {
		if i == 0 {
			st.Dimensions = len(v)
		}
		if len(v) != st.Dimensions || len(v) == 0 {
			return st, fmt.Errorf("vector %d has %d dimensions, vector 0 has %d", i, len(v), st.Dimensions)
		}
	}
	st.Chunks = len(chunks)
	_ = os.Remove(dbPath)
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		return st, err
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
		all := map[string]string{"format": IndexFormat, "dimensions": fmt.Sprint(st.Dimensions), "chunks": fmt.Sprint(st.Chunks)}
		for k, v := range meta {
			all[k] = v
		}
		for k, v := range all {
			if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES (?, ?)`, k, v); err != nil {
				return err
			}
		}
		ins, err := tx.Prepare(`INSERT INTO chunks(id, row, text, embedding) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		blob := make([]byte, 4*st.Dimensions)
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
		return st, fmt.Errorf("writing the index: %w", err)
	}
	return st, nil
}
