package gateway

import (
	"bufio"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// testEmbed plays an embedding command: the vector of a text counts its
// letters a, b, c and d.
func testEmbed() int {
	var c struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&c); err != nil {
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"embedding": letterVector(c.Text)})
	return 0
}

func letterVector(s string) []float32 {
	v := make([]float32, 4)
	for _, r := range s {
		if r >= 'a' && r <= 'd' {
			v[r-'a']++
		}
	}
	return v
}

// testIndex writes an index of the texts (chunk i has id 10+i).
func testIndex(t *testing.T, texts ...string) string {
	p := filepath.Join(t.TempDir(), "index.sqlite")
	db, err := sql.Open("sqlite3", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`CREATE TABLE chunks(id INTEGER PRIMARY KEY, row INTEGER NOT NULL, text TEXT NOT NULL, embedding BLOB NOT NULL)`,
		`INSERT INTO meta VALUES ('format', '` + retrieval.IndexFormat + `')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range texts {
		blob := make([]byte, 16)
		for j, f := range letterVector(s) {
			binary.LittleEndian.PutUint32(blob[4*j:], math.Float32bits(f))
		}
		if _, err := db.Exec(`INSERT INTO chunks VALUES (?, ?, ?, ?)`, 10+i, i, s, blob); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// ragReplica answers chat completions with the prompt it got as the
// content, as JSON or as a stream whose events arrive in small pieces.
func ragReplica(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream   bool `json:"stream"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad body: "+string(b), 400)
			return
		}
		got := req.Messages[len(req.Messages)-1].Content
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"object": "chat.completion", "choices": []any{map[string]any{"message": map[string]any{"content": got}}}})
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		ev, _ := json.Marshal(map[string]any{"object": "chat.completion.chunk", "choices": []any{map[string]any{"delta": map[string]any{"content": got}}}})
		for _, piece := range []string{"da", "ta:", " ", string(ev[:1]), string(ev[1:]) + "\n\n", "data: [DONE]\n\n"} {
			io.WriteString(w, piece)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRetrievalAugmented(t *testing.T) {
	exe, _ := os.Executable()
	t.Setenv("GATEWAY_TEST_EMBED", "1")
	be := ragReplica(t)
	g := startGateway(t, Config{Revision: 1, Backends: []Backend{{URL: be.URL, Revision: 1}}, Retrieval: &retrieval.Config{
		IndexID: "sha256:test", Index: testIndex(t, "aaaa", "bbbb", "abab", "cccc"), TopK: 2, MinScore: 0.1,
		Template: "Notes:\n{{context}}\nQ: {{ question }}", Command: []string{exe}}})
	chat := g.url + "/v1/chat/completions"

	r := call(t, "POST", chat, testKey, `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"bbb b"}]}`)
	if r.code != 200 {
		t.Fatalf("RAG chat: %d %s", r.code, r.raw)
	}
	var doc struct {
		Citations []retrieval.Hit `json:"citations"`
		Choices   []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil || len(doc.Citations) != 2 || len(doc.Choices) != 1 {
		t.Fatalf("RAG chat: %v %s", err, r.raw)
	}
	if c := doc.Citations; c[0].ID != 11 || c[0].Score < 0.999 || c[1].ID != 12 || math.Abs(c[1].Score-math.Sqrt(0.5)) > 1e-6 {
		t.Fatalf("citations %+v, want 11 (score 1) then 12 (score 0.707)", c)
	}
	if want := "Notes:\n[11] bbbb\n\n[12] abab\nQ: bbb b"; doc.Choices[0].Message.Content != want {
		t.Fatalf("the replica got %q, want %q", doc.Choices[0].Message.Content, want)
	}

	// A stream: the citations are in the first event, whatever pieces it
	// arrives in.
	r = call(t, "POST", chat, testKey, `{"stream":true,"messages":[{"role":"user","content":"cc"}]}`)
	first, _, _ := strings.Cut(strings.TrimPrefix(r.raw, "data: "), "\n")
	if r.code != 200 || !strings.HasPrefix(first, `{"citations":[{"id":13,"score":1}],"choices"`) || !strings.HasSuffix(r.raw, "data: [DONE]\n\n") {
		t.Fatalf("RAG stream: %d %q", r.code, r.raw)
	}

	// Nothing reaches min_score: an empty retrieval, answered with an
	// empty context; no question: 400 naming the param.
	r = call(t, "POST", chat, testKey, `{"messages":[{"role":"user","content":"xyz"}]}`)
	if r.code != 200 || !strings.Contains(r.raw, `"citations":[]`) {
		t.Fatalf("empty retrieval: %d %s", r.code, r.raw)
	}
	r = call(t, "POST", chat, testKey, `{"messages":[{"role":"assistant","content":"hi"}]}`)
	if e, _ := r.body["error"].(map[string]any); r.code != 400 || e["param"] != "messages" || e["code"] != "invalid_value" {
		t.Fatalf("no question: %d %s", r.code, r.raw)
	}
	m := call(t, "GET", g.url+"/metrics", "", "").raw
	for _, want := range []string{
		`llmops_gateway_retrievals_total{deployment="dep-test",result="hit",revision="1"} 2`,
		`llmops_gateway_retrievals_total{deployment="dep-test",result="empty",revision="1"} 1`,
		`llmops_gateway_retrievals_total{deployment="dep-test",result="error",revision="1"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %s:\n%s", want, m)
		}
	}
	snap := SnapshotOf(mustParse(t, m), 1, g.srv.metrics.start)
	if st := Window(nil, snap); st.Retrievals != 3 || st.EmptyRetrievalRate() != 1.0/3 {
		t.Fatalf("stats %+v, want 3 retrievals, 1 empty", st)
	}

	// The embedding command failing is a 502 retrieval_failed.
	t.Setenv("GATEWAY_TEST_EMBED", "")
	g.reload(func(c *Config) {
		r := *c.Retrieval
		r.Command = []string{exe, "-test.run=^$", "-no-such-flag"}
		c.Retrieval = &r
	})
	r = call(t, "POST", chat, testKey, `{"messages":[{"role":"user","content":"aa"}]}`)
	if r.code != 502 || errCode(r) != "retrieval_failed" {
		t.Fatalf("failing embedding: %d %s", r.code, r.raw)
	}
}

func mustParse(t *testing.T, text string) []Sample {
	s, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(fmt.Errorf("parsing the metrics: %w", err))
	}
	return s
}
