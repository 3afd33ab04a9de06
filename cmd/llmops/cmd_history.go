package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/state"
)

const historyUsage = `
Usage: llmops history [options] [ADDR]

Lists the state versions (serial, time, who, command, configuration
digest, counts), or, with ADDR, every recorded version of one object: its
version number (replacements), the serial that wrote it, its digest and
key attributes.
`

func runHistory(m *meta, args []string) int {
	fs := m.newFlags("history", historyUsage)
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
	if fs.NArg() == 0 {
		vs, err := st.Versions(ctx)
		if err != nil {
			return m.errorDetail("Cannot read the state", err.Error())
		}
		if *jsonOut {
			out := []map[string]any{}
			for _, v := range vs {
				out = append(out, map[string]any{"serial": v.Serial, "time": v.CreatedAt, "who": v.Who, "command": v.Command,
					"config_digest": v.ConfigDigest, "status": v.Status, "counts": v.Counts, "objects": v.ObjectCount})
			}
			b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "versions": out}, "", "  ")
			fmt.Fprintln(m.stdout, string(b))
			return exitOK
		}
		if len(vs) == 0 {
			fmt.Fprintln(m.stdout, "No state versions yet: nothing has been applied.")
			return exitOK
		}
		tw := tabwriter.NewWriter(m.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERIAL\tTIME\tWHO\tCOMMAND\tCONFIG\tCHANGES\tOBJECTS\tSTATUS")
		for _, v := range vs {
			c := v.Counts
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t+%d ~%d -/+%d -%d%s\t%d\t%s\n", v.Serial, v.CreatedAt.Local().Format("2006-01-02 15:04:05"), v.Who,
				v.Command, shortDigest(v.ConfigDigest), c.Added, c.Changed, c.Replaced, c.Destroyed, failedSuffix(c.Failed), v.ObjectCount, v.Status)
		}
		tw.Flush()
		return exitOK
	}
	addr, err := addrs.ParseResourceInstance(fs.Arg(0))
	if err != nil {
		return m.errorDetail("Invalid address", err.Error())
	}
	rows, prevs, err := objectHistory(ctx, st, addr)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	if len(rows) == 0 {
		return m.errorDetail("No history", fmt.Sprintf("%s was never recorded. `llmops state list` shows what is.", addr))
	}
	out := render.HistoryEntries(rows)
	if *jsonOut {
		b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "address": addr.String(), "versions": out}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	tw := tabwriter.NewWriter(m.stdout, 2, 4, 2, ' ', 0)
	if len(prevs) > 0 {
		fmt.Fprintf(m.stdout, "%s was moved here from %s.\n\n", addr, strings.Join(prevs, ", then from "))
		fmt.Fprintln(tw, "ADDRESS\tVERSION\tSERIAL\tUNTIL\tSTATUS\tDIGEST\tATTRIBUTES")
	} else {
		fmt.Fprintln(tw, "VERSION\tSERIAL\tUNTIL\tSTATUS\tDIGEST\tATTRIBUTES")
	}
	for _, e := range out {
		until := "current"
		if e.RemovedBy != 0 {
			until = fmt.Sprint(e.RemovedBy)
		}
		var attrs []string
		for _, k := range render.SortedNames(e.Attributes) {
			attrs = append(attrs, k+"="+e.Attributes[k])
		}
		if len(prevs) > 0 {
			fmt.Fprintf(tw, "%s\t", e.Address)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", e.Version, e.Serial, until, e.Status, shortDigest(e.Digest), strings.Join(attrs, " "))
	}
	tw.Flush()
	return exitOK
}

func shortDigest(d string) string {
	if strings.HasPrefix(d, "sha256:") && len(d) > 19 {
		return d[:19]
	}
	return d
}

func failedSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" !%d", n)
}

const diffUsage = `
Usage: llmops diff [options] N M [ADDR]

Shows what changed between state versions N and M (objects added,
removed and changed, attribute by attribute), optionally for one object.
`

