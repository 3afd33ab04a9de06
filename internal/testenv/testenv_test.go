package testenv

import (
	"slices"
	"testing"
)

func TestCleanDropsUserSettings(t *testing.T) {
	for k, v := range map[string]string{
		"LLMOPS_VAR_api_key": "sk-x", "LLMOPS_STATE_KEY_FILE": "/k", "LLMOPS_LOG": "debug",
		"LLMOPS_TEST_SLURM_URL": "http://x", "LLMOPS_REQUIRE_SERVICES": "1", "HOME_TEST_ONLY": "h",
	} {
		t.Setenv(k, v)
	}
	env := Clean("LLMOPS_STATE_KEY=given")
	for _, gone := range []string{"LLMOPS_VAR_api_key=sk-x", "LLMOPS_STATE_KEY_FILE=/k", "LLMOPS_LOG=debug"} {
		if slices.Contains(env, gone) {
			t.Errorf("%s was kept", gone)
		}
	}
	for _, kept := range []string{"LLMOPS_TEST_SLURM_URL=http://x", "LLMOPS_REQUIRE_SERVICES=1", "HOME_TEST_ONLY=h", "LLMOPS_STATE_KEY=given"} {
		if !slices.Contains(env, kept) {
			t.Errorf("%s was dropped", kept)
		}
	}
}
