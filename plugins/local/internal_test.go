package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitterIsDeterministicAndStable(t *testing.T) {
	rows := make([][]byte, 2000)
	for i := range rows {
		rows[i] = []byte(fmt.Sprintf(`{"text": "row %d"}`, i))
	}
	sp := newSplitter(map[string]float64{"train": 0.8, "eval": 0.1, "test": 0.1}, 1)
	counts := map[string]int{}
	assign := make([]int, len(rows))
	for i, r := range rows {
		assign[i] = sp.assign(r)
		counts[sp.names[assign[i]]]++
	}
	// Proportions are close to the fractions.
	for name, want := range map[string]float64{"train": 0.8, "eval": 0.1, "test": 0.1} {
		got := float64(counts[name]) / float64(len(rows))
		if got < want-0.04 || got > want+0.04 {
			t.Errorf("split %s got %.3f of the rows, want about %.2f", name, got, want)
		}
	}
	// Same seed, same assignment, whatever the order of the rows or the
	// map; editing one row moves at most that row.
	sp2 := newSplitter(map[string]float64{"test": 0.1, "eval": 0.1, "train": 0.8}, 1)
	for i := len(rows) - 1; i >= 0; i-- {
		if sp2.assign(rows[i]) != assign[i] {
			t.Fatalf("row %d assigned differently", i)
		}
	}
	// Identical rows land together (no train/eval leakage of duplicates).
	if sp.assign([]byte("dup")) != sp.assign([]byte("dup")) {
		t.Fatalf("duplicates split apart")
	}
	// Another seed moves rows.
	sp3 := newSplitter(map[string]float64{"train": 0.8, "eval": 0.1, "test": 0.1}, 2)
	moved := 0
	for i, r := range rows {
		if sp3.assign(r) != assign[i] {
			moved++
		}
	}
	if moved < 100 {
		t.Fatalf("a new seed moved only %d rows", moved)
	}
	if newSplitter(nil, 1) != nil {
		t.Fatalf("no split, no splitter")
	}
}

func TestParseGPUs(t *testing.T) {
	got := parseGPUs("0, NVIDIA A100-SXM4-80GB, 81920 MiB\n1, NVIDIA A100-SXM4-80GB, 81920 MiB\n\nNo devices were found\n2, Tesla T4, with, commas, 15360 MiB\n")
	want := []GPU{{"0", "NVIDIA A100-SXM4-80GB", 81920}, {"1", "NVIDIA A100-SXM4-80GB", 81920}, {"2", "Tesla T4, with, commas", 15360}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseGPUs = %+v", got)
	}
}

func TestInferFormat(t *testing.T) {
	for in, want := range map[string]string{"file://a/b.jsonl": "jsonl", "x.NDJSON": "jsonl", "d.csv": "csv", "n.txt": "txt", "p.parquet": "", "noext": ""} {
		if got := inferFormat(in); got != want {
			t.Errorf("inferFormat(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChunkFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.jsonl")
	if err := os.WriteFile(p, []byte(`{"text": "abcdefghij"}`+"\n"+`{"text": "é€ü"}`+"\n\n"+`{"body": "x", "text": "k"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := chunkFile(p, "jsonl", "text", 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c chunk
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%d:%s", c.ID, c.Row, c.Text))
	}
	want := []string{"0/0:abcd", "1/0:defg", "2/0:ghij", "3/1:é€ü", "4/2:k"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks %q, want %q", got, want)
	}
	if _, err := chunkFile(p, "jsonl", "missing", 4, 1); err == nil || !strings.Contains(err.Error(), `no string field "missing"`) {
		t.Fatalf("missing field: %v", err)
	}
	c := filepath.Join(dir, "d.csv")
	os.WriteFile(c, []byte("id,body\n1,hello\n"), 0o644)
	if _, err := chunkFile(c, "csv", "text", 4, 1); err == nil || !strings.Contains(err.Error(), "columns: id, body") {
		t.Fatalf("csv column: %v", err)
	}
}

func TestRunHandles(t *testing.T) {
	r := &runner{root: "/store/runs/local"}
	hex := strings.Repeat("a", 64)
	rn, err := r.open("training_run/" + hex)
	if err != nil || rn.dir != "/store/runs/local/training_run/"+hex {
		t.Fatalf("open: %v %v", rn, err)
	}
	for _, bad := range []string{"", "training_run", "../x/" + hex, "training_run/../../" + hex[6:], "a/b/" + hex, "training_run/" + hex[:63]} {
		if _, err := r.open(bad); err == nil {
			t.Errorf("open(%q) accepted", bad)
		}
	}
}

func TestProcStart(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	me := os.Getpid()
	if procStart(me) == 0 || !sameProcess(me, procStart(me)) || sameProcess(me, procStart(me)+1) {
		t.Fatalf("procStart/sameProcess do not recognise this process")
	}
	if sameProcess(0, 0) || groupAlive(0) {
		t.Fatalf("pid 0")
	}
}
