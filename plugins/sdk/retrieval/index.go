package retrieval

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	_ "github.com/mattn/go-sqlite3" // the index format
)

// IndexFormat is the format an index's meta table records.
const IndexFormat = "llmops-embedding-index/v1"

// Meta keys of an index that say how its vectors were made.
const (
	MetaEmbedCommand   = "embed_command"
	MetaEmbedModelPath = "embed_model_path"
)

// Index is an embedding index held in memory: each chunk's id, text and
// unit-length vector.
type Index struct {
	Dimensions int
	ids        []int64
	texts      []string
	vecs       []float32 // len(ids) * Dimensions, each row unit length
	meta       map[string]string
}

// Hit is one retrieved chunk and its cosine similarity to the question.
type Hit struct {
	ID    int64   `json:"id"`
	Score float64 `json:"score"`
	Text  string  `json:"-"`
}

// Open reads an index file (read-only).
func Open(path string) (*Index, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ix := &Index{meta: map[string]string{}}
	rows, err := db.Query(`SELECT key, value FROM meta`)
	if err != nil {
		return nil, fmt.Errorf("%s is not an embedding index: %w", path, err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		ix.meta[k] = v
	}
	rows.Close()
	if f := ix.meta["format"]; f != IndexFormat {
		return nil, fmt.Errorf("%s: index format %q, want %q", path, f, IndexFormat)
	}
	rows, err = db.Query(`SELECT id, text, embedding FROM chunks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var text string
		var blob []byte
		if err := rows.Scan(&id, &text, &blob); err != nil {
			return nil, err
		}
		if ix.Dimensions == 0 {
			ix.Dimensions = len(blob) / 4
		}
		if len(blob) != 4*ix.Dimensions || ix.Dimensions == 0 {
			return nil, fmt.Errorf("%s: chunk %d has %d bytes of vector, want %d", path, id, len(blob), 4*ix.Dimensions)
		}
		v := make([]float32, ix.Dimensions)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(blob[4*j:]))
		}
		normalize(v)
		ix.ids, ix.texts, ix.vecs = append(ix.ids, id), append(ix.texts, text), append(ix.vecs, v...)
	}
	return ix, rows.Err()
}

// Len is the number of chunks.
func (ix *Index) Len() int { return len(ix.ids) }

// Meta returns a value of the index's meta table ("" when absent).
func (ix *Index) Meta(key string) string { return ix.meta[key] }

// EmbedCommand is the argv of the command that built the index (nil when
// the index does not record it).
func (ix *Index) EmbedCommand() []string {
	var argv []string
	if json.Unmarshal([]byte(ix.meta[MetaEmbedCommand]), &argv) != nil {
		return nil
	}
	return argv
}

// Search returns the k chunks most similar to q (cosine), best first,
// leaving out those scoring below minScore.
func (ix *Index) Search(q []float32, k int, minScore float64) ([]Hit, error) {
	if len(q) != ix.Dimensions {
		return nil, fmt.Errorf("the question's vector has %d dimensions, the index's %d: it was not embedded as the index was", len(q), ix.Dimensions)
	}
	q = append([]float32(nil), q...)
	normalize(q)
	hits := make([]Hit, 0, k+1)
	for i := range ix.ids {
		row := ix.vecs[i*ix.Dimensions : (i+1)*ix.Dimensions]
		var dot float64
		for j, x := range row {
			dot += float64(x) * float64(q[j])
		}
		if dot < minScore || (len(hits) == k && dot <= hits[k-1].Score) {
			continue
		}
		at := sort.Search(len(hits), func(n int) bool { return hits[n].Score < dot })
		hits = append(hits, Hit{})
		copy(hits[at+1:], hits[at:])
		hits[at] = Hit{ID: ix.ids[i], Score: dot, Text: ix.texts[i]}
		if len(hits) > k {
			hits = hits[:k]
		}
	}
	return hits, nil
}

func normalize(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
}
