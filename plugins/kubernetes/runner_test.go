package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The runner echoes each new metrics.jsonl line once, and the provider
// finds the last one in the pod's log among the command's own output.
func TestProgressEchoAndParse(t *testing.T) {
	dir := t.TempDir()
	var out syncBuffer
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { echoProgress(dir, 10*time.Millisecond, stop, &out); close(done) }()
	write := func(s string) {
		f, err := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	write(`{"step": 1, "loss": 2.5}` + "\n")
	poll(t, 10*time.Second, "the first progress line", func() bool { return strings.Contains(out.String(), `"step": 1`) })
	write(`{"step": 2, "loss": 1.5}` + "\n")
	poll(t, 10*time.Second, "the second progress line", func() bool { return strings.Contains(out.String(), `"step": 2`) })
	close(stop)
	<-done
	if n := strings.Count(out.String(), ProgressPrefix); n != 2 {
		t.Fatalf("%d progress lines, want 2:\n%s", n, out.String())
	}
	log := "epoch 1\n" + out.String() + "saving...\n"
	if got := lastProgress(log); got != `{"step": 2, "loss": 1.5}` {
		t.Fatalf("lastProgress = %q", got)
	}
	if got := lastProgress("no progress here\n"); got != "" {
		t.Fatalf("lastProgress of a log without progress = %q", got)
	}
}
