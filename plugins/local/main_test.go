package local_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmops/llmops/plugins/local"
)

// TestMain lets the test binary play two parts besides running tests: the
// job supervisor (as the provider binary does) and the fake job commands
// the tests run (LLMOPS_TEST_JOB=train|eval|embed|transform|fail|sleep).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == local.SuperviseArg {
		os.Exit(local.Supervise(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == local.GatewayArg {
		os.Exit(local.Gateway(os.Args[2:]))
	}
	if job := os.Getenv("LLMOPS_TEST_JOB"); job != "" {
		os.Exit(fakeJob(job))
	}
	code := m.Run()
	if e2eBin != "" {
		os.RemoveAll(e2eBin)
	}
	os.Exit(code)
}

// testJobCommand is the argv that runs a fake job: the test binary itself.
func testJobCommand(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func fakeJob(job string) int {
	out := os.Getenv("LLMOPS_OUTPUT_DIR")
	if c := os.Getenv("LLMOPS_TEST_COUNTER"); c != "" {
		f, err := os.OpenFile(c, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			cuda, set := os.LookupEnv("CUDA_VISIBLE_DEVICES")
			if !set {
				cuda = "(unset)"
			}
			fmt.Fprintf(f, "%s %s %d cuda=%s\n", job, os.Getenv("LLMOPS_RUN_ID"), os.Getpid(), cuda)
			f.Close()
		}
	}
	sleep, _ := time.ParseDuration(os.Getenv("LLMOPS_TEST_SLEEP"))
	switch job {
	case "wrap":
		// Count the start (with the GPUs the job was given), then become
		// the wrapped command.
		if len(os.Args) < 2 {
			return 2
		}
		path, err := exec.LookPath(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 127
		}
		env := make([]string, 0, len(os.Environ()))
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LLMOPS_TEST_JOB=") {
				env = append(env, kv)
			}
		}
		if err := syscall.Exec(path, os.Args[1:], env); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 126
		}
	case "train":
		// Record what the contract gave us, then "train".
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, "LLMOPS_") || k == "CUDA_VISIBLE_DEVICES" {
				env[k] = v
			}
		}
		_, set := os.LookupEnv("CUDA_VISIBLE_DEVICES")
		env["CUDA_VISIBLE_DEVICES_SET"] = strconv.FormatBool(set)
		b, _ := json.MarshalIndent(env, "", " ")
		os.MkdirAll(filepath.Join(out, "model"), 0o755)
		os.WriteFile(filepath.Join(out, "env.json"), b, 0o644)
		lines, _ := os.Create(filepath.Join(out, "metrics.jsonl"))
		steps := 5
		for i := 1; i <= steps; i++ {
			fmt.Fprintf(lines, "{\"step\":%d,\"loss\":%g}\n", i, 3.0/float64(i))
			fmt.Println("train: step", i)
			if sleep > 0 {
				time.Sleep(sleep / time.Duration(steps))
			}
		}
		lines.Close()
		base, _ := os.ReadFile(filepath.Join(os.Getenv("LLMOPS_BASE_MODEL_PATH"), "weights.bin"))
		os.WriteFile(filepath.Join(out, "model", "weights.bin"), append(base, []byte(os.Getenv("LLMOPS_HPARAMS")+os.Getenv("LLMOPS_METHOD"))...), 0o644)
		os.WriteFile(filepath.Join(out, "model", "cuda.txt"), []byte(os.Getenv("CUDA_VISIBLE_DEVICES")), 0o644)
		os.WriteFile(filepath.Join(out, "metrics.json"), []byte(`{"train_loss": 0.6, "steps": 5, "note": "ignored"}`), 0o644)
	case "eval":
		acc, _ := strconv.ParseFloat(os.Getenv("LLMOPS_TEST_ACCURACY"), 64)
		if sleep > 0 {
			time.Sleep(sleep)
		}
		m := map[string]any{"accuracy": acc, "examples": 10}
		if ep := os.Getenv("LLMOPS_ENDPOINT"); ep != "" {
			// Live mode (a monitor's eval: check): call the endpoint.
			req, _ := http.NewRequest("POST", ep+"/completions", strings.NewReader(`{"prompt":"hi"}`))
			req.Header.Set("Authorization", "Bearer "+os.Getenv("LLMOPS_API_KEY"))
			code := 0
			if resp, err := http.DefaultClient.Do(req); err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			m["endpoint_status"] = code
			m["model_path_set"] = len(os.Getenv("LLMOPS_MODEL_PATH"))
		}
		if p := os.Getenv("LLMOPS_DATASET_PATH"); p != "" {
			b, _ := os.ReadFile(p)
			m["eval_rows"] = strings.Count(string(b), "\n")
		}
		b, _ := json.Marshal(m)
		os.WriteFile(filepath.Join(out, "metrics.json"), b, 0o644)
	case "embed":
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			var c struct{ Text string }
			json.Unmarshal(sc.Bytes(), &c)
			fmt.Printf("[%d, %d, 1]\n", len(c.Text), strings.Count(c.Text, "a"))
		}
	case "transform":
		b, err := os.ReadFile(os.Getenv("LLMOPS_INPUT_PATH"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.WriteFile(filepath.Join(out, "data.jsonl"), []byte(strings.ToUpper(string(b))), 0o644)
	case "fail":
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(os.Stderr, "working %d\n", i)
		}
		fmt.Fprintln(os.Stderr, "boom at step 31: CUDA out of memory")
		return 3
	case "leak":
		// Print the secrets we were given, then fail or "train".
		fmt.Println("token is", os.Getenv("TOKEN"), "and my argv is", strings.Join(os.Args[1:], " "))
		fmt.Fprintln(os.Stderr, "half of it:", os.Getenv("TOKEN")[:len(os.Getenv("TOKEN"))/2], "and the other half:", os.Getenv("TOKEN")[len(os.Getenv("TOKEN"))/2:])
		sum := sha256.Sum256([]byte(os.Getenv("TOKEN")))
		if hex.EncodeToString(sum[:]) != os.Getenv("LLMOPS_TEST_TOKEN_SHA256") {
			fmt.Fprintln(os.Stderr, "the job did not get its TOKEN")
			return 4
		}
		if os.Getenv("LLMOPS_TEST_FAIL") != "" {
			return 3
		}
		os.MkdirAll(filepath.Join(out, "model"), 0o755)
		os.WriteFile(filepath.Join(out, "model", "weights.bin"), []byte("w"), 0o644)
	case "environ":
		// Record the whole environment, then "train".
		os.MkdirAll(filepath.Join(out, "model"), 0o755)
		os.WriteFile(filepath.Join(out, "environ.txt"), []byte(strings.Join(os.Environ(), "\n")), 0o644)
		os.WriteFile(filepath.Join(out, "model", "weights.bin"), []byte("w"), 0o644)
	case "serve":
		return fakeServe()
	case "sleep":
		fmt.Println("sleeping", sleep)
		time.Sleep(sleep)
	default:
		fmt.Fprintln(os.Stderr, "unknown test job", job)
		return 2
	}
	return 0
}
