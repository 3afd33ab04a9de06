package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AWS is the AWS emulator (moto) started by scripts/aws-test-env.sh (in CI
// by .ci/services/aws.sh), shared by every test that talks to AWS.
type AWS struct {
	Endpoint, Region, AccessKey, SecretKey string
}

const howToRunAWS = "the S3 tests need the AWS emulator: scripts/aws-test-env.sh start (then make test), or set LLMOPS_TEST_AWS_ENDPOINT_URL"

// NeedAWS returns the emulator, or skips the test saying how to start it;
// with LLMOPS_REQUIRE_SERVICES=1 a missing emulator fails the test.
func NeedAWS(t testing.TB) AWS {
	t.Helper()
	get := lookup("LLMOPS_TEST_AWS_ENDPOINT_URL", "LLMOPS_TEST_AWS_HOME", "/tmp/llmops-aws-test")
	a := AWS{Endpoint: get("LLMOPS_TEST_AWS_ENDPOINT_URL"), Region: get("LLMOPS_TEST_AWS_REGION"),
		AccessKey: get("LLMOPS_TEST_AWS_ACCESS_KEY_ID"), SecretKey: get("LLMOPS_TEST_AWS_SECRET_ACCESS_KEY")}
	if a.Endpoint == "" || !answers(a.Endpoint+"/moto-api/") {
		need(t, howToRunAWS)
	}
	if a.Region == "" {
		a.Region = "us-east-1"
	}
	if a.AccessKey == "" {
		a.AccessKey, a.SecretKey = "testing", "testing"
	}
	return a
}

// Env returns the environment that points the AWS SDKs and CLI at the
// emulator, and at nothing of the developer's (no shared config or
// credentials files, no instance metadata).
func (a AWS) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + a.Endpoint, "AWS_REGION=" + a.Region, "AWS_DEFAULT_REGION=" + a.Region,
		"AWS_ACCESS_KEY_ID=" + a.AccessKey, "AWS_SECRET_ACCESS_KEY=" + a.SecretKey,
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true",
	}
}

// Setenv sets Env in the test's own process (for tests that call the SDK
// directly), restoring it afterwards.
func (a AWS) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range a.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if tt, ok := t.(interface{ Setenv(string, string) }); ok {
			tt.Setenv(k, v)
		} else {
			os.Setenv(k, v)
		}
	}
	os.Unsetenv("AWS_PROFILE")
	os.Unsetenv("AWS_SESSION_TOKEN")
}

// NewBucket creates a bucket with a fresh name for the test (moto takes
// unsigned requests) and returns its name.
func (a AWS) NewBucket(t testing.TB) string {
	t.Helper()
	name := "llmops-test-" + randomHex(6)
	req, _ := http.NewRequest(http.MethodPut, a.Endpoint+"/"+name, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("creating bucket %s on %s: %v", name, a.Endpoint, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("creating bucket %s on %s: HTTP %d", name, a.Endpoint, resp.StatusCode)
	}
	return name
}

// OCI is the OCI registry started by scripts/oci-test-env.sh (in CI by
// .ci/services/oci.sh).
type OCI struct {
	// Registry is host:port, on loopback (plain HTTP).
	Registry string
}

const howToRunOCI = "the OCI tests need a registry: scripts/oci-test-env.sh start (then make test), or set LLMOPS_TEST_OCI_REGISTRY=host:port"

// NeedOCI returns the registry, or skips the test saying how to start it;
// with LLMOPS_REQUIRE_SERVICES=1 a missing registry fails the test.
func NeedOCI(t testing.TB) OCI {
	t.Helper()
	get := lookup("LLMOPS_TEST_OCI_REGISTRY", "LLMOPS_TEST_OCI_HOME", "/tmp/llmops-oci-test")
	o := OCI{Registry: get("LLMOPS_TEST_OCI_REGISTRY")}
	if o.Registry == "" || !answers("http://"+o.Registry+"/v2/") {
		need(t, howToRunOCI)
	}
	return o
}

// NewRepository returns a fresh repository URL, oci://REGISTRY/llmops-test/<random>.
func (o OCI) NewRepository() string {
	return "oci://" + o.Registry + "/llmops-test/r" + randomHex(6)
}

func need(t testing.TB, how string) {
	t.Helper()
	if os.Getenv("LLMOPS_REQUIRE_SERVICES") == "1" {
		t.Fatalf("LLMOPS_REQUIRE_SERVICES=1 and the service is missing: %s", how)
	}
	t.Skip("skipped: " + how)
}

// lookup reads the service's variables from the environment, else from
// the env.sh of a developer's running instance ($HOME_VAR, default dir).
func lookup(key, homeVar, def string) func(string) string {
	if os.Getenv(key) != "" {
		return os.Getenv
	}
	home := os.Getenv(homeVar)
	if home == "" {
		home = def
	}
	vars := readEnvFile(filepath.Join(home, "env.sh"))
	return func(k string) string { return vars[k] }
}

func answers(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 500
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// Slurm is the Slurm test cluster started by scripts/slurm-test-env.sh (in
// CI by .ci/services/slurm.sh), for tests outside plugins/slurm that place
// work on it.
type Slurm struct {
	URL, User, TokenFile, Shared, Partition string
}

const howToRunSlurm = "the Slurm tests need the test cluster: scripts/slurm-test-env.sh start (then make test), or set LLMOPS_TEST_SLURM_URL and friends"

// NeedSlurm returns the test cluster, or skips the test saying how to
// start it; with LLMOPS_REQUIRE_SERVICES=1 a missing cluster fails the
// test.
func NeedSlurm(t testing.TB) Slurm {
	t.Helper()
	get := lookup("LLMOPS_TEST_SLURM_URL", "LLMOPS_TEST_SLURM_HOME", "/tmp/llmops-slurm-test")
	s := Slurm{URL: get("LLMOPS_TEST_SLURM_URL"), User: get("LLMOPS_TEST_SLURM_USER"), TokenFile: get("LLMOPS_TEST_SLURM_TOKEN_FILE"),
		Shared: get("LLMOPS_TEST_SLURM_SHARED_DIR"), Partition: get("LLMOPS_TEST_SLURM_PARTITION")}
	if s.URL == "" || s.TokenFile == "" || s.Shared == "" || !answers(s.URL+"/openapi/v3") {
		need(t, howToRunSlurm)
	}
	if s.User == "" {
		s.User = "slurm"
	}
	return s
}
