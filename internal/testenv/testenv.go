package testenv

import (
	"os"
	"strings"
)

// Clean returns the process environment without the variables that
// configure llmops for a user (LLMOPS_VAR_*, LLMOPS_STATE_KEY,
// LLMOPS_STATE_KEY_FILE, LLMOPS_PLUGIN_PATH, LLMOPS_LOG, ...), followed by
// extra. A developer's (or a CI shell's) exported variables must not change
// what a test sees: an exported LLMOPS_VAR_api_key satisfied a required
// variable that a test expects to be missing. The test harness's own
// variables (LLMOPS_TEST_*, LLMOPS_REQUIRE_SERVICES) are kept.
func Clean(extra ...string) []string {
	env := os.Environ()
	out := make([]string, 0, len(env)+len(extra))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LLMOPS_") && !strings.HasPrefix(name, "LLMOPS_TEST_") && name != "LLMOPS_REQUIRE_SERVICES" {
			continue
		}
		out = append(out, kv)
	}
	// No CLI configuration file of the user's (~/.llmopsrc, with its dev
	// overrides) reaches the tests, unless extra names one.
	out = append(out, "LLMOPS_CLI_CONFIG_FILE="+os.DevNull)
	return append(out, extra...)
}
