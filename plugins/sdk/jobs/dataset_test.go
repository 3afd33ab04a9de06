package jobs_test

import (
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
	if _, err := jobs.BuildDatasetBundle(t.TempDir(), src, "jsonl", "", nil, 1); err == nil || !strings.Contains(err.Error(), "line 2") {
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
