package slurm

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/llmops/llmops/plugins/sdk/replicaauth"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeServe is a tiny OpenAI-like server, run as a deployment's replica
// (LLMOPS_SLURM_TEST_SERVE=1) by the test binary, copied where the job
// user can run it (serveBinary). Its arguments are --port=P, --model=DIR
// and --tag=T: it checks that DIR exists, listens on every address of the
// node at P, and answers completions with T as "model" and the revision
// and Slurm job it runs in. LLMOPS_SLURM_TEST_SERVE=unhealthy never
// answers its health check.
func fakeServe() int {
	args := map[string]string{}
	for _, a := range os.Args[1:] {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		args[k] = v
	}
	if _, err := os.Stat(args["model"]); err != nil {
		fmt.Fprintf(os.Stderr, "fake serve: no model: %v\n", err)
		return 1
	}
	unhealthy := os.Getenv("LLMOPS_SLURM_TEST_SERVE") == "unhealthy"
	if unhealthy {
		fmt.Fprintln(os.Stderr, "fake serve: CUDA error: out of memory while loading the weights; retrying forever")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if unhealthy {
			http.Error(w, "loading", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	})
	complete := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"object": "text_completion", "model": args["tag"], "revision": os.Getenv("LLMOPS_REVISION"),
			"job": os.Getenv("SLURM_JOB_ID"), "port": args["port"], "auth": r.Header.Get("Authorization"),
			"gpus":    os.Getenv("CUDA_VISIBLE_DEVICES"),
			"choices": []any{map[string]any{"text": "hello", "index": 0}},
			"usage":   map[string]any{"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7},
		})
	}
	mux.HandleFunc("/v1/completions", complete)
	mux.HandleFunc("/v1/chat/completions", complete)
	// Like every serving program llmops ships: only its gateway (which
	// sends the replica token) is served; the health path is open.
	srv := &http.Server{Addr: ":" + args["port"], Handler: replicaauth.Require(os.Getenv(replicaauth.TokenEnv), []string{"/health"}, mux)}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Println("fake serve: listening on", srv.Addr, "for model", args["model"])
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "fake serve:", err)
		return 1
	}
	return 0
}

var (
	serveOnce sync.Once
	serveDir  string
	serveErr  error
)

// serveBinary copies the test binary into the shared directory, where the
// job user can run it as the serving program, and returns its path.
func serveBinary(t *testing.T, env *slurmEnv) string {
	t.Helper()
	serveOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			serveErr = err
			return
		}
		if serveDir, serveErr = os.MkdirTemp(env.Shared, "serve-bin-"); serveErr != nil {
			return
		}
		os.Chmod(serveDir, 0o755)
		b, err := os.ReadFile(exe)
		if err != nil {
			serveErr = err
			return
		}
		serveErr = os.WriteFile(filepath.Join(serveDir, "fake-serve"), b, 0o755)
	})
	if serveErr != nil {
		t.Fatalf("copying the serving program: %v", serveErr)
	}
	return filepath.Join(serveDir, "fake-serve")
}

