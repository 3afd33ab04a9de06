package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// artifactStores is the configuration's artifact store: the local one
// (the cache) and the remote one it caches, if any.
type artifactStores struct {
	dir    string
	remote protocol.ArtifactStore
	store  *artifacts.Store
}

// openArtifacts loads the configuration's artifacts block and opens its
// stores, reporting transfers on w (as JSON lines with jsonOut).
func (m *meta) openArtifacts(ctx context.Context, w io.Writer, jsonOut bool) (*artifactStores, bool) {
	cfg, ok := m.loadConfig()
	if !ok {
		return nil, false
	}
	vars, ok := m.collectVars(cfg)
	if !ok {
		return nil, false
	}
	dir, diags := engine.ArtifactDir(cfg, vars)
	rs, rdiags := engine.ArtifactStore(cfg, vars)
	diags = append(diags, rdiags...)
	if diags.HasErrors() {
		m.showDiags(diags)
		return nil, false
	}
	s, err := remote.OpenStore(ctx, dir, remote.Config(rs), remote.Options{Progress: transferReporter(w, jsonOut)})
	if err != nil {
		m.errorDetail("Cannot open the artifact store", err.Error())
		return nil, false
	}
	return &artifactStores{dir: dir, remote: rs, store: s}, true
}

// transferReporter renders transfer events: a line about every two seconds
// while a transfer runs (bytes, rate, ETA) and one when it ends; with
// jsonOut, transfer_progress and transfer_complete events.
func transferReporter(w io.Writer, jsonOut bool) func(remote.Event) {
	var mu sync.Mutex
	last := map[artifacts.ID]time.Time{}
	return func(e remote.Event) {
		mu.Lock()
		defer mu.Unlock()
		if jsonOut {
			f := map[string]any{"type": "transfer_progress", "@timestamp": time.Now().UTC().Format(time.RFC3339Nano),
				"op": e.Op, "id": string(e.ID), "url": e.URL, "bytes": e.Bytes, "total_bytes": e.Total,
				"elapsed_seconds": e.Elapsed.Seconds(), "bytes_per_second": e.Rate()}
			if eta := e.ETA(); eta > 0 {
				f["eta_seconds"] = eta.Seconds()
			}
			if e.Done {
				f["type"] = "transfer_complete"
				if e.Err != nil {
					f["type"], f["error"] = "transfer_errored", e.Err.Error()
				}
			}
			b, _ := json.Marshal(f)
			w.Write(append(b, '\n'))
			return
		}
		if !e.Done && time.Since(last[e.ID]) < 2*time.Second {
			return
		}
		last[e.ID] = time.Now()
		verb := map[string]string{"push": "Pushing", "fetch": "Fetching"}[e.Op]
		line := fmt.Sprintf("%s %s: %s", verb, e.ID.Short(), humanBytes(e.Bytes))
		if e.Total > 0 {
			line += fmt.Sprintf(" of %s (%d%%)", humanBytes(e.Total), e.Bytes*100/max(e.Total, 1))
		}
		line += fmt.Sprintf(", %s/s", humanBytes(int64(e.Rate())))
		switch {
		case e.Done && e.Err != nil:
			line += ": failed"
		case e.Done:
			line += fmt.Sprintf(", done in %s", e.Elapsed.Round(10*time.Millisecond))
		case e.ETA() > 0:
			line += fmt.Sprintf(", ETA %s", e.ETA().Round(time.Second))
		}
		fmt.Fprintln(w, line)
	}
}