func runDiff(m *meta, args []string) int {
	fs := m.newFlags("diff", diffUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return m.errorf("diff takes two serials and an optional address: llmops diff 3 5 deployment.prod")
	}
	var n, mm int64
	if _, err := fmt.Sscan(fs.Arg(0), &n); err != nil {
		return m.errorf("invalid serial %q", fs.Arg(0))
	}
	if _, err := fmt.Sscan(fs.Arg(1), &mm); err != nil {
		return m.errorf("invalid serial %q", fs.Arg(1))
	}
	var filter func(addrs.ResourceInstance) bool
	if fs.NArg() == 3 {
		p, err := addrs.ParsePattern(fs.Arg(2))
		if err != nil {
			return m.errorDetail("Invalid address", err.Error())
		}
		filter = p.MatchInstance
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	a, err := st.Snapshot(ctx, n)
	if err != nil || a.Serial != n {
		return m.errorDetail("No such state version", fmt.Sprintf("%d: `llmops history` lists the versions.", n))
	}
	b, err := st.Snapshot(ctx, mm)
	if err != nil || b.Serial != mm {
		return m.errorDetail("No such state version", fmt.Sprintf("%d: `llmops history` lists the versions.", mm))
	}
	// With the state key, sealed sensitive values are compared too (a
	// rotated key shows as changed, still rendered as (sensitive)).
	key, ok := m.stateKey()
	if !ok {
		return exitError
	}
	diffs, err := history.Diff(a, b, filter, key)
	if err != nil {
		return m.errorDetail("Invalid state", err.Error())
	}
	p := render.DiffPlan(diffs)
	if *jsonOut {
		b, _ := json.MarshalIndent(render.PlanJSON(p), "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	if len(diffs) == 0 {
		fmt.Fprintf(m.stdout, "No differences between versions %d and %d.\n", n, mm)
		return exitOK
	}
	fmt.Fprintf(m.stdout, "Changes from state version %d to %d:\n\n", n, mm)
	render.Diff(m.stdout, p, m.colors)
	return exitOK
}

const lineageUsage = `
Usage: llmops lineage [options] ADDR

Shows the ancestry of an object as a tree: for a deployment, its model,
the training run that produced it, the base model and the dataset
versions with their digests, and the evaluation results that let it
through. -version N shows it as it was in state version N.
`

func runLineage(m *meta, args []string) int {
	fs := m.newFlags("lineage", lineageUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	version := fs.Int64("version", 0, "State version to read (default: the newest).")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return m.errorf("lineage takes one address, e.g. llmops lineage deployment.prod")
	}
	addr, err := addrs.ParseResourceInstance(fs.Arg(0))
	if err != nil {
		return m.errorDetail("Invalid address", err.Error())
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx, *version)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	objs, err := history.Decode(snap)
	if err != nil {
		return m.errorDetail("Invalid state", err.Error())
	}
	if evs, err := st.EventsOfKind(ctx, history.EventMoved); err == nil {
		history.FollowMoves(objs, evs)
	}
	tree := history.Lineage(objs, addr)
	if tree == nil {
		return m.errorDetail("No such object", fmt.Sprintf("%s is not in state version %d.", addr, snap.Serial))
	}
	if *jsonOut {
		b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "serial": snap.Serial, "lineage": tree}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	render.Lineage(m.stdout, tree, m.colors)
	return exitOK
}

// objectHistory is every recorded row of the object at addr, oldest
// first, including those at the addresses it had before moved blocks
// moved it (prevs, the most recent first).
func objectHistory(ctx context.Context, st state.Store, addr addrs.ResourceInstance) (rows []*state.Object, prevs []string, err error) {
	if rows, err = st.ObjectHistory(ctx, addr); err != nil {
		return nil, nil, err
	}
	evs, err := st.EventsOfKind(ctx, history.EventMoved)
	if err != nil {
		return nil, nil, err
	}
	prevs = history.MovedFrom(evs, addr.String())
	for _, p := range prevs {
		pa, err := addrs.ParseResourceInstance(p)
		if err != nil {
			continue
		}
		older, err := st.ObjectHistory(ctx, pa)
		if err != nil {
			return nil, nil, err
		}
		rows = append(older, rows...)
	}
	return rows, prevs, nil
}
