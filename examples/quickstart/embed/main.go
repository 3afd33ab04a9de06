// Command embed is the quickstart's embedding command, under the
// embedding_index job contract: it reads JSON lines of chunks
// ({"id", "row", "text"}) on stdin and writes one JSON line per chunk, in
// order, on stdout: {"embedding": [...]}, the tinylm model's embedding of
// the chunk's text (tinylm.Model.Embed, the same function a deployment's
// POST /v1/embeddings answers with, so questions and chunks compare).
//
//	embed [-model DIR]     (default $LLMOPS_MODEL_PATH)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func main() {
	dir := flag.String("model", os.Getenv("LLMOPS_MODEL_PATH"), "model directory (config.json + model.bin)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "embed: error: -model DIR (or LLMOPS_MODEL_PATH) is required")
		os.Exit(2)
	}
	m, err := tinylm.Load(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "embed: error: %v\n", err)
		os.Exit(1)
	}
	n, err := run(m, os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "embed: error: chunk %d: %v\n", n+1, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "embed: %d chunks, %d dimensions\n", n, m.Cfg.Hidden)
}

// run embeds every chunk of in and writes the vectors to out.
func run(m *tinylm.Model, in io.Reader, out io.Writer) (int, error) {
	dec := json.NewDecoder(bufio.NewReader(in))
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	n := 0
	for dec.More() {
		var c struct {
			Text string `json:"text"`
		}
		if err := dec.Decode(&c); err != nil {
			return n, err
		}
		if err := enc.Encode(map[string]any{"embedding": m.Embed(c.Text)}); err != nil {
			return n, err
		}
		n++
	}
	return n, w.Flush()
}
