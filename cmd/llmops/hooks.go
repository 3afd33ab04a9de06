package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/plans"
)

// uiHooks prints one line when each instance starts and finishes, a
// heartbeat for anything still running, and long-operation progress.
// With jsonOut, each event is a JSON line instead.
type uiHooks struct {
	mu      sync.Mutex
	w       io.Writer
	c       *render.Colors
	jsonOut bool
	// lastPending avoids repeating an unchanged progress line.
	lastPending map[addrs.ResourceInstance]string
	lastShown   map[addrs.ResourceInstance]time.Time
}

func newUIHooks(w io.Writer, c *render.Colors, jsonOut bool) *uiHooks {
	return &uiHooks{w: w, c: c, jsonOut: jsonOut, lastPending: map[addrs.ResourceInstance]string{}, lastShown: map[addrs.ResourceInstance]time.Time{}}
}

func (h *uiHooks) event(kind string, fields map[string]any) {
	fields["type"] = kind
	fields["@timestamp"] = time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(fields)
	h.mu.Lock()
	h.w.Write(append(b, '\n'))
	h.mu.Unlock()
}

func (h *uiHooks) line(s string) {
	h.mu.Lock()
	fmt.Fprintln(h.w, s)
	h.mu.Unlock()
}

func verbs(a plans.Action) (ing, noun string) {
	switch a {
	case plans.Create, plans.DeleteThenCreate, plans.CreateThenDelete:
		return "Creating", "Creation"
	case plans.Update:
		return "Modifying", "Modifications"
	case plans.Delete:
		return "Destroying", "Destruction"
	case plans.Wait:
		return "Waiting", "Operation"
	}
	return "Reading", "Read"
}

func (h *uiHooks) PreRefresh(addr addrs.ResourceInstance)           {}
func (h *uiHooks) PostRefresh(addr addrs.ResourceInstance, _ error) {}

func (h *uiHooks) PreApply(addr addrs.ResourceInstance, a plans.Action) {
	if h.jsonOut {
		h.event("apply_start", map[string]any{"address": addr.String(), "action": string(a)})
		return
	}
	ing, _ := verbs(a)
	h.line(fmt.Sprintf("%s: %s...", h.c.Bold(addr.String()), ing))
}

func (h *uiHooks) PostApply(addr addrs.ResourceInstance, a plans.Action, elapsed time.Duration, id string, err error) {
	secs := elapsed.Round(time.Second)
	if h.jsonOut {
		f := map[string]any{"address": addr.String(), "action": string(a), "elapsed_seconds": elapsed.Seconds()}
		if id != "" {
			f["id"] = id
		}
		if err != nil {
			f["error"] = err.Error()
			h.event("apply_errored", f)
		} else {
			h.event("apply_complete", f)
		}
		return
	}
	_, noun := verbs(a)
	if err != nil {
		h.line(fmt.Sprintf("%s: %s after %s", h.c.Bold(addr.String()), h.c.Err(noun+" failed"), secs))
		return
	}
	suffix := ""
	if id != "" {
		suffix = " [id=" + id + "]"
	}
	h.line(fmt.Sprintf("%s: %s complete after %s%s", h.c.Bold(addr.String()), noun, secs, suffix))
}

func (h *uiHooks) Heartbeat(addr addrs.ResourceInstance, a plans.Action, elapsed time.Duration) {
	if h.jsonOut {
		h.event("apply_progress", map[string]any{"address": addr.String(), "action": string(a), "elapsed_seconds": elapsed.Seconds()})
		return
	}
	ing, _ := verbs(a)
	h.line(fmt.Sprintf("%s: Still %s... [%s elapsed]", h.c.Bold(addr.String()), lower(ing), elapsed))
}

func (h *uiHooks) Pending(addr addrs.ResourceInstance, status, message string, elapsed time.Duration) {
	if h.jsonOut {
		h.event("operation_progress", map[string]any{"address": addr.String(), "status": status, "message": message, "elapsed_seconds": elapsed.Seconds()})
		return
	}
	key := status + "\x00" + message
	h.mu.Lock()
	same := h.lastPending[addr] == key
	recent := time.Since(h.lastShown[addr]) < 10*time.Second
	if same && recent {
		h.mu.Unlock()
		return
	}
	h.lastPending[addr] = key
	h.lastShown[addr] = time.Now()
	h.mu.Unlock()
	line := fmt.Sprintf("%s: %s [%s elapsed]", h.c.Bold(addr.String()), status, elapsed.Round(time.Second))
	if message != "" {
		line += " " + message
	}
	h.line(line)
}

func (h *uiHooks) Skipped(addr addrs.ResourceInstance, because string) {
	if h.jsonOut {
		h.event("apply_skipped", map[string]any{"address": addr.String(), "because": because})
		return
	}
	h.line(fmt.Sprintf("%s: %s: %s", h.c.Bold(addr.String()), h.c.Warn("Skipped"), because))
}

func lower(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}
