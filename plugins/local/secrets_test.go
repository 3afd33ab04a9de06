package local_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// grepTree fails the test for every file under root that holds one of
// the secrets, and returns how many files it read.
func grepTree(t *testing.T, root string, secrets ...string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		n++
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the secret %q in clear:\n%s", p, s, b)
			}
		}
		return nil
	})
	return n
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// A job's sensitive values (a sensitive variable in env or in the command)
// reach the command, in memory, and nothing on disk: not spec.json, not
// job.log or its copy in the store, not the manifest; the failure message
// shows (sensitive) in their place.
func TestJobSecretsNeverReachTheDisk(t *testing.T) {
	const token, argSecret = "tok-job-secret-0011223344", "--api-key=arg-secret-99887766"
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			dir := fixtures(t)
			h := newHarness(t, dir)
			m := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("file://base")}))
			d := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl")}))
			if m.diags.HasErrors() || d.diags.HasErrors() {
				t.Fatal(diagText(append(m.diags, d.diags...)))
			}
			env := map[string]string{"LLMOPS_TEST_JOB": "leak", "TOKEN": token, "LLMOPS_TEST_TOKEN_SHA256": sha(token)}
			if fail {
				env["LLMOPS_TEST_FAIL"] = "1"
			}
			h.sensitive = []cty.Path{cty.GetAttrPath("env").IndexString("TOKEN"), cty.GetAttrPath("command").IndexInt(1)}
			a := h.apply("training_run", cty.NilVal, h.fill("training_run", map[string]cty.Value{
				"base_model": str(attrStr(m.state, "id")), "dataset": str(attrStr(d.state, "id")),
				"command": strs(testJobCommand(t), argSecret, "visible-arg"), "env": smap(env),
			}))
			text := diagText(a.diags)
			if fail != a.diags.HasErrors() {
				t.Fatalf("fail=%v, diagnostics: %s", fail, text)
			}
			if strings.Contains(text, token) || strings.Contains(text, argSecret) {
				t.Errorf("the error shows a secret:\n%s", text)
			}
			if fail && (!strings.Contains(text, "(sensitive) visible-arg") || !strings.Contains(text, "token is (sensitive) and my argv is (sensitive) visible-arg")) {
				t.Errorf("the error should show the command and the log's tail with (sensitive) in place of the secrets:\n%s", text)
			}
			if n := grepTree(t, filepath.Join(dir, ".llmops"), token, argSecret); n < 5 {
				t.Fatalf("only %d files under .llmops: the test looks at the wrong place", n)
			}
			hexid := strings.TrimPrefix(attrStr(a.state, "identity"), "sha256:")
			runDir := filepath.Join(h.store, "runs", "local", "training_run", hexid)
			spec, err := os.ReadFile(filepath.Join(runDir, "spec.json"))
			must(t, err)
			if !strings.Contains(string(spec), `"hidden_env": [`) || !strings.Contains(string(spec), `"(sensitive)"`) {
				t.Errorf("spec.json should say what it leaves out:\n%s", spec)
			}
			log, err := os.ReadFile(filepath.Join(runDir, "job.log"))
			must(t, err)
			if !strings.Contains(string(log), "llmops: starting ") || !strings.Contains(string(log), "(sensitive) visible-arg") {
				t.Errorf("job.log lacks the starting line with the secret masked:\n%s", log)
			}
			for _, p := range []string{filepath.Join(runDir, "job.log"), attrStr(a.state, "log_path")} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v (%v), want 0600", p, fi.Mode().Perm(), err)
				}
			}
		})
	}
}

// A deployment's serve env with a sensitive value: the replica gets it,
// deployment.json does not hold it, and the same configuration applied
// again is not a new revision.
func TestDeploymentSecretsNeverReachTheDisk(t *testing.T) {
	const token = "tok-serve-secret-5566778899"
	h, model := deployFixture(t)
	h.sensitive = []cty.Path{cty.GetAttrPath("serve").GetAttr("env").IndexString("TOKEN"), cty.GetAttrPath("access").GetAttr("api_keys")}
	cfg := h.deployment(depCfg{model: model, tag: "secret", keys: []string{depKey}})
	serve := cfg.GetAttr("serve").AsValueMap()
	env := serve["env"].AsValueMap()
	env["TOKEN"] = cty.StringVal(token)
	serve["env"] = cty.MapVal(env)
	attrs := cfg.AsValueMap()
	attrs["serve"] = cty.ObjectVal(serve)
	cfg = cty.ObjectVal(attrs)
	a := h.apply("deployment", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	id := attrStr(a.state, "id")
	rec := readRecord(t, h.store, id)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", rec.Replicas[0].PID))
	must(t, err)
	if !strings.Contains(string(b), "TOKEN="+token) {
		t.Error("the replica did not get its TOKEN")
	}
	grepTree(t, filepath.Join(h.workDir, ".llmops"), token, depKey)
	again := h.apply("deployment", a.state, cfg)
	if again.diags.HasErrors() {
		t.Fatal(diagText(again.diags))
	}
	if again.state.GetAttr("revision").AsBigFloat().String() != "1" {
		t.Errorf("the same configuration rolled out revision %s", again.state.GetAttr("revision").AsBigFloat())
	}
	grepTree(t, filepath.Join(h.workDir, ".llmops"), token, depKey)
}
