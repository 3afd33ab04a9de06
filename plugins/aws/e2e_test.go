package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/llmops/llmops/internal/testenv"
)

// End-to-end tests: the llmops CLI with the local and aws provider
// binaries (and slurm's for hybrid placement), against moto behind the
// fake front of fakeaws_test.go.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

// binaries builds llmops and the providers once per test binary.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "llmops-aws-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "./cmd/llmops", "./cmd/llmops-provider-local",
			"./cmd/llmops-provider-aws", "./cmd/llmops-provider-slurm")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building llmops: %v", buildErr)
	}
	return binDir
}

// secretCanary is the AWS secret key the CLI runs with: moto accepts any,
// and no file llmops writes may contain it.
const secretCanary = "llmops-canary-secret-3f9c1d"

type e2e struct {
	t      *testing.T
	fake   *fakeAWS
	dir    string
	bin    string
	bucket string
	extra  []string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	fake := newFakeAWS(t)
	if testing.Short() {
		t.Skip("builds llmops")
	}
	return &e2e{t: t, fake: fake, bin: binaries(t), dir: t.TempDir(), bucket: fake.aws.NewBucket(t)}
}

func (w *e2e) write(name, content string) {
	p := filepath.Join(w.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// header is the artifacts and aws provider blocks of every test's
// configuration.
func (w *e2e) header() string {
	return fmt.Sprintf(`
artifacts {
  url        = "s3://%s/llmops"
  path_style = true
}
provider "aws" {
  region             = "us-east-1"
  execution_role_arn = "arn:aws:iam::123456789012:role/llmops-sagemaker"
}
`, w.bucket)
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func (w *e2e) llmops(want int, args ...string) cliResult {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(w.bin, "llmops"), args...)
	cmd.Dir = w.dir
	env := testenv.Clean(append([]string{"LLMOPS_PLUGIN_PATH=" + w.bin, "NO_COLOR=1", "LLMOPS_AWS_POLL_INTERVAL=200ms",
		"LLMOPS_STATE_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, w.fake.Env()...)...)
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env[i] = "AWS_SECRET_ACCESS_KEY=" + secretCanary
		}
	}
	cmd.Env = append(env, w.extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("llmops %v: %v", args, err)
	}
	if want >= 0 && r.code != want {
		w.t.Fatalf("llmops %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// resources returns `show -json`'s objects by address.
func (w *e2e) resources() map[string]map[string]any {
	r := w.llmops(0, "show", "-json")
	var doc struct {
		Values struct {
			Resources []struct {
				Address  string         `json:"address"`
				Provider string         `json:"provider"`
				Values   map[string]any `json:"values"`
			} `json:"resources"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		w.t.Fatalf("show -json: %v\n%s", err, r.stdout)
	}
	out := map[string]map[string]any{}
	for _, o := range doc.Values.Resources {
		o.Values["_provider"] = o.Provider
		out[o.Address] = o.Values
	}
	return out
}

// clients are SDK clients for the tests' own checks, through the fake
// front (which keeps what moto drops, such as a job's Environment).
func (w *e2e) clients() (*sagemaker.Client, *s3.Client) {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(w.fake.aws.Region),
		config.WithBaseEndpoint(w.fake.URL),
		config.WithCredentialsProvider(awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
			return awssdk.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})))
	if err != nil {
		w.t.Fatal(err)
	}
	return sagemaker.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// noCanary fails when a file under the configuration directory holds the
// secret key.
func (w *e2e) noCanary() {
	w.t.Helper()
	filepath.Walk(w.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Size() > 64<<20 {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secretCanary)) {
			w.t.Errorf("%s holds the AWS secret key", p)
		}
		return nil
	})
}
