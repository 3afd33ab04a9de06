package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

const artifactsUsage = `
Usage: llmops artifacts <ls|pull|push|verify> [options] [DIGEST...]

The artifact store of the configuration (the artifacts block): the local
store, and the remote store it caches when artifacts.url is set.

  ls [-remote]        the artifacts cached here (and whether the remote
                      store has them); -remote: the remote store's objects
  pull DIGEST...      fetch artifacts by digest into the local cache
                      (nothing to do for one already cached)
  push [DIGEST...]    push artifacts (default: every cached one) to the
                      remote store; one it has is not uploaded again
  verify [DIGEST...]  re-hash cached artifacts (default: all); -fix fetches
                      a corrupt one again from the remote store
`

func runArtifacts(m *meta, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(m.stdout, strings.TrimSpace(artifactsUsage)+"\n")
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	sub, args := args[0], args[1:]
	fs := m.newFlags("artifacts "+sub, artifactsUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output (transfers as JSON lines).")
	remoteOnly := fs.Bool("remote", false, "ls: list the remote store's objects.")
	fix := fs.Bool("fix", false, "verify: fetch corrupt cached artifacts again from the remote store.")
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	ctx, stop := m.interruptible(nil)
	defer stop()
	st, ok := m.openArtifacts(ctx, m.stdout, *jsonOut)
	if !ok {
		return exitError
	}
	ids, ok := m.parseDigests(fs.Args())
	if !ok {
		return exitError
	}
	switch sub {
	case "ls":
		if *remoteOnly {
			return m.artifactsLsRemote(ctx, st, *jsonOut)
		}
		return m.artifactsLs(ctx, st, *jsonOut)
	case "pull":
		if len(ids) == 0 {
			return m.errorDetail("Nothing to pull", "Name the artifacts by digest: llmops artifacts pull sha256:<hex> ...")
		}
		return m.artifactsPull(ctx, st, ids, *jsonOut)
	case "push":
		return m.artifactsPush(ctx, st, ids, *jsonOut)
	case "verify":
		return m.artifactsVerify(ctx, st, ids, *fix, *jsonOut)
	}
	return m.errorDetail("Unknown artifacts command "+sub, "Use ls, pull, push or verify (llmops artifacts -help).")
}

func (m *meta) parseDigests(args []string) ([]artifacts.ID, bool) {
	var out []artifacts.ID
	for _, a := range args {
		id, err := artifacts.ParseID(a)
		if err != nil {
			m.errorDetail("Invalid digest", err.Error()+". Digests look like sha256:<64 hex digits> (llmops artifacts ls lists them).")
			return nil, false
		}
		out = append(out, id)
	}
	return out, true
}

func (m *meta) needRemote(st *artifactStores, what string) bool {
	if st.store.Remote() != nil {
		return true
	}
	m.errorDetail("No remote artifact store", fmt.Sprintf("%s needs a remote store: add url = \"s3://BUCKET/PREFIX\" (or oci://REGISTRY/REPOSITORY) to the artifacts block.", what))
	return false
}

// remoteErr reports a failed remote operation (the error names the URL,
// the operation and what to do).
func (m *meta) remoteErr(summary string, err error) int {
	if errors.Is(err, context.Canceled) {
		return m.errorDetail(summary, "Interrupted.")
	}
	return m.errorDetail(summary, err.Error())
}

func (m *meta) artifactsLs(ctx context.Context, st *artifactStores, jsonOut bool) int {
	all, err := st.store.List()
	if err != nil {
		return m.errorDetail("Cannot list the artifact store", err.Error())
	}
	r := st.store.Remote()
	var rows []map[string]any
	for _, a := range all {
		row := map[string]any{"id": string(a.ID), "kind": kindOf(a.Dir), "bytes": a.Size, "files": a.Files}
		if r != nil {
			ok, err := r.Has(ctx, a.ID)
			if err != nil {
				return m.remoteErr("Cannot reach the remote artifact store", err)
			}
			row["pushed"] = ok
		}
		rows = append(rows, row)
	}
	if jsonOut {
		return m.printJSON(map[string]any{"format_version": render.JSONFormatVersion, "path": st.dir, "url": st.remote.URL, "artifacts": orEmpty(rows)})
	}
	for _, row := range rows {
		line := fmt.Sprintf("%s  %-4s  %9s  %d file(s)", row["id"], row["kind"], humanBytes(row["bytes"].(int64)), row["files"])
		if p, ok := row["pushed"]; ok {
			line += map[bool]string{true: "  pushed", false: "  local only"}[p.(bool)]
		}
		fmt.Fprintln(m.stdout, line)
	}
	where := st.dir
	if r != nil {
		where += ", caching " + r.URL()
	}
	fmt.Fprintf(m.stdout, "%d artifact(s) in %s.\n", len(rows), where)
	return exitOK
}

func (m *meta) artifactsLsRemote(ctx context.Context, st *artifactStores, jsonOut bool) int {
	if !m.needRemote(st, "ls -remote") {
		return exitError
	}
	b := st.store.Remote().(*remote.Cache).Backend()
	var rows []map[string]any
	err := b.List(ctx, func(o backend.Object) error {
		row := map[string]any{"id": string(o.ID), "bytes": o.Size}
		if o.Kind != "" {
			row["kind"] = string(o.Kind)
		}
		if !o.Modified.IsZero() {
			row["modified"] = o.Modified.UTC().Format("2006-01-02T15:04:05Z")
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return m.remoteErr("Cannot list the remote artifact store", err)
	}
	if jsonOut {
		return m.printJSON(map[string]any{"format_version": render.JSONFormatVersion, "url": b.URL(), "objects": orEmpty(rows)})
	}
	for _, row := range rows {
		fmt.Fprintf(m.stdout, "%s  %9s  %s\n", row["id"], humanBytes(row["bytes"].(int64)), strings.TrimSpace(fmt.Sprint(orBlank(row["kind"]), " ", orBlank(row["modified"]))))
	}
	fmt.Fprintf(m.stdout, "%d object(s) in %s.\n", len(rows), b.URL())
	return exitOK
}

func (m *meta) artifactsPull(ctx context.Context, st *artifactStores, ids []artifacts.ID, jsonOut bool) int {
	var done []map[string]any
	for _, id := range ids {
		cached := st.store.Has(id)
		if !cached && !m.needRemote(st, "pull "+string(id)) {
			return exitError
		}
		p, err := st.store.Ensure(ctx, id)
		if err != nil {
			return m.remoteErr("Cannot pull "+string(id), err)
		}
		done = append(done, map[string]any{"id": string(id), "path": p, "cached": cached})
		if !jsonOut {
			verb := "Fetched"
			if cached {
				verb = "Already cached"
			}
			fmt.Fprintf(m.stdout, "%s %s: %s\n", verb, id, p)
		}
	}
	if jsonOut {
		return m.printJSON(map[string]any{"type": "pull_complete", "artifacts": done})
	}
	return exitOK
}

func (m *meta) artifactsPush(ctx context.Context, st *artifactStores, ids []artifacts.ID, jsonOut bool) int {
	if !m.needRemote(st, "push") {
		return exitError
	}
	if len(ids) == 0 {
		all, err := st.store.List()
		if err != nil {
			return m.errorDetail("Cannot list the artifact store", err.Error())
		}
		for _, a := range all {
			ids = append(ids, a.ID)
		}
	}
	r := st.store.Remote()
	pushed, present := 0, 0
	for _, id := range ids {
		if !st.store.Has(id) {
			return m.errorDetail("Cannot push "+string(id), fmt.Sprintf("It is not in the local artifact store %s (llmops artifacts ls lists what is).", st.dir))
		}
		had, err := r.Has(ctx, id)
		if err != nil {
			return m.remoteErr("Cannot push "+string(id), err)
		}
		if err := st.store.Push(ctx, id); err != nil {
			return m.remoteErr("Cannot push "+string(id), err)
		}
		if had {
			present++
		} else {
			pushed++
		}
	}
	if jsonOut {
		return m.printJSON(map[string]any{"type": "push_complete", "url": r.URL(), "pushed": pushed, "already_present": present})
	}
	fmt.Fprintf(m.stdout, "Pushed %d artifact(s) to %s; %d were there already.\n", pushed, r.URL(), present)
	return exitOK
}

func (m *meta) artifactsVerify(ctx context.Context, st *artifactStores, ids []artifacts.ID, fix, jsonOut bool) int {
	if len(ids) == 0 {
		all, err := st.store.List()
		if err != nil {
			return m.errorDetail("Cannot list the artifact store", err.Error())
		}
		for _, a := range all {
			ids = append(ids, a.ID)
		}
	}
	var bad, fixed []string
	for _, id := range ids {
		if !st.store.Has(id) {
			return m.errorDetail("Cannot verify "+string(id), fmt.Sprintf("It is not in the local artifact store %s.", st.dir))
		}
		err := st.store.Verify(id)
		if err == nil {
			continue
		}
		if !fix {
			bad = append(bad, string(id))
			if !jsonOut {
				fmt.Fprintf(m.stdout, "corrupt: %v\n", err)
			}
			continue
		}
		if !m.needRemote(st, "verify -fix") {
			return exitError
		}
		if err := st.store.Remove(id); err != nil {
			return m.errorDetail("Cannot remove the corrupt "+string(id), err.Error())
		}
		if _, err := st.store.Ensure(ctx, id); err != nil {
			return m.remoteErr("Cannot fetch "+string(id)+" again", err)
		}
		fixed = append(fixed, string(id))
		if !jsonOut {
			fmt.Fprintf(m.stdout, "fixed: %s was corrupt and was fetched again\n", id)
		}
	}
	if jsonOut {
		m.printJSON(map[string]any{"format_version": render.JSONFormatVersion, "verified": len(ids), "corrupt": orEmptyS(bad), "fixed": orEmptyS(fixed)})
	} else {
		fmt.Fprintf(m.stdout, "Verified %d artifact(s): %d corrupt, %d fixed.\n", len(ids), len(bad), len(fixed))
	}
	if len(bad) > 0 {
		if !jsonOut {
			fmt.Fprintln(m.stderr, "Fetch corrupt artifacts again with llmops artifacts verify -fix (needs the remote store), or remove them with llmops gc.")
		}
		return exitError
	}
	return exitOK
}

func (m *meta) printJSON(v any) int {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintln(m.stdout, string(b))
	return exitOK
}

func kindOf(dir bool) string {
	if dir {
		return "dir"
	}
	return "file"
}

func orEmpty(rows []map[string]any) []map[string]any {
	if rows == nil {
		return []map[string]any{}
	}
	return rows
}

func orEmptyS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orBlank(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
