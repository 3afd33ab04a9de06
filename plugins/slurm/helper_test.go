package slurm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary doubles as the job command of the script tests: with
// LLMOPS_SLURM_TEST_HELPER set it records its argv and environment in
// $LLMOPS_OUTPUT_DIR/args.json, writes a model with awkward file names and
// metrics, and exits with $LLMOPS_SLURM_TEST_EXIT.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == GatewayArg {
		os.Exit(Gateway(os.Args[2:])) // the in-process tests' deployments
	}
	if os.Getenv("LLMOPS_SLURM_TEST_SERVE") != "" {
		os.Exit(fakeServe())
	}
	if os.Getenv("LLMOPS_SLURM_TEST_HELPER") != "" {
		os.Exit(helperMain())
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir) // built by the end-to-end tests
	}
	if serveDir != "" {
		os.RemoveAll(serveDir) // the deployment tests' serving program
	}
	os.Exit(code)
}

var helperFiles = []string{
	"config.json", "weights/model.bin", `we"ird\name's $(x).bin`, "sub dir/a;b`c`.txt",
	"ünï/cödé.txt", "new\nline.txt", "tab\there.txt", "z-last",
}

func helperMain() int {
	out := os.Getenv("LLMOPS_OUTPUT_DIR")
	wd, _ := os.Getwd()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	b, _ := json.Marshal(map[string]any{"args": os.Args[1:], "env": env, "wd": wd})
	if err := os.WriteFile(filepath.Join(out, "args.json"), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if os.Getenv("LLMOPS_SLURM_TEST_MODEL") != "" {
		for i, f := range helperFiles {
			p := filepath.Join(out, "model", f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			mode := os.FileMode(0o644)
			if i == 1 {
				mode = 0o755
			}
			os.WriteFile(p, []byte(strings.Repeat(f, i+1)), mode)
		}
	}
	os.WriteFile(filepath.Join(out, "metrics.json"), []byte(`{"loss": 0.5, "accuracy": 0.75}`), 0o644)
	fmt.Println("helper ran with", len(os.Args)-1, "arguments")
	if code := os.Getenv("LLMOPS_SLURM_TEST_EXIT"); code != "" && code != "0" {
		fmt.Println("helper-failure-marker")
		return 3
	}
	return 0
}
