package alerts

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestWebhookRetriesWithBackoff(t *testing.T) {
	var calls atomic.Int32
	var got Payload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	p := Payload{Monitor: "monitor.prod", Check: "p95_latency_ms", Value: 900, Bound: 800, Kind: "max", Deployment: "deployment.prod", Revision: 2, Time: time.Now().UTC(), Action: "alert"}
	start := time.Now()
	n, err := Deliver(context.Background(), Target{Webhook: srv.URL}, p, Options{Backoff: 20 * time.Millisecond})
	if err != nil || n != 3 {
		t.Fatalf("attempts %d, err %v", n, err)
	}
	if time.Since(start) < 60*time.Millisecond {
		t.Fatal("no backoff between attempts")
	}
	if got.Check != "p95_latency_ms" || got.Value != 900 || got.Revision != 2 {
		t.Fatalf("payload %+v", got)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	n, err := Deliver(context.Background(), Target{Webhook: srv.URL}, Payload{}, Options{Attempts: 2, Backoff: time.Millisecond})
	if err == nil || n != 2 {
		t.Fatalf("attempts %d, err %v", n, err)
	}
}

func TestCommandGetsPayloadOnStdin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "payload")
	n, err := Deliver(context.Background(), Target{Command: []string{"sh", "-c", `cat > "$0"`, out}}, Payload{Check: "error_rate", Value: 0.5}, Options{})
	if err != nil || n != 1 {
		t.Fatalf("%d %v", n, err)
	}
	b, _ := os.ReadFile(out)
	var p Payload
	if json.Unmarshal(b, &p) != nil || p.Check != "error_rate" {
		t.Fatalf("payload %s", b)
	}
}
