package jobs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/sdk/jobs"
	"slices"
)

func TestEnviron(t *testing.T) {
	e := jobs.Env{
		RunID: "train-1", OutputDir: "/o", BaseModelPath: "/m", DatasetPath: "/d/data.jsonl",
		TrainPath: "/d/train.jsonl", EvalPath: "/d/eval.jsonl",
		Splits:          map[string]string{"train": "/d/train.jsonl", "eval": "/d/eval.jsonl", "hold-out": "/d/h.jsonl"},
		Hyperparameters: json.RawMessage(`{"epochs":2}`), Method: "lora",
		Extra: map[string]string{"MY_FLAG": "1", "LLMOPS_RUN_ID": "hijack", "PATH": "/custom"},
	}
	base := []string{"PATH=/usr/bin", "HOME=/root", "LLMOPS_MODEL_PATH=/parent/model", "LLMOPS_SPLIT_X_PATH=/p", "EMPTY="}
	got := e.Environ(base)
	want := []string{
		"HOME=/root", "EMPTY=",
		"LLMOPS_BASE_MODEL_PATH=/m", "LLMOPS_DATASET_PATH=/d/data.jsonl", "LLMOPS_EVAL_PATH=/d/eval.jsonl",
		`LLMOPS_HPARAMS={"epochs":2}`, "LLMOPS_METHOD=lora", "LLMOPS_OUTPUT_DIR=/o", "LLMOPS_RUN_ID=train-1",
		"LLMOPS_SPLIT_EVAL_PATH=/d/eval.jsonl", "LLMOPS_SPLIT_HOLD_OUT_PATH=/d/h.jsonl", "LLMOPS_SPLIT_TRAIN_PATH=/d/train.jsonl",
		"LLMOPS_TRAIN_PATH=/d/train.jsonl", "MY_FLAG=1", "PATH=/custom",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Environ:\n got %q\nwant %q", got, want)
	}
	// A training run without hyperparameters still gets an object.
	if v := (jobs.Env{HparamsSet: true}).Vars()[jobs.EnvHparams]; v != "{}" {
		t.Fatalf("LLMOPS_HPARAMS = %q", v)
	}
	if _, ok := (jobs.Env{}).Vars()[jobs.EnvHparams]; ok {
		t.Fatalf("LLMOPS_HPARAMS set for a job that has none")
	}
	if err := jobs.CheckExtra(map[string]string{"LLMOPS_METHOD": "x", "OK": "1", "LLMOPS_SPLIT_A_PATH": "y"}); err == nil ||
		!strings.Contains(err.Error(), "LLMOPS_METHOD, LLMOPS_SPLIT_A_PATH") {
		t.Fatalf("CheckExtra: %v", err)
	}
}

func TestParseMetrics(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    map[string]float64
		ignored []string
		err     bool
	}{
		{`{"accuracy": 0.79, "loss": 1.2e-3, "steps": 2802}`, map[string]float64{"accuracy": 0.79, "loss": 0.0012, "steps": 2802}, nil, false},
		{"\ufeff {\"a\": -1}\n", map[string]float64{"a": -1}, nil, false},
		{`{"a": 1, "name": "run", "nested": {"b": 2}, "list": [1], "nil": null, "ok": true}`, map[string]float64{"a": 1, "ok": 1}, []string{"list", "name", "nested", "nil"}, false},
		{`{"loss": NaN, "x": Infinity, "y": -Infinity, "z": 3, "s": "NaN inside"}`, map[string]float64{"z": 3}, []string{"loss", "s", "x", "y"}, false},
		{`{"big": 1e400}`, map[string]float64{}, []string{"big"}, false},
		{`{}`, map[string]float64{}, nil, false},
		{`[1, 2]`, nil, nil, true},
		{`null`, nil, nil, true},
		{``, nil, nil, true},
		{`{"a": 1`, nil, nil, true},
		{`{"a": 1} trailing`, nil, nil, true},
	} {
		got, ignored, err := jobs.ParseMetrics([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("ParseMetrics(%q) error = %v, want error %v", c.in, err, c.err)
			continue
		}
		if c.err {
			continue
		}
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(ignored, c.ignored) {
			t.Errorf("ParseMetrics(%q) = %v ignored %v, want %v ignored %v", c.in, got, ignored, c.want, c.ignored)
		}
	}
}

