package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func TestRun(t *testing.T) {
	m, err := tinylm.Load("../base")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"id":0,"row":0,"text":"kes job list"}` + "\n" + `{"id":1,"row":1,"text":"the weather today"}` + "\n"
	var out bytes.Buffer
	n, err := run(m, strings.NewReader(in), &out)
	if err != nil || n != 2 {
		t.Fatalf("run: %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var v struct{ Embedding []float32 }
	if err := json.Unmarshal([]byte(lines[0]), &v); err != nil {
		t.Fatal(err)
	}
	want := m.Embed("kes job list")
	if len(v.Embedding) != len(want) || v.Embedding[0] != want[0] || v.Embedding[len(want)-1] != want[len(want)-1] {
		t.Fatalf("line 0 is not the model's embedding of the chunk")
	}
}
