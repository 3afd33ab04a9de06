package retrieval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Embedder embeds a question by running the embedding command of the
// embedding_index contract once: one chunk ({"id", "row", "text"}) on
// stdin, one vector (a JSON array, or an object with "embedding" or
// "vector") read from its stdout.
type Embedder struct {
	Argv []string
	Dir  string
	// Env is the command's environment (LLMOPS_MODEL_PATH included).
	Env     []string
	Timeout time.Duration
}

// Embed returns the question's vector.
func (e Embedder) Embed(ctx context.Context, text string) ([]float32, error) {
	if len(e.Argv) == 0 {
		return nil, fmt.Errorf("no embedding command")
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in, _ := json.Marshal(map[string]any{"id": 0, "row": 0, "text": text})
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, e.Argv[0], e.Argv[1:]...)
	cmd.Dir, cmd.Env = e.Dir, e.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(append(in, '\n')), &out, &limited{&errb, 4096}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the embedding command %s failed: %v: %s", e.Argv[0], err, strings.TrimSpace(errb.String()))
	}
	line, _, _ := bytes.Cut(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	return parseVector(line)
}

// parseVector reads one vector line of the embedding contract.
func parseVector(line []byte) ([]float32, error) {
	var v []float32
	if err := json.Unmarshal(line, &v); err == nil && len(v) > 0 {
		return v, nil
	}
	var obj struct {
		Embedding []float32 `json:"embedding"`
		Vector    []float32 `json:"vector"`
	}
	if err := json.Unmarshal(line, &obj); err != nil {
		return nil, fmt.Errorf("the embedding command wrote no vector (a JSON array, or {\"embedding\": [...]}) on stdout: %v", err)
	}
	if obj.Embedding != nil {
		return obj.Embedding, nil
	}
	if len(obj.Vector) == 0 {
		return nil, fmt.Errorf("the embedding command wrote an empty vector")
	}
	return obj.Vector, nil
}

// limited keeps the first n bytes written.
type limited struct {
	b *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
