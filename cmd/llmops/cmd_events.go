package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/llmops/llmops/cmd/llmops/render"
)

const eventsUsage = `
Usage: llmops events [options]

Lists the state's event log: monitor breaches and recoveries, alerts sent
or failed, rollbacks and restarts by watch, rollback pins, stale locks
taken over. Newest last.
`

func runEvents(m *meta, args []string) int {
	fs := m.newFlags("events", eventsUsage)
	n := fs.Int("n", 50, "Show the newest N events (0: all).")
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	evs, err := st.Events(ctx, *n)
	if err != nil {
		return m.errorDetail("Cannot read the event log", err.Error())
	}
	if *jsonOut {
		out := []map[string]any{}
		for _, e := range evs {
			entry := map[string]any{"id": e.ID, "time": e.Time, "kind": e.Kind, "address": e.Addr, "message": e.Message}
			if len(e.Data) > 0 {
				entry["data"] = json.RawMessage(e.Data)
			}
			out = append(out, entry)
		}
		b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "events": out}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	if len(evs) == 0 {
		fmt.Fprintln(m.stdout, "The event log is empty.")
		return exitOK
	}
	tw := tabwriter.NewWriter(m.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tADDRESS\tMESSAGE")
	for _, e := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Kind, e.Addr, e.Message)
	}
	tw.Flush()
	return exitOK
}
