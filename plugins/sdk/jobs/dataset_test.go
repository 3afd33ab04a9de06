package jobs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/jobs"
)

func TestBuildDatasetBundle(t *testing.T) {
	src := filepath.Join(t.TempDir(), "d.jsonl")
	var rows []string
	for i := 0; i < 200; i++ {
		rows = append(rows, `{"text": "row `+strings.Repeat("x", i%17)+string(rune('a'+i%26))+`"}`)
	}
	os.WriteFile(src, []byte(strings.Join(rows, "\n")+"\n\n"), 0o644)
	build := func(seed int64) (*jobs.DatasetInfo, string) {
		dir := t.TempDir()
		info, err := jobs.BuildDatasetBundle(dir, src, "jsonl", "sha256:src", map[string]float64{"train": 0.8, "eval": 0.2}, seed)
		if err != nil {
			t.Fatal(err)
		}
		return info, dir
	}
	a, dir := build(1)
	b, _ := build(1)
	if a.Rows != 200 || a.Splits["train"].Rows+a.Splits["eval"].Rows != 200 || a.Splits["train"].Digest != b.Splits["train"].Digest {
		t.Fatalf("bundle: %+v", a)
	}
	if c, _ := build(2); c.Splits["train"].Digest == a.Splits["train"].Digest {
		t.Fatalf("the seed does not change the split")
	}
	got, err := jobs.ReadDatasetInfo(dir)
	if err != nil || got.SourceDigest != "sha256:src" || got.Data != "data.jsonl" {
		t.Fatalf("ReadDatasetInfo: %+v %v", got, err)
	}
	var e jobs.Env
	got.DatasetEnv(&e, "/staged", false)
	if e.DatasetPath != "/staged/data.jsonl" || e.TrainPath != "/staged/splits/train.jsonl" || e.EvalPath != "/staged/splits/eval.jsonl" || len(e.Splits) != 2 {
		t.Fatalf("training env: %+v", e)
	}
	e = jobs.Env{}
	got.DatasetEnv(&e, "/staged", true)
	if e.DatasetPath != "/staged/splits/eval.jsonl" || e.TrainPath != "" {
		t.Fatalf("evaluation env: %+v", e)
	}
	os.WriteFile(src, []byte("{\"ok\":1}\nnot json\n"), 0o644)
	if _, err := jobs.BuildDatasetBundle(t.TempDir(), src, "jsonl", "", nil, 1); err == nil || !strings.Contains(err.Error(), "data.jsonl:2: not valid JSON") {
		t.Fatalf("invalid JSON line: %v", err)
	}
	csv := filepath.Join(t.TempDir(), "d.csv")
	os.WriteFile(csv, []byte("a,b\n1,2\n3,4\n"), 0o644)
	if info, err := jobs.BuildDatasetBundle(t.TempDir(), csv, "csv", "", nil, 1); err != nil || info.Rows != 2 {
		t.Fatalf("csv: %+v %v", info, err)
	}
	if _, err := jobs.ReadDatasetInfo(t.TempDir()); err == nil {
		t.Fatalf("a directory without dataset.json is a bundle")
	}
}

func TestLatestCheckpoint(t *testing.T) {
	out := t.TempDir()
	if got := jobs.LatestCheckpoint(out); got != "" {
		t.Fatalf("no checkpoints: %q", got)
	}
	root := filepath.Join(out, jobs.CheckpointsDir)
	for _, n := range []string{"step-900", "step-1000", "step-99", ".step-2000.tmp"} {
		os.MkdirAll(filepath.Join(root, n), 0o755)
	}
	os.WriteFile(filepath.Join(root, "step-5000"), nil, 0o644) // a file, not a checkpoint
	if got := jobs.LatestCheckpoint(out); filepath.Base(got) != "step-1000" {
		t.Fatalf("latest = %q, want step-1000", got)
	}
	os.MkdirAll(filepath.Join(root, "epoch-002"), 0o755)
	os.Symlink("step-99", filepath.Join(root, "latest"))
	if got := jobs.LatestCheckpoint(out); filepath.Base(got) != "latest" {
		t.Fatalf("with a latest link: %q", got)
	}
}

// CheckDatasetFile finds the first bad row and names it file:line, with
// the name the caller gives (the source as configured), and counts rows
// like a bundle does.
func TestCheckDatasetFile(t *testing.T) {
	cases := []struct {
		name, format, data string
		rows               int64
		err                string // "" for a good file
	}{
		{"jsonl ok", "jsonl", "{\"a\":1}\n\n{\"a\":2}\r\n", 2, ""},
		{"jsonl bad row after a blank line", "jsonl", "{\"a\":1}\n\n{\"a\":2\n", 0, "data/x.jsonl:3: not valid JSON (unexpected end of JSON input): {\"a\":2"},
		{"jsonl long bad row is clipped", "jsonl", strings.Repeat("x", 100) + "\n", 0, "data/x.jsonl:1: not valid JSON (invalid character 'x' looking for beginning of value): " + strings.Repeat("x", 80) + "..."},
		{"txt takes any line", "txt", "not json\nat all\n", 2, ""},
		{"csv ok", "csv", "q,a\n1,2\n3,4\n", 2, ""},
		{"csv wrong field count", "csv", "q,a\n1,2\n3\n", 0, "data/x.jsonl:3: not a valid CSV record: wrong number of fields"},
		{"csv bare quote", "csv", "q,a\n1,2\n3,4\n5,a\"b\n", 0, "data/x.jsonl:4: not a valid CSV record: bare \" in non-quoted-field"},
		{"csv bad header", "csv", "q,\"a\n", 0, "data/x.jsonl:1: not a valid CSV record: extraneous or missing \" in quoted-field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, []byte(c.data), 0o644); err != nil {
				t.Fatal(err)
			}
			rows, err := jobs.CheckDatasetFile(p, c.format, "data/x.jsonl")
			if c.err == "" {
				if err != nil || rows != c.rows {
					t.Fatalf("rows %d, err %v; want %d rows", rows, err, c.rows)
				}
				return
			}
			var re *jobs.RowError
			if !errors.As(err, &re) || err.Error() != c.err {
				t.Fatalf("err %v (%T)\nwant %s", err, err, c.err)
			}
		})
	}
	if _, err := jobs.CheckDatasetFile(filepath.Join(t.TempDir(), "missing"), "jsonl", "x"); err == nil || errors.As(err, new(*jobs.RowError)) {
		t.Fatalf("a missing file is not a row error: %v", err)
	}
}
