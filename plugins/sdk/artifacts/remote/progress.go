package remote

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

// Event reports a transfer: while it runs (about once a second) and when
// it ends (Done).
type Event struct {
	// Op is "push" or "fetch".
	Op  string
	ID  artifacts.ID
	URL string
	// Bytes moved so far, of Total (0 when unknown).
	Bytes, Total int64
	Elapsed      time.Duration
	Done         bool
	// Err is the failure of a transfer that ended (Done) badly.
	Err error
}

// Rate is the mean throughput so far, in bytes per second.
func (e Event) Rate() float64 {
	if e.Elapsed <= 0 {
		return 0
	}
	return float64(e.Bytes) / e.Elapsed.Seconds()
}

// ETA is the time left at the mean rate (0 when unknown).
func (e Event) ETA() time.Duration {
	r := e.Rate()
	if e.Total <= 0 || r <= 0 || e.Bytes >= e.Total {
		return 0
	}
	return time.Duration(float64(e.Total-e.Bytes) / r * float64(time.Second))
}

// progressInterval is how often a running transfer reports.
const progressInterval = time.Second

// transfer counts one transfer's bytes and reports them.
type transfer struct {
	ev    Event
	bytes atomic.Int64
	start time.Time
	fn    func(Event)
	stop  chan struct{}
	once  sync.Once
}

func (c *Cache) start(op string, id artifacts.ID, total int64) *transfer {
	t := &transfer{ev: Event{Op: op, ID: id, URL: c.b.URL(), Total: total}, start: time.Now(), fn: c.opts.Progress, stop: make(chan struct{})}
	if t.fn == nil {
		return t
	}
	go func() {
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				t.fn(t.event())
			case <-t.stop:
				return
			}
		}
	}()
	return t
}

// Add counts n bytes moved (backend.Counter).
func (t *transfer) Add(n int64) { t.bytes.Add(n) }

func (t *transfer) event() Event {
	e := t.ev
	e.Bytes = t.bytes.Load()
	e.Elapsed = time.Since(t.start)
	return e
}

// finish reports the end of the transfer (once).
func (t *transfer) finish(err error) {
	t.once.Do(func() {
		close(t.stop)
		if t.fn != nil {
			e := t.event()
			e.Done, e.Err = true, err
			t.fn(e)
		}
	})
}

// InfoLogger is what LogProgress writes to (an hclog.Logger is one).
type InfoLogger interface {
	Info(msg string, args ...any)
}

// LogProgress returns an Options.Progress that logs each transfer at most
// every interval, and when it ends: for providers, whose logs llmops
// shows with LLMOPS_LOG and keeps in .llmops/logs.
func LogProgress(l InfoLogger, interval time.Duration) func(Event) {
	var mu sync.Mutex
	last := map[artifacts.ID]time.Time{}
	return func(e Event) {
		mu.Lock()
		if !e.Done && time.Since(last[e.ID]) < interval {
			mu.Unlock()
			return
		}
		last[e.ID] = time.Now()
		if e.Done {
			delete(last, e.ID)
		}
		mu.Unlock()
		args := []any{"op", e.Op, "id", string(e.ID), "url", e.URL, "bytes", e.Bytes, "total_bytes", e.Total,
			"bytes_per_second", int64(e.Rate()), "elapsed", e.Elapsed.Round(time.Millisecond).String()}
		switch {
		case e.Done && e.Err != nil:
			l.Info("artifact transfer failed", append(args, "error", e.Err.Error())...)
		case e.Done:
			l.Info("artifact transfer done", args...)
		default:
			l.Info("artifact transfer", append(args, "eta", e.ETA().Round(time.Second).String())...)
		}
	}
}
