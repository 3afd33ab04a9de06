package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
	"github.com/llmops/llmops/state"
)

const gcUsage = `
Usage: llmops gc [options]

Removes the artifacts (models, dataset versions, run outputs) that no kept
state version references, and reports the space freed. By default every
state version is kept; --keep N keeps only the newest N versions'
artifacts (older versions can then no longer be rolled back to). The
artifact store is shared by the workspaces: what any workspace's kept
versions reference is kept (with -state, only that state is read).

With a remote artifact store (artifacts.url), the remote objects that no
kept version references are removed too (objects younger than -min-age
are spared: another machine may be pushing them). An OCI registry frees
the blobs of deleted manifests in its own garbage collection.
`

func runGC(m *meta, args []string) int {
	fs := m.newFlags("gc", gcUsage)
	keep := fs.Int("keep", 0, "Keep the artifacts of the newest N state versions only (0: all versions).")
	dry := fs.Bool("dry-run", false, "List what would be removed, remove nothing.")
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	minAge := fs.Duration("min-age", remote.DefaultMinAge, "Spare remote objects younger than this (pushes in progress elsewhere).")
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	cfg, ok := m.loadConfig()
	if !ok {
		return exitError
	}
	vars, ok := m.collectVars(cfg)
	if !ok {
		return exitError
	}
	dir, diags := engine.ArtifactDir(cfg, vars)
	rs, rdiags := engine.ArtifactStore(cfg, vars)
	if diags = append(diags, rdiags...); diags.HasErrors() {
		m.showDiags(diags)
		return exitError
	}
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	unlock, ok := m.lock(ctx, st, "gc")
	if !ok {
		return exitError
	}
	defer unlock()
	if _, err := os.Stat(dir); err != nil && !remote.Config(rs).Enabled() {
		fmt.Fprintf(m.stdout, "No artifact store at %s: nothing to collect.\n", dir)
		return exitOK
	}
	store, err := remote.OpenStore(ctx, dir, remote.Config(rs), remote.Options{})
	if err != nil {
		return m.errorDetail("Cannot open the artifact store", err.Error())
	}
	refs := map[string]bool{}
	kept, err := keptRefs(ctx, st, *keep, refs)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	if m.statePath == "" {
		if ok := m.otherWorkspacesRefs(ctx, *keep, refs); !ok {
			return exitError
		}
	}
	all, err := store.List()
	if err != nil {
		return m.errorDetail("Cannot list the artifact store", err.Error())
	}
	var freed int64
	var removed []map[string]any
	for _, a := range all {
		if refs[a.ID.String()] {
			continue
		}
		if !*dry {
			if err := store.Remove(a.ID); err != nil {
				return m.errorDetail("Cannot remove an artifact", fmt.Sprintf("%s: %s", a.ID, err))
			}
		}
		freed += a.Size
		removed = append(removed, map[string]any{"id": a.ID.String(), "bytes": a.Size, "files": a.Files})
		if !*jsonOut {
			verb := "removed"
			if *dry {
				verb = "would remove"
			}
			fmt.Fprintf(m.stdout, "%s %s (%s)\n", verb, a.ID, humanBytes(a.Size))
		}
	}
	remoteRemoved, rfreed, code := m.gcRemote(ctx, store, refs, *dry, *minAge, *jsonOut)
	if code != exitOK {
		return code
	}
	if *jsonOut {
		doc := map[string]any{"format_version": render.JSONFormatVersion, "dry_run": *dry, "removed": removed,
			"bytes_freed": freed, "kept_versions": len(kept), "artifacts_kept": len(all) - len(removed)}
		if r := store.Remote(); r != nil {
			doc["remote"] = map[string]any{"url": r.URL(), "removed": remoteRemoved, "bytes_freed": rfreed}
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	verb := "Freed"
	if *dry {
		verb = "Would free"
	}
	fmt.Fprintf(m.stdout, "%s %s in %d artifact(s); kept %d referenced by %d state version(s).\n", verb, humanBytes(freed), len(removed), len(all)-len(removed), len(kept))
	if r := store.Remote(); r != nil {
		fmt.Fprintf(m.stdout, "%s %s in %d object(s) of %s.\n", verb, humanBytes(rfreed), len(remoteRemoved), r.URL())
	}
	return exitOK
}

// gcRemote removes the remote store's objects that refs do not reference.
func (m *meta) gcRemote(ctx context.Context, store *artifacts.Store, refs map[string]bool, dry bool, minAge time.Duration, jsonOut bool) ([]map[string]any, int64, int) {
	r, ok := store.Remote().(*remote.Cache)
	if !ok {
		return nil, 0, exitOK
	}
	keep := map[artifacts.ID]bool{}
	for id := range refs {
		if pid, err := artifacts.ParseID(id); err == nil {
			keep[pid] = true
		}
	}
	var removed []map[string]any
	var freed int64
	_, err := remote.Collect(ctx, r.Backend(), keep, remote.CollectOptions{DryRun: dry, MinAge: minAge, Removed: func(o backend.Object) {
		freed += o.Size
		removed = append(removed, map[string]any{"id": string(o.ID), "bytes": o.Size})
		if !jsonOut {
			verb := "removed"
			if dry {
				verb = "would remove"
			}
			fmt.Fprintf(m.stdout, "%s %s from %s (%s)\n", verb, o.ID, r.URL(), humanBytes(o.Size))
		}
	}})
	if err != nil {
		return nil, 0, m.errorDetail("Cannot collect the remote artifact store", err.Error())
	}
	if removed == nil {
		removed = []map[string]any{}
	}
	return removed, freed, exitOK
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for x := n / unit; x >= unit; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// keptRefs adds to refs the artifacts the kept versions of st reference
// (the newest keep, or all), and returns those versions.
func keptRefs(ctx context.Context, st state.Store, keep int, refs map[string]bool) ([]state.VersionInfo, error) {
	vs, err := st.Versions(ctx)
	if err != nil {
		return nil, err
	}
	kept := vs
	if keep > 0 && len(vs) > keep {
		kept = vs[len(vs)-keep:]
	}
	for _, v := range kept {
		snap, err := st.Snapshot(ctx, v.Serial)
		if err != nil {
			return nil, err
		}
		history.ArtifactRefs(snap, refs)
	}
	// Whatever the newest version holds is always kept.
	if snap, err := st.Snapshot(ctx, 0); err == nil {
		history.ArtifactRefs(snap, refs)
	}
	return kept, nil
}

// otherWorkspacesRefs adds the artifacts the other workspaces reference:
// the store is shared, and one workspace's gc must not remove another's.
func (m *meta) otherWorkspacesRefs(ctx context.Context, keep int, refs map[string]bool) bool {
	names, ok := m.workspaces(ctx)
	if !ok {
		return false
	}
	be, ok := m.backend()
	if !ok {
		return false
	}
	for _, name := range names {
		if name == m.workspace() {
			continue
		}
		var st state.Store
		var err error
		if be != nil {
			st, err = state.OpenPostgres(ctx, state.PostgresOptions{ConnString: be.ConnStr, Schema: be.Schema, Workspace: name})
		} else {
			st, err = state.OpenSQLite(ctx, engine.StateFile(m.workDir(), name))
		}
		if err == nil {
			_, err = keptRefs(ctx, st, keep, refs)
			st.Close()
		}
		if err != nil {
			m.errorDetail("Cannot read the state of workspace "+name, err.Error()+". gc removes nothing while it cannot tell what every workspace references.")
			return false
		}
	}
	return true
}
