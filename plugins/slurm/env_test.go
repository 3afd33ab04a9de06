package slurm

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// slurmEnv is the test cluster started by scripts/slurm-test-env.sh (or
// by .ci/services/slurm.sh in CI).
type slurmEnv struct {
	URL, User, TokenFile, JWT, Shared, Partition, Urgent, Multi, Conf string
}

const howToRun = "the Slurm tests need the test cluster: sudo scripts/slurm-test-env.sh start (then make test), " +
	"or set LLMOPS_TEST_SLURM_URL, LLMOPS_TEST_SLURM_TOKEN_FILE, LLMOPS_TEST_SLURM_SHARED_DIR, ... as docs/slurm.md says"

// needSlurm returns the test cluster, or skips the test with how to get
// one; with LLMOPS_REQUIRE_SERVICES=1 a missing cluster fails the test.
func needSlurm(t testing.TB) *slurmEnv {
	t.Helper()
	get := os.Getenv
	if get("LLMOPS_TEST_SLURM_URL") == "" {
		// A developer's running instance, found through its env file.
		home := firstNonEmpty(os.Getenv("LLMOPS_TEST_SLURM_HOME"), "/tmp/llmops-slurm-test")
		vars := readEnvFile(filepath.Join(home, "env.sh"))
		get = func(k string) string { return vars[k] }
	}
	e := &slurmEnv{
		URL: get("LLMOPS_TEST_SLURM_URL"), User: get("LLMOPS_TEST_SLURM_USER"), TokenFile: get("LLMOPS_TEST_SLURM_TOKEN_FILE"),
		JWT: get("LLMOPS_TEST_SLURM_JWT"), Shared: get("LLMOPS_TEST_SLURM_SHARED_DIR"), Partition: get("LLMOPS_TEST_SLURM_PARTITION"),
		Urgent: get("LLMOPS_TEST_SLURM_URGENT_PARTITION"), Multi: get("LLMOPS_TEST_SLURM_MULTI_PARTITION"), Conf: get("LLMOPS_TEST_SLURM_CONF"),
	}
	missing := e.URL == "" || e.Shared == "" || (e.TokenFile == "" && e.JWT == "")
	if !missing {
		if _, err := os.Stat(e.Shared); err != nil {
			missing = true
		}
	}
	if missing {
		if os.Getenv("LLMOPS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("LLMOPS_REQUIRE_SERVICES=1 and no Slurm test cluster: %s", howToRun)
		}
		t.Skip("skipped: " + howToRun)
	}
	if e.User == "" {
		e.User = "slurm"
	}
	return e
}

func readEnvFile(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		// Values are written with printf %q: plain words, or $'...'/quoted
		// strings that the paths and tokens here never need.
		out[k] = strings.Trim(v, `'"`)
	}
	return out
}
