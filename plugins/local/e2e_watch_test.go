package local_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// llmops watch on the quickstart's deployment and monitor: an impossible
// latency bound fires the webhook (the payload reaches a test server) and
// is recorded in the event log; with on_breach = "rollback" the deployment
// goes back to its previous revision; a killed replica is restarted by
// `watch -once`.
func TestE2EWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	var mu sync.Mutex
	var payloads []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		payloads = append(payloads, p)
		mu.Unlock()
	}))
	defer srv.Close()
	received := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), payloads...)
	}

	q := newQuickstart(t)
	q.env = append(q.env, "LLMOPS_VAR_requests_per_minute=1000000")
	q.editHCL(`check "p95_latency_ms" { max = 500 }`, `check "p95_latency_ms" { max = 0.001 }`)
	q.editHCL(`interval    = "30s"`, `interval    = "1s"`)
	q.editHCL(`alert { command = ["tee", "-a", ".llmops/alerts.jsonl"] }`, fmt.Sprintf(`alert { webhook = %q }`, srv.URL))
	q.ok("init")
	q.ok("apply", "-auto-approve")
	ep, key := q.output("endpoint"), q.output("api_key")
	traffic := func() {
		for i := 0; i < 10; i++ {
			if c := complete(t, ep, key); c.code != 200 {
				t.Fatalf("completion: %+v", c)
			}
		}
		time.Sleep(1100 * time.Millisecond) // the monitor's interval
	}

	// A breach fires the webhook once, and is in the event log.
	traffic()
	r := q.ok("watch", "-once")
	contains(t, r.out, "breach", "alert sent")
	got := received()
	if len(got) != 1 || got[0]["check"] != "p95_latency_ms" || got[0]["bound"] != 0.001 || got[0]["monitor"] != "monitor.tickets" ||
		got[0]["deployment"] == "" || got[0]["revision"] != float64(1) || got[0]["time"] == nil {
		t.Fatalf("webhook payloads: %v\n%s", got, r.out)
	}
	ev := q.ok("events").out
	contains(t, ev, "monitor.breach", "alert.sent", "p95_latency_ms")
	// Still breached: no second alert for the same breach.
	traffic()
	q.ok("watch", "-once")
	if n := len(received()); n != 1 {
		t.Fatalf("the same breach alerted %d times", n)
	}

	// on_breach = "rollback": a new revision that breaches goes back to the
	// previous one.
	q.editHCL(`"-port", "{port}"]`, `"-port", "{port}", "-name", "tinylm-v2"]`)
	q.editHCL(`on_breach = "alert"`, `on_breach = "rollback"`)
	q.ok("apply", "-auto-approve")
	if c := complete(t, ep, key); c.model != "tinylm-v2" || c.revision != "2" {
		t.Fatalf("revision 2: %+v", c)
	}
	traffic() // a breach of revision 2 is a new breach
	r = q.ok("watch", "-once")
	contains(t, r.out, "rolled back")
	if c := complete(t, ep, key); c.model != "tinylm" || c.revision != "3" {
		t.Fatalf("after watch's rollback the endpoint serves %+v, want the first revision's model name as revision 3", c)
	}
	contains(t, q.ok("events").out, "watch.rollback")
	// The rolled-back revision breaches too: watch does not swing back to
	// the revision it rolled back from.
	traffic()
	r = q.ok("watch", "-once")
	contains(t, r.out, "not rolling back again")
	if c := complete(t, ep, key); c.model != "tinylm" || c.revision != "3" {
		t.Fatalf("after a second breach the endpoint serves %+v, want revision 3 still", c)
	}
	contains(t, q.ok("events").out, "watch.rollback_skipped")

	// A killed replica: watch -once restarts it.
	rec := readRecord(t, filepath.Join(q.dir, ".llmops", "artifacts"), q.deploymentID())
	pid := rec.Replicas[0].PID
	must(t, syscall.Kill(-pid, syscall.SIGKILL))
	waitFor(5*time.Second, func() bool { return !alive(pid) })
	r = q.ok("watch", "-once")
	contains(t, r.out, "restarted replicas")
	if t.Failed() {
		t.Logf("plan now:\n%s", q.run("plan").out)
	}
	if c := complete(t, ep, key); c.code != 200 {
		t.Fatalf("after watch restarted the replica: %+v", c)
	}
	contains(t, q.ok("events").out, "watch.restart")
	if strings.Contains(q.ok("events", "-json").out, key) {
		t.Fatal("the API key is in the event log")
	}
}