func TestLatestMetrics(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "metrics.jsonl")
	if line, m, err := jobs.LatestMetrics(p); line != "" || m != nil || err != nil {
		t.Fatalf("missing file: %q %v %v", line, m, err)
	}
	content := `{"step":10,"loss":2.5}
{"step":20,"loss":2.1}
this is not json
{"step":30,"loss":1.9}

{"note": "no numbers"}
{"step":40,"lo`
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	line, m, err := jobs.LatestMetrics(p)
	if err != nil || line != `{"step":30,"loss":1.9}` || m["step"] != 30 || m["loss"] != 1.9 {
		t.Fatalf("got %q %v %v", line, m, err)
	}
	// A long file: only the tail is read, and still right.
	f, _ := os.Create(p)
	for i := 0; i < 20000; i++ {
		f.WriteString(`{"step":` + itoa(i) + `,"loss":1}` + "\n")
	}
	f.Close()
	if line, _, _ := jobs.LatestMetrics(p); line != `{"step":19999,"loss":1}` {
		t.Fatalf("long file: %q", line)
	}
}

func itoa(i int) string    { return jsonInt(i) }
func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		b.WriteString("line " + jsonInt(i) + "\r\n")
	}
	os.WriteFile(p, []byte(b.String()), 0o644)
	got, err := jobs.Tail(p, 3)
	if err != nil || !reflect.DeepEqual(got, []string{"line 98", "line 99", "line 100"}) {
		t.Fatalf("Tail = %q, %v", got, err)
	}
	os.WriteFile(p, []byte("only\n"), 0o644)
	if got, _ := jobs.Tail(p, 20); !reflect.DeepEqual(got, []string{"only"}) {
		t.Fatalf("short file: %q", got)
	}
	os.WriteFile(p, nil, 0o644)
	if got, _ := jobs.Tail(p, 20); got != nil {
		t.Fatalf("empty file: %q", got)
	}
	if _, err := jobs.Tail(filepath.Join(t.TempDir(), "none"), 5); err == nil {
		t.Fatalf("missing file must be an error")
	}
}

func TestManifestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), jobs.ManifestFile)
	m := &jobs.Manifest{RunID: "train-1", Kind: "training_run", Status: jobs.StatusSucceeded,
		StartedAt: time.Unix(100, 0).UTC(), FinishedAt: time.Unix(200, 0).UTC(),
		Metrics: map[string]float64{"loss": 1.5},
		Outputs: map[string]jobs.Output{"model": {ID: "sha256:" + strings.Repeat("a", 64), Size: 10, Files: 2}}}
	if err := jobs.WriteManifest(p, m); err != nil {
		t.Fatal(err)
	}
	got, err := jobs.ReadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) || !got.Succeeded() || got.Format != jobs.ManifestFormat {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	os.WriteFile(p, []byte(`{"format":"other"}`), 0o644)
	if _, err := jobs.ReadManifest(p); err == nil {
		t.Fatalf("unknown format accepted")
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestIdentity(t *testing.T) {
	in := func(hp string) map[string]any {
		return map[string]any{"base_model": "sha256:aa", "command": []string{"go", "run", "./train"}, "hyperparameters": json.RawMessage(hp), "method": "full"}
	}
	a, err := jobs.Identity("training_run", in(`{"lr": 0.01, "epochs": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	// Key order and whitespace do not matter.
	if b, _ := jobs.Identity("training_run", in(`{"epochs":2,"lr":0.01}`)); a != b {
		t.Fatalf("canonical form depends on key order")
	}
	for name, other := range map[string]func() (string, error){
		"hyperparameter": func() (string, error) { return jobs.Identity("training_run", in(`{"lr": 0.02, "epochs": 2}`)) },
		"kind":           func() (string, error) { return jobs.Identity("evaluation", in(`{"lr": 0.01, "epochs": 2}`)) },
		"command": func() (string, error) {
			m := in(`{"lr": 0.01, "epochs": 2}`)
			m["command"] = []string{"go", "run", "./train2"}
			return jobs.Identity("training_run", m)
		},
		"argv split": func() (string, error) {
			m := in(`{"lr": 0.01, "epochs": 2}`)
			m["command"] = []string{"go run", "./train"}
			return jobs.Identity("training_run", m)
		},
	} {
		b, err := other()
		if err != nil || b == a {
			t.Errorf("changing the %s must change the identity (%v)", name, err)
		}
	}
	if !strings.HasPrefix(a, "sha256:") || len(a) != 71 {
		t.Fatalf("identity %q", a)
	}
	if got := jobs.RunID("train", a); got != "train-"+a[7:23] {
		t.Fatalf("RunID = %q", got)
	}
	if _, err := jobs.Identity("x", map[string]any{"bad": json.RawMessage(`{`)}); err == nil {
		t.Fatalf("invalid raw JSON accepted")
	}
}

// For compute that does not see this disk: the store's variables, and
// LLMOPS_INPUTS mapping each path into the artifact store to its digest
// (a whole artifact, or a file inside a directory artifact).
func TestEnvRemoteInputs(t *testing.T) {
	root := "/srv/store"
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	e := jobs.Env{
		RunID: "r", OutputDir: root + "/runs/local/r/out",
		BaseModelPath: root + "/objects/sha256/" + h1,
		TrainPath:     root + "/objects/sha256/" + h2 + "/splits/train.jsonl",
		DatasetPath:   "/elsewhere/data.jsonl",
		Artifacts:     map[string]string{jobs.EnvArtifactsURL: "s3://team/llmops", jobs.EnvArtifactsPathStyle: "true", "AWS_SECRET_ACCESS_KEY": "never"},
		StoreRoot:     root,
	}
	vars := e.Vars()
	want := `{"LLMOPS_BASE_MODEL_PATH":"sha256:` + h1 + `","LLMOPS_TRAIN_PATH":"sha256:` + h2 + `/splits/train.jsonl"}`
	if vars[jobs.EnvInputs] != want {
		t.Errorf("LLMOPS_INPUTS = %s\nwant %s", vars[jobs.EnvInputs], want)
	}
	if vars[jobs.EnvArtifactsURL] != "s3://team/llmops" || vars[jobs.EnvArtifactsPathStyle] != "true" {
		t.Errorf("store variables: %v", vars)
	}
	if _, ok := vars["AWS_SECRET_ACCESS_KEY"]; ok {
		t.Error("a non-contract variable passed through Artifacts")
	}
	if err := jobs.CheckExtra(map[string]string{jobs.EnvArtifactsURL: "x"}); err == nil {
		t.Error("env may not set LLMOPS_ARTIFACTS_URL")
	}
	e.Artifacts = nil
	if _, ok := e.Vars()[jobs.EnvInputs]; ok {
		t.Error("LLMOPS_INPUTS without a remote store")
	}
}

func TestPassthrough(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "HF_HOME=/cache/hf", "CUDA_HOME=/opt/cuda",
		"LLMOPS_STATE_KEY=k", "LLMOPS_STATE_KEY_FILE=/k", "LLMOPS_VAR_api_key=sk-1", "LLMOPS_RUN_ID=parent",
		"AWS_SECRET_ACCESS_KEY=aws", "SLURM_JWT=jwt", "MY_CACHE=/c", "MYAPP_MODE=fast", "MYAPP_LEVEL=2",
	}
	tests := []struct {
		extra []string
		want  []string
	}{
		{nil, []string{"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "HF_HOME=/cache/hf", "CUDA_HOME=/opt/cuda"}},
		{[]string{"MY_CACHE", "MYAPP_*"}, []string{"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "HF_HOME=/cache/hf", "CUDA_HOME=/opt/cuda", "MY_CACHE=/c", "MYAPP_MODE=fast", "MYAPP_LEVEL=2"}},
		// Asking for them does not pass llmops' secrets or a parent's contract.
		{[]string{"LLMOPS_*", "LLMOPS_VAR_api_key"}, []string{"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "HF_HOME=/cache/hf", "CUDA_HOME=/opt/cuda"}},
	}
	for _, tt := range tests {
		if got := jobs.Passthrough(environ, tt.extra); !slices.Equal(got, tt.want) {
			t.Errorf("Passthrough(%v):\n got %v\nwant %v", tt.extra, got, tt.want)
		}
	}
}

func TestCheckPassthrough(t *testing.T) {
	for _, ok := range [][]string{nil, {"MY_VAR"}, {"MYAPP_*", "AWS_PROFILE"}} {
		if err := jobs.CheckPassthrough(ok); err != nil {
			t.Errorf("CheckPassthrough(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "*", "A=B", "A B", "LLMOPS_STATE_KEY", "LLMOPS_VAR_x", "LLMOPS_*", "LLMOPS_V*"} {
		if err := jobs.CheckPassthrough([]string{bad}); err == nil {
			t.Errorf("CheckPassthrough(%q) accepted it", bad)
		}
	}
}
