package ui_test

// The llmops side of the end-to-end tests: the CLI and the local provider
// built once, configurations applied for real in temporary directories,
// and `llmops ui` started on them as a user would.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmops/llmops/internal/testenv"
)

func TestMain(m *testing.M) {
	// The test binary is also the fake job commands of the sweep
	// configuration (see fakejobs_test.go).
	if job := os.Getenv("UI_TEST_JOB"); job != "" {
		os.Exit(fakeJob(job))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func repoRoot(t testing.TB) string {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildCLI builds llmops and the local provider once per test binary.
func buildCLI(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds llmops and applies configurations")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "llmops-ui-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "./cmd/llmops", "./cmd/llmops-provider-local")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// project is a configuration directory llmops runs in.
type project struct {
	t   *testing.T
	dir string
	bin string
	env []string
}

func newProject(t *testing.T, dir string, env ...string) *project {
	bin := buildCLI(t)
	keygen := exec.Command(filepath.Join(bin, "llmops"), "state", "keygen")
	key, err := keygen.Output()
	if err != nil {
		t.Fatal(err)
	}
	p := &project{t: t, dir: dir, bin: bin}
	p.env = testenv.Clean(append([]string{"LLMOPS_PLUGIN_PATH=" + bin, "NO_COLOR=1", "LLMOPS_STATE_KEY=" + strings.TrimSpace(string(key))}, env...)...)
	t.Cleanup(p.stopEverything)
	return p
}

// llmops runs llmops in the project; ok says whether it must succeed.
func (p *project) llmops(args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, "llmops"), args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("llmops %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// jsonOf runs llmops and decodes its JSON output.
func (p *project) jsonOf(args ...string) map[string]any {
	p.t.Helper()
	var m map[string]any
	out := p.llmops(args...)
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		p.t.Fatalf("llmops %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

// stopEverything stops what the project's applies left running: jobs'
// supervisors and commands, gateways and replicas (by the pids their
// run directories record).
func (p *project) stopEverything() {
	runs := filepath.Join(p.dir, ".llmops", "artifacts", "runs", "local")
	sups, _ := filepath.Glob(filepath.Join(runs, "*", "*", "supervisor.json"))
	for _, f := range sups {
		var s struct {
			PID      int `json:"pid"`
			ChildPID int `json:"child_pid"`
		}
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &s) == nil {
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), "manifest.json")); err == nil {
				continue // finished: its pids may be reused by now
			}
			killGroup(s.ChildPID)
			killGroup(s.PID)
		}
	}
	deps, _ := filepath.Glob(filepath.Join(runs, "deployment", "*", "deployment.json"))
	for _, f := range deps {
		var r struct {
			Gateway  struct{ PID int }
			Replicas []struct{ PID int }
		}
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &r) == nil {
			killGroup(r.Gateway.PID)
			for _, x := range r.Replicas {
				killGroup(x.PID)
			}
		}
	}
}

func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// uiServer is a running `llmops ui`.
type uiServer struct {
	url   string // http://127.0.0.1:PORT/
	token string // printed when made at start
	cmd   *exec.Cmd
}

var servingLine = regexp.MustCompile(`serving the dashboard of .* at (http://\S+/) `)

// startUI starts `llmops ui` with args and waits for the address it
// serves on.
func (p *project) startUI(args ...string) *uiServer {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, "llmops"), append([]string{"ui"}, args...)...)
	cmd.Dir, cmd.Env = p.dir, p.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	s := &uiServer{cmd: cmd}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	var seen []string
	for s.url == "" || (len(args) > 0 && strings.Contains(strings.Join(args, " "), "0.0.0.0") && s.token == "") {
		select {
		case l, ok := <-lines:
			if !ok {
				p.t.Fatalf("llmops ui exited before serving:\n%s\n%s", strings.Join(seen, "\n"), stderr.String())
			}
			seen = append(seen, l)
			if m := servingLine.FindStringSubmatch(l); m != nil {
				s.url = m[1]
			}
			if strings.HasPrefix(l, "  ") && len(strings.TrimSpace(l)) == 64 {
				s.token = strings.TrimSpace(l)
			}
		case <-deadline:
			p.t.Fatalf("llmops ui did not say where it serves within 60s:\n%s\n%s", strings.Join(seen, "\n"), stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// apiJSON fetches an API path of the server (with the token, if any).
func (s *uiServer) apiJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(s.url, "/")+path, nil)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s (%v) %v", path, resp.Status, err, m)
	}
	return m
}

// copyQuickstart copies examples/quickstart (its programs, data and
// configuration) into dir as a module using this repository, as the local
// provider's end-to-end tests do.
func copyQuickstart(t *testing.T, dir string) {
	root := repoRoot(t)
	src := filepath.Join(root, "examples", "quickstart")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		top := strings.Split(rel, string(filepath.Separator))[0]
		if top == "tinylm" || top == "tools" || top == ".llmops" || top == ".llmops.lock.hcl" || strings.HasSuffix(path, "_test.go") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(rootMod)
	gomod := fmt.Sprintf("module example.com/quickstart\n\n%s\n\nrequire github.com/llmops/llmops v0.0.0\n\nreplace github.com/llmops/llmops => %s\n", goLine, root)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}
