package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// childEnvSetup puts llmops' secrets and other variables in the provider's
// environment, as a careless shell would.
func childEnvSetup(t *testing.T) {
	t.Setenv("LLMOPS_STATE_KEY", "c3RhdGUta2V5LXRoYXQtb3BlbnMtZXZlcnl0aGluZyE=")
	t.Setenv("LLMOPS_STATE_KEY_FILE", "/secret/state.key")
	t.Setenv("LLMOPS_VAR_tok", "sk-var-secret-0123")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-not-for-jobs")
	t.Setenv("MYAPP_MODE", "fast")
	t.Setenv("HF_HOME", "/cache/hf")
}

// checkChildEnv checks an environment against the allow-list.
func checkChildEnv(t *testing.T, what string, env []string) {
	t.Helper()
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "LLMOPS_STATE_KEY" || name == "LLMOPS_STATE_KEY_FILE" || strings.HasPrefix(name, "LLMOPS_VAR_") || name == "AWS_SECRET_ACCESS_KEY" {
			t.Errorf("%s got %s", what, kv)
		}
	}
	for _, want := range []string{"MYAPP_MODE=fast", "HF_HOME=/cache/hf", "PATH=" + os.Getenv("PATH")} {
		if !slices.Contains(env, want) {
			t.Errorf("%s lacks %s (default allow-list or env_passthrough)", what, want)
		}
	}
}

// Jobs and replicas get the job contract's variables, their env, the
// default allow-list and env_passthrough: never llmops' secrets nor the
// rest of the caller's environment.
func TestJobAndReplicaEnvironmentIsTheAllowList(t *testing.T) {
	childEnvSetup(t)
	pass := map[string]cty.Value{"env_passthrough": strs("MYAPP_*")}

	t.Run("job", func(t *testing.T) {
		dir := fixtures(t)
		h := newHarnessWith(t, dir, pass)
		m := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("file://base")}))
		d := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://data.jsonl")}))
		if m.diags.HasErrors() || d.diags.HasErrors() {
			t.Fatal(diagText(append(m.diags, d.diags...)))
		}
		a := h.apply("training_run", cty.NilVal, h.fill("training_run", map[string]cty.Value{
			"base_model": str(attrStr(m.state, "id")), "dataset": str(attrStr(d.state, "id")),
			"command": strs(testJobCommand(t)), "env": smap(map[string]string{"LLMOPS_TEST_JOB": "environ", "TOKEN": "declared"}),
		}))
		if a.diags.HasErrors() {
			t.Fatal(diagText(a.diags))
		}
		hexid := strings.TrimPrefix(attrStr(a.state, "identity"), "sha256:")
		b, err := os.ReadFile(filepath.Join(h.store, "runs", "local", "training_run", hexid, "output", "environ.txt"))
		must(t, err)
		env := strings.Split(string(b), "\n")
		checkChildEnv(t, "the job", env)
		if !slices.Contains(env, "TOKEN=declared") || !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "LLMOPS_RUN_ID=") }) {
			t.Errorf("the job lacks its env or the contract's variables: %q", env)
		}
	})

	t.Run("replica", func(t *testing.T) {
		fx := fixtures(t)
		h := newHarnessWith(t, t.TempDir(), pass, fx)
		mo := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("file://" + filepath.Join(fx, "base"))}))
		if mo.diags.HasErrors() {
			t.Fatal(diagText(mo.diags))
		}
		t.Cleanup(func() { killDeployments(h.store) })
		a := h.apply("deployment", cty.NilVal, h.deployment(depCfg{model: attrStr(mo.state, "id"), tag: "env", keys: []string{depKey}}))
		if a.diags.HasErrors() {
			t.Fatal(diagText(a.diags))
		}
		rec := readRecord(t, h.store, attrStr(a.state, "id"))
		for what, pid := range map[string]int{"the replica": rec.Replicas[0].PID, "the gateway": rec.Gateway.PID} {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			must(t, err)
			env := strings.Split(string(b), "\x00")
			if what == "the gateway" {
				// It needs nothing of ours: the default allow-list only.
				for _, kv := range env {
					if strings.HasPrefix(kv, "LLMOPS_VAR_") || strings.HasPrefix(kv, "LLMOPS_STATE_KEY") || strings.HasPrefix(kv, "AWS_") {
						t.Errorf("the gateway got %s", kv)
					}
				}
				continue
			}
			checkChildEnv(t, what, env)
		}
	})
}

func TestEnvPassthroughRefusesLLMOpsSecrets(t *testing.T) {
	h := newHarness(t, t.TempDir())
	for _, bad := range []string{"LLMOPS_STATE_KEY", "LLMOPS_VAR_*", "A=B"} {
		cfg := cty.ObjectVal(map[string]cty.Value{"allowed_roots": cty.NullVal(cty.List(cty.String)), "price_per_hour": cty.NullVal(cty.Number), "env_passthrough": strs(bad)})
		r := h.validateProvider(cfg)
		if !r.HasErrors() || !strings.Contains(diagText(r), "env_passthrough") {
			t.Errorf("env_passthrough = [%q] accepted: %s", bad, diagText(r))
		}
	}
}
