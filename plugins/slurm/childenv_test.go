package slurm

import (
	"maps"
	"os"
	"strings"
	"testing"
)

// Jobs and replicas start from the default list (or pass_env) of llmops'
// environment, extended by env_passthrough, and never get llmops' own
// secrets, whatever the lists say.
func TestJobBaseEnv(t *testing.T) {
	// Only the variables set here: the caller's own LLMOPS_* (a CI run's
	// service settings) would match the LLMOPS_* pattern below.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "LLMOPS_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("HF_HOME", "/cache/hf")
	t.Setenv("MYAPP_MODE", "fast")
	t.Setenv("LLMOPS_STATE_KEY", "c3RhdGUta2V5")
	t.Setenv("LLMOPS_VAR_tok", "sk-var-secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
	for name, tt := range map[string]struct {
		pass        []string
		passSet     bool
		passthrough []string
		want        map[string]string
	}{
		"default": {want: map[string]string{"PATH": "/usr/bin", "LANG": "C.UTF-8", "HOME": "/h"}},
		"env_passthrough extends it": {passthrough: []string{"HF_HOME", "MYAPP_*"},
			want: map[string]string{"PATH": "/usr/bin", "LANG": "C.UTF-8", "HF_HOME": "/cache/hf", "MYAPP_MODE": "fast", "HOME": "/h"}},
		"pass_env replaces the default": {pass: []string{"HF_HOME"}, passSet: true, passthrough: []string{"MYAPP_MODE"},
			want: map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin", "HF_HOME": "/cache/hf", "MYAPP_MODE": "fast", "HOME": "/h"}},
		"secrets are never passed": {passthrough: []string{"LLMOPS_*", "LLMOPS_VAR_tok", "LLMOPS_STATE_KEY"},
			want: map[string]string{"PATH": "/usr/bin", "LANG": "C.UTF-8", "HOME": "/h"}},
	} {
		t.Run(name, func(t *testing.T) {
			got := jobBaseEnv(tt.pass, tt.passSet, tt.passthrough, map[string]string{"HOME": "/h"})
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}
