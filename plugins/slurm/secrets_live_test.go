package slurm

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// A job's sensitive values (env, a command element) reach the command
// through the submission's environment: the script, spec.json, job.log
// once the job ended, its copy in the store, and every other file stay
// clean; the failure message shows (sensitive).
func TestLiveJobSecretsNeverReachTheDisk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const token, arg = "tok-slurm-secret-31415926", "--key=arg-slurm-secret-2718"
	sum := sha256.Sum256([]byte(token + arg))
	h.write("leak.sh", `set -u
echo "token $TOKEN arg $1"
[ "$(printf %s "$TOKEN$1" | sha256sum | cut -d' ' -f1)" = "$WANT" ] || { echo "the job did not get its secrets"; exit 4; }
exit 3
`)
	h.sensitive = []cty.Path{cty.GetAttrPath("env").IndexString("TOKEN"), cty.GetAttrPath("command").IndexInt(2)}
	cfg := trainConfig(h, map[string]any{
		"command":   []string{"bash", "leak.sh", arg},
		"env":       map[string]string{"TOKEN": token, "WANT": hex.EncodeToString(sum[:])},
		"resources": nil,
	})
	r := h.run("training_run", cfg)
	if !r.Diagnostics.HasErrors() {
		t.Fatal("the job should fail")
	}
	msg := r.Diagnostics.Err().Error()
	if !strings.Contains(msg, "token (sensitive) arg (sensitive)") || !strings.Contains(msg, "exit status 3") {
		t.Errorf("the failure should show the log with (sensitive), and that the job got its secrets (exit 3, not 4):\n%s", msg)
	}
	if strings.Contains(msg, token) || strings.Contains(msg, arg) {
		t.Errorf("the failure shows a secret:\n%s", msg)
	}
	run := h.meta.runFor("training_run", str(r.NewState, "identity"))
	for _, root := range []string{run.dir, filepath.Join(h.workDir, ".llmops"), h.store.Root()} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), token) || strings.Contains(string(b), arg) {
				t.Errorf("%s holds a secret in clear:\n%s", p, b)
			}
			return nil
		})
	}
	script, _ := os.ReadFile(filepath.Join(run.attemptDir(1), scriptFile))
	if !strings.Contains(string(script), `"$LLMOPS_SECRET_ARG_2"`) {
		t.Errorf("the script should take the sensitive argument from its environment:\n%s", script)
	}
}