// The serving script, run by bash here (no Slurm): hostile values reach
// the command as written, {port} and {model_path} are substituted as
// strings (a model path holding "{port}" or "&" is left alone), a used
// port is skipped, and the endpoint and the exit are recorded.
func TestServeScriptSubstitutesSafely(t *testing.T) {
	dir := t.TempDir()
	rdir := filepath.Join(dir, "r1-0.1")
	work := filepath.Join(dir, `work 'dir' $(x)`)
	model := filepath.Join(dir, `model & {port} 'q' $(touch /tmp/llmops-pwned)`)
	for _, d := range []string{rdir, work, model} {
		os.MkdirAll(d, 0o755)
	}
	out := filepath.Join(dir, "args.txt")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	if busy < 1024 || busy >= 65535 {
		t.Skipf("port %d", busy)
	}
	hostile := []string{`it's`, `$(touch /tmp/llmops-pwned)`, "a;b\nc", "`id`", `\{port\}`}
	argv := append([]string{"bash", "-c", `printf '%s\n' "$@" > "$OUT"; echo "$LLMOPS_PORT|$LLMOPS_HOST|$LLMOPS_REVISION|$LLMOPS_REPLICA|$PWD" >> "$OUT"`, "x",
		"--port={port}", "{model_path}", "a{port}b{model_path}c"}, hostile...)
	p := &serveParams{Deployment: "dep-0123456789abcdef", Revision: 3, Replica: 1, Argv: argv, WorkDir: work, Dir: rdir,
		ModelPath: model, Env: map[string]string{"OUT": out, "HOSTILE": `"'$(x)`}, PortLow: busy, PortHigh: busy + 1}
	script, err := renderServeScript(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(rdir, scriptFile)
	os.WriteFile(path, []byte(script), 0o755)
	cmd := exec.Command("bash", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SLURM_JOB_ID=42"}
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, b)
	}
	t.Logf("script output:\n%s", b)
	if _, err := os.Stat("/tmp/llmops-pwned"); err == nil {
		t.Fatal("a quoted value was executed")
	}
	got, _ := os.ReadFile(out)
	port := strconv.Itoa(busy + 1)
	want := append([]string{"--port=" + port, model, "a" + port + "b" + model + "c"}, hostile...)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	// "a;b\nc" spans two lines of the file.
	joined := strings.Join(lines[:len(lines)-1], "\n")
	if joined != strings.Join(want, "\n") {
		t.Errorf("arguments:\n got %q\nwant %q", joined, strings.Join(want, "\n"))
	}
	last := strings.Split(lines[len(lines)-1], "|")
	if last[0] != port || last[1] == "" || last[2] != "3" || last[3] != "1" || last[4] != work {
		t.Errorf("environment and directory: %q", last)
	}
	x := replicaRec{Dir: rdir}
	if err := readEndpoint(&x); err != nil || x.Port != busy+1 || x.Host != last[1] {
		t.Errorf("endpoint.json: %+v %v", x, err)
	}
	var exit struct {
		Status   string `json:"status"`
		ExitCode int    `json:"exit_code"`
	}
	eb, _ := os.ReadFile(filepath.Join(rdir, exitFile))
	if json.Unmarshal(eb, &exit) != nil || exit.Status != "exited" || exit.ExitCode != 0 {
		t.Errorf("exit.json: %s", eb)
	}

	// Every port of the range is taken: the script says so and fails.
	p.PortHigh = busy
	script, _ = renderServeScript(p)
	os.WriteFile(path, []byte(script), 0o755)
	cmd = exec.Command("bash", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "no free port") {
		t.Fatalf("a full port range: %v\n%s", err, b)
	}
}

func TestServeScriptRefusesWhatCannotBeCarried(t *testing.T) {
	base := serveParams{Deployment: "dep-x", Argv: []string{"serve"}, WorkDir: "/", Dir: "/tmp/x", ModelPath: "/m", PortLow: 20000, PortHigh: 20001}
	for name, mod := range map[string]func(p *serveParams){
		"NUL in argv":      func(p *serveParams) { p.Argv = []string{"serve", "a\x00b"} },
		"empty command":    func(p *serveParams) { p.Argv = nil },
		"bad env name":     func(p *serveParams) { p.Env = map[string]string{"A B": "1"} },
		"NUL in the model": func(p *serveParams) { p.ModelPath = "/m\x00" },
		"port range":       func(p *serveParams) { p.PortLow, p.PortHigh = 30000, 20000 },
	} {
		p := base
		mod(&p)
		if _, err := renderServeScript(&p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, s := range []string{"", "20000-32767", "1024-1024"} {
		if _, _, err := parsePortRange(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"80-90", "2-1", "20000", "a-b", "30000-70000"} {
		if _, _, err := parsePortRange(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
