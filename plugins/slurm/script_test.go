package slurm

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// hostile values that must reach the command exactly as written.
var hostile = []string{
	`it's`, `"double"`, `$(touch /tmp/llmops-pwned)`, "`touch /tmp/llmops-pwned`", "a;b", "a && b", "line1\nline2",
	`back\slash`, `$HOME`, `${PATH}`, "*", "-rf", "", " spaced ", "tab\there", "ünïcödé", `'"'"'`, "!event", "#comment",
}

func TestShellQuoteThroughBash(t *testing.T) {
	for _, s := range append(hostile, "plain", "a=b", "x/y.z") {
		out, err := exec.Command("bash", "-c", "printf '%s' "+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("bash on %q: %v", s, err)
		}
		if string(out) != s {
			t.Errorf("shellQuote(%q) came back as %q", s, out)
		}
	}
	if err := checkWord("x", "a\x00b"); err == nil {
		t.Errorf("a NUL byte was accepted")
	}
	if err := checkEnv(map[string]string{"BAD NAME": "x"}); err == nil {
		t.Errorf("an invalid variable name was accepted")
	}
	if _, err := os.Stat("/tmp/llmops-pwned"); err == nil {
		t.Fatalf("a quoted value was executed")
	}
}

// runScript generates the batch script for the helper command and runs it
// with bash, without Slurm, as the batch step would.
func runScript(t *testing.T, p *scriptParams, extraEnv ...string) (code int, args map[string]any) {
	t.Helper()
	if err := os.MkdirAll(p.outputDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := renderScript(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.AttemptDir, scriptFile)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", path)
	cmd.Dir = p.AttemptDir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, extraEnv...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("script output:\n%s", out)
	b, err := os.ReadFile(filepath.Join(p.outputDir(), "args.json"))
	if err == nil {
		json.Unmarshal(b, &args)
	}
	return code, args
}

func TestScriptPassesHostileValuesExactly(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, `work dir 'quoted' $(x)`)
	os.MkdirAll(work, 0o755)
	exe, _ := os.Executable()
	env := map[string]string{"LLMOPS_SLURM_TEST_HELPER": "1", "LLMOPS_SLURM_TEST_MODEL": "1"}
	for i, h := range hostile {
		env["HOSTILE_"+string(rune('A'+i))] = h
	}
	env[jobs.EnvHparams] = `{"lr": "it's $(x)"}`
	p := &scriptParams{Kind: "training_run", RunID: "train-1", Identity: "sha256:" + strings.Repeat("a", 64), Attempt: 1,
		Argv: append([]string{exe}, hostile...), WorkDir: work, AttemptDir: filepath.Join(dir, "attempt-1"), Env: env, Collect: collectModel}
	code, args := runScript(t, p)
	if code != 0 {
		t.Fatalf("script exited %d", code)
	}
	if got := toStrings(args["args"]); !reflect.DeepEqual(got, hostile) {
		t.Errorf("argv:\n got %q\nwant %q", got, hostile)
	}
	if args["wd"] != work {
		t.Errorf("working directory %v, want %q", args["wd"], work)
	}
	gotEnv, _ := args["env"].(map[string]any)
	for k, v := range env {
		if gotEnv[k] != v {
			t.Errorf("env %s = %q, want %q", k, gotEnv[k], v)
		}
	}
	for k, want := range map[string]string{"LLMOPS_OUTPUT_DIR": p.outputDir(), "LLMOPS_RUN_ID": "train-1", "WORLD_SIZE": "1", "NODE_RANK": "0"} {
		if gotEnv[k] != want {
			t.Errorf("env %s = %q, want %q", k, gotEnv[k], want)
		}
	}
	if _, err := os.Stat("/tmp/llmops-pwned"); err == nil {
		t.Fatalf("a quoted value was executed")
	}

	// The manifest: succeeded, with the model's digest as the artifact
	// store computes it (the hostile names force the listing path).
	man, err := jobs.ReadManifest(filepath.Join(p.AttemptDir, jobs.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if !man.Succeeded() || man.RunID != "train-1" || man.Kind != "training_run" {
		t.Fatalf("manifest %+v", man)
	}
	want, err := artifacts.HashPath(filepath.Join(p.outputDir(), "model"), artifacts.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := man.Outputs["model"]
	if out.ID != "" {
		t.Errorf("names outside printable ASCII: the script should leave the digest to llmops, gave %s", out.ID)
	}
	entries, err := readListing(filepath.Join(p.AttemptDir, listingFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := treeIDFromListing(entries); got != want.ID {
		t.Errorf("digest from the listing %s, the store computes %s", got, want.ID)
	}
	if out.Size != want.Size || out.Files != want.Files {
		t.Errorf("size/files %d/%d, want %d/%d", out.Size, out.Files, want.Size, want.Files)
	}
}

func TestScriptDigestPlainNames(t *testing.T) {
	dir := t.TempDir()
	exe, _ := os.Executable()
	p := &scriptParams{Kind: "training_run", RunID: "train-2", Identity: "sha256:" + strings.Repeat("b", 64), Attempt: 1,
		Argv: []string{exe}, WorkDir: dir, AttemptDir: filepath.Join(dir, "a"), Collect: collectModel,
		Env: map[string]string{"LLMOPS_SLURM_TEST_HELPER": "1", "LLMOPS_SLURM_TEST_MODEL": "1"}}
	// The model is made here (the helper writes only metrics), with
	// printable ASCII names: quotes, backslashes, spaces, ; and ` included.
	p.Env["LLMOPS_SLURM_TEST_MODEL"] = ""
	model := filepath.Join(p.outputDir(), "model")
	for i, f := range helperFiles[:4] {
		fp := filepath.Join(model, f)
		os.MkdirAll(filepath.Dir(fp), 0o755)
		os.WriteFile(fp, []byte(strings.Repeat(f, i+1)), os.FileMode(0o644|(i%2)*0o111))
	}
	code, _ := runScript(t, p)
	if code != 0 {
		t.Fatalf("script exited %d", code)
	}
	man, err := jobs.ReadManifest(filepath.Join(p.AttemptDir, jobs.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := artifacts.HashPath(model, artifacts.HashOptions{})
	if man.Outputs["model"].ID != string(want.ID) {
		t.Fatalf("the script computed %q, the artifact store %s", man.Outputs["model"].ID, want.ID)
	}
}

func TestScriptFailures(t *testing.T) {
	exe, _ := os.Executable()
	for name, tc := range map[string]struct {
		env     map[string]string
		collect string
		workdir string
		code    int
		reason  string
	}{
		"command fails":   {map[string]string{"LLMOPS_SLURM_TEST_EXIT": "3"}, collectMetrics, "", 3, "exit status 3"},
		"no model":        {nil, collectModel, "", 1, "wrote no model"},
		"no workdir":      {nil, collectMetrics, "/nonexistent/dir", 1, "does not exist or cannot be entered"},
		"data not found":  {nil, collectData, "", 1, "wrote no $LLMOPS_OUTPUT_DIR/data.jsonl"},
		"metrics written": {nil, collectMetrics, "", 0, ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"LLMOPS_SLURM_TEST_HELPER": "1"}
			for k, v := range tc.env {
				env[k] = v
			}
			wd := dir
			if tc.workdir != "" {
				wd = tc.workdir
			}
			p := &scriptParams{Kind: "evaluation", RunID: "eval-1", Identity: "sha256:" + strings.Repeat("c", 64), Attempt: 1,
				Argv: []string{exe}, WorkDir: wd, AttemptDir: filepath.Join(dir, "a"), Collect: tc.collect, Format: "jsonl", Env: env}
			code, _ := runScript(t, p)
			if code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			man, err := jobs.ReadManifest(filepath.Join(p.AttemptDir, jobs.ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			if (tc.code == 0) != man.Succeeded() || !strings.Contains(man.Reason, tc.reason) || man.ExitCode != tc.code {
				t.Fatalf("manifest %+v, want exit %d and a reason with %q", man, tc.code, tc.reason)
			}
		})
	}
}

func TestRenderScriptRefusesNUL(t *testing.T) {
	p := &scriptParams{Argv: []string{"echo", "a\x00b"}, WorkDir: "/", AttemptDir: "/tmp/x"}
	if _, err := renderScript(p); err == nil {
		t.Fatal("NUL in argv accepted")
	}
	p = &scriptParams{Argv: []string{"echo"}, WorkDir: "/", AttemptDir: "/tmp/x", Env: map[string]string{"A;B": "1"}}
	if _, err := renderScript(p); err == nil {
		t.Fatal("invalid variable name accepted")
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

// Multi-node: the script launches the command once per node through srun,
// each with its NODE_RANK. A fake srun runs the tasks of two nodes here.
func TestScriptMultiNode(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "srun"), []byte(`#!/bin/bash
# fake srun: skip the options, run the task once per node
while [[ $1 == --* ]]; do echo "$1" >> "$SRUN_LOG"; shift; done
for n in 0 1; do SLURM_NODEID=$n "$@" & done
wait
`), 0o755)
	out := filepath.Join(dir, "ranks")
	p := &scriptParams{Kind: "training_run", RunID: "train-mn", Identity: "sha256:" + strings.Repeat("d", 64), Attempt: 1,
		Argv:    []string{"bash", "-c", `echo "$NODE_RANK/$WORLD_SIZE $MASTER_ADDR:$MASTER_PORT $1" >> "$RANKS"; [ "$NODE_RANK" != 0 ] || echo '{}' > "$LLMOPS_OUTPUT_DIR/metrics.json"`, "task", "arg 'one'"},
		WorkDir: dir, AttemptDir: filepath.Join(dir, "a"), Nodes: 2, Collect: collectMetrics,
		Env: map[string]string{"RANKS": out}}
	code, _ := runScript(t, p, "PATH="+bin+":"+os.Getenv("PATH"), "SRUN_LOG="+filepath.Join(dir, "srun.log"), "SLURM_JOB_NUM_NODES=2", "SLURM_JOB_ID=1234")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("ranks: %q", b)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"0/2 " + host + ":21234 arg 'one'", "1/2 " + host + ":21234 arg 'one'"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no task line %q in %q", want, b)
		}
	}
	opts, _ := os.ReadFile(filepath.Join(dir, "srun.log"))
	for _, want := range []string{"--nodes=2", "--ntasks-per-node=1", "--kill-on-bad-exit=1"} {
		if !strings.Contains(string(opts), want) {
			t.Errorf("srun options %q lack %s", opts, want)
		}
	}
}

// Multi-node failure: srun reports the highest status of all tasks, which
// is often the SIGTERM of a rank it stopped; the script names the rank that
// failed and its own status.
func TestScriptMultiNodeFailedRank(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	// fake srun: run both tasks, say which failed in the job's log (as
	// srun does on its stderr, which is the log), then answer with the
	// highest status, as srun does after --kill-on-bad-exit.
	os.WriteFile(filepath.Join(bin, "srun"), []byte(`#!/bin/bash
while [[ $1 == --* ]]; do shift; done
SLURM_NODEID=0 "$@" & a=$!
SLURM_NODEID=1 "$@" & b=$!
wait $b; rb=$?; wait $a; ra=$?
{ echo "srun: error: n2: task 1: Exited with exit code $rb"; echo "srun: error: n1: task 0: Terminated"; } >> "$JOB_LOG"
exit $(( ra > rb ? ra : rb ))
`), 0o755)
	p := &scriptParams{Kind: "training_run", RunID: "train-mnf", Identity: "sha256:" + strings.Repeat("e", 64), Attempt: 1,
		Argv:    []string{"bash", "-c", `if [ "$NODE_RANK" = 1 ]; then exit 3; fi; exit 143`},
		WorkDir: dir, AttemptDir: filepath.Join(dir, "a"), Nodes: 2, Collect: collectMetrics}
	os.MkdirAll(p.AttemptDir, 0o755)
	code, _ := runScript(t, p, "PATH="+bin+":"+os.Getenv("PATH"), "SLURM_JOB_NUM_NODES=2", "SLURM_JOB_ID=99", "JOB_LOG="+filepath.Join(p.AttemptDir, logFile))
	if code != 3 {
		t.Errorf("the job exits with %d, want the failed rank's 3", code)
	}
	man, err := jobs.ReadManifest(filepath.Join(p.AttemptDir, jobs.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if man.Status != "failed" || man.Reason != "exit status 3 on rank 1 of 2" {
		t.Errorf("manifest: %+v", man)
	}
}
