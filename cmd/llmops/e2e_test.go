package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmops/llmops/internal/testenv"
)

// binDir holds llmops and the provider binaries built for the end-to-end
// tests (once per test binary).
var binDir string

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashHelperEnv); mode != "" {
		// This test binary, run again by a crash test as llmops itself.
		os.Exit(crashHelper(mode, os.Args[1:]))
	}
	if os.Getenv("LLMOPS_E2E_SERVE_MODEL") == "1" {
		os.Exit(serveModel(os.Args[1:])) // a deployment's replica (e2e_artifacts_test.go)
	}
	dir, err := os.MkdirTemp("", "llmops-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := func() int {
		defer os.RemoveAll(dir)
		if err := buildBinaries(dir); err != nil {
			fmt.Fprintln(os.Stderr, "building binaries:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// buildBinaries builds llmops and every cmd/llmops-provider-* into dir.
func buildBinaries(dir string) error {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	pkgs := []string{"./cmd/llmops"}
	matches, _ := filepath.Glob(filepath.Join(root, "cmd", "llmops-provider-*"))
	for _, m := range matches {
		if gos, _ := filepath.Glob(filepath.Join(m, "*.go")); len(gos) > 0 {
			pkgs = append(pkgs, "./cmd/"+filepath.Base(m))
		}
	}
	args := append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

// workspace is a temp configuration directory driven through the CLI.
type workspace struct {
	t   *testing.T
	dir string
	env []string
}

func newWorkspace(t *testing.T, files map[string]string) *workspace {
	t.Helper()
	w := &workspace{t: t, dir: t.TempDir()}
	w.env = testenv.Clean("LLMOPS_PLUGIN_PATH="+binDir, "NO_COLOR=1")
	w.write(files)
	return w
}

func (w *workspace) write(files map[string]string) {
	w.t.Helper()
	for name, src := range files {
		p := filepath.Join(w.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs llmops with args in the workspace.
func (w *workspace) run(args ...string) result {
	w.t.Helper()
	return w.runInput("", args...)
}

func (w *workspace) runInput(stdin string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "llmops"), args...)
	cmd.Dir = w.dir
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("running llmops %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs llmops and fails the test unless it exits with want.
func (w *workspace) must(want int, args ...string) result {
	w.t.Helper()
	r := w.run(args...)
	if r.code != want {
		w.t.Fatalf("llmops %s: want exit %d\n%s", strings.Join(args, " "), want, r)
	}
	return r
}

// runAs runs llmops as another user (root only), for permission tests.
func (w *workspace) runAs(uid int, args ...string) result {
	w.t.Helper()
	os.Chmod(binDir, 0o755)
	for d := w.dir; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	cmd := exec.Command(filepath.Join(binDir, "llmops"), args...)
	cmd.Dir = w.dir
	cmd.Env = append(w.env, "HOME=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("running llmops as %d: %v", uid, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}
