package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/state"
)

const workspaceUsage = `
Usage: llmops workspace list|new NAME|select NAME|show|delete [-force] NAME

Workspaces are separate states of one configuration (dev, staging,
prod): each has its own versions, history, events and lock; the artifact
store is shared (artifacts are stored once, by digest). With SQLite the
default workspace's state stays at .llmops/state.db and workspace NAME's is
.llmops/workspaces/NAME/state.db; with a PostgreSQL backend they are rows
of the schema (its workspace column).

  list          List the workspaces; * marks the selected one.
  new NAME      Create a workspace and select it.
  select NAME   Select a workspace (recorded in .llmops/environment).
  show          Print the selected workspace.
  delete NAME   Delete a workspace and its state. A workspace that still
                records objects is refused unless -force (the objects are
                then forgotten, not destroyed: run destroy in it first).

LLMOPS_WORKSPACE selects the workspace for one command, over select.
Expressions read the selected workspace as llmops.workspace.
`

func runWorkspace(m *meta, args []string) int {
	fs := m.newFlags("workspace", workspaceUsage)
	force := fs.Bool("force", false, "delete: delete a workspace even if it still records objects.")
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return m.errorf("workspace takes a subcommand: list, new, select, show or delete")
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	// Flags may follow the subcommand: workspace delete -force NAME.
	if len(rest) > 0 && (rest[0] == "-force" || rest[0] == "--force") {
		*force, rest = true, rest[1:]
	}
	needName := sub == "new" || sub == "select" || sub == "delete"
	if needName != (len(rest) == 1) || len(rest) > 1 {
		if needName {
			return m.errorf("workspace %s takes one workspace name", sub)
		}
		return m.errorf("workspace %s takes no arguments", sub)
	}
	if needName {
		if msg := validWorkspaceName(rest[0]); msg != "" {
			return m.errorDetail("Invalid workspace name", msg+".")
		}
	}
	ctx := context.Background()
	switch sub {
	case "show":
		fmt.Fprintln(m.stdout, m.workspace())
		return exitOK
	case "list":
		names, ok := m.workspaces(ctx)
		if !ok {
			return exitError
		}
		cur := m.workspace()
		for _, n := range names {
			mark := "  "
			if n == cur {
				mark = "* "
			}
			fmt.Fprintln(m.stdout, mark+n)
		}
		return exitOK
	case "new":
		return m.workspaceNew(ctx, rest[0])
	case "select":
		return m.workspaceSelect(ctx, rest[0])
	case "delete":
		return m.workspaceDelete(ctx, rest[0], *force)
	}
	return m.errorf("unknown workspace subcommand %q: use list, new, select, show or delete", sub)
}

// workspaces lists the workspaces: the SQLite directories under
// .llmops/workspaces (and default), or the PostgreSQL schema's.
func (m *meta) workspaces(ctx context.Context) ([]string, bool) {
	be, ok := m.backend()
	if !ok {
		return nil, false
	}
	if be != nil {
		// Through the default workspace, which always exists (the
		// selected one may have been deleted from another machine).
		st, err := state.OpenPostgres(ctx, state.PostgresOptions{ConnString: be.ConnStr, Schema: be.Schema, Workspace: engine.DefaultWorkspace})
		if err != nil {
			m.errorDetail("Cannot open the state", explainPostgresError(err, be))
			return nil, false
		}
		defer st.Close()
		names, err := st.Workspaces(ctx)
		if err != nil {
			m.errorDetail("Cannot list the workspaces", err.Error())
			return nil, false
		}
		return names, true
	}
	names := []string{engine.DefaultWorkspace}
	entries, _ := os.ReadDir(filepath.Join(m.workDir(), ".llmops", "workspaces"))
	for _, e := range entries {
		if e.IsDir() && validWorkspaceName(e.Name()) == "" && e.Name() != engine.DefaultWorkspace {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, true
}

func (m *meta) hasWorkspace(ctx context.Context, name string) (bool, bool) {
	names, ok := m.workspaces(ctx)
	if !ok {
		return false, false
	}
	for _, n := range names {
		if n == name {
			return true, true
		}
	}
	return false, true
}

func (m *meta) workspaceNew(ctx context.Context, name string) int {
	exists, ok := m.hasWorkspace(ctx, name)
	if !ok {
		return exitError
	}
	if exists {
		return m.errorDetail("Workspace exists", fmt.Sprintf("Workspace %q already exists; select it with `llmops workspace select %s`.", name, name))
	}
	be, ok := m.backend()
	if !ok {
		return exitError
	}
	if be != nil {
		st, err := state.OpenPostgres(ctx, state.PostgresOptions{ConnString: be.ConnStr, Schema: be.Schema, Workspace: name, Create: true})
		if err != nil {
			return m.errorDetail("Cannot create the workspace", explainPostgresError(err, be))
		}
		st.Close()
	} else {
		st, err := state.OpenSQLite(ctx, engine.StateFile(m.workDir(), name))
		if err != nil {
			return m.errorDetail("Cannot create the workspace", m.explainOpenError(err))
		}
		st.Close()
	}
	if code := m.writeWorkspace(name); code != exitOK {
		return code
	}
	fmt.Fprintf(m.stdout, "Created and selected workspace %q. Its state is empty: plan and apply fill it.\n", name)
	return exitOK
}

func (m *meta) workspaceSelect(ctx context.Context, name string) int {
	exists, ok := m.hasWorkspace(ctx, name)
	if !ok {
		return exitError
	}
	if !exists {
		return m.errorDetail("No such workspace", fmt.Sprintf("Workspace %q does not exist; create it with `llmops workspace new %s`.", name, name))
	}
	if code := m.writeWorkspace(name); code != exitOK {
		return code
	}
	fmt.Fprintf(m.stdout, "Switched to workspace %q.\n", name)
	if env := os.Getenv(workspaceEnv); env != "" && env != name {
		fmt.Fprintf(m.stderr, "Warning: %s=%s is set and selects %q for commands run with it.\n", workspaceEnv, env, env)
	}
	return exitOK
}

func (m *meta) writeWorkspace(name string) int {
	if err := os.MkdirAll(filepath.Dir(m.workspaceFile()), 0o755); err != nil {
		return m.errorDetail("Cannot select the workspace", err.Error())
	}
	if err := os.WriteFile(m.workspaceFile(), []byte(name+"\n"), 0o644); err != nil {
		return m.errorDetail("Cannot select the workspace", err.Error())
	}
	return exitOK
}

func (m *meta) workspaceDelete(ctx context.Context, name string, force bool) int {
	if name == engine.DefaultWorkspace {
		return m.errorDetail("Cannot delete the default workspace", "The default workspace always exists; destroy its objects with `llmops destroy` instead.")
	}
	if name == m.workspace() {
		return m.errorDetail("Cannot delete the selected workspace", fmt.Sprintf("Workspace %q is selected; select another first (`llmops workspace select default`).", name))
	}
	exists, ok := m.hasWorkspace(ctx, name)
	if !ok {
		return exitError
	}
	if !exists {
		return m.errorDetail("No such workspace", fmt.Sprintf("Workspace %q does not exist (`llmops workspace list`).", name))
	}
	be, ok := m.backend()
	if !ok {
		return exitError
	}
	var st state.Store
	var err error
	if be != nil {
		st, err = state.OpenPostgres(ctx, state.PostgresOptions{ConnString: be.ConnStr, Schema: be.Schema, Workspace: name})
	} else {
		st, err = state.OpenSQLite(ctx, engine.StateFile(m.workDir(), name))
	}
	if err != nil {
		return m.errorDetail("Cannot open the workspace's state", err.Error())
	}
	snap, err := st.Snapshot(ctx, 0)
	st.Close()
	if err != nil {
		return m.errorDetail("Cannot read the workspace's state", err.Error())
	}
	if n := len(snap.Objects) + len(snap.Deposed); n > 0 && !force {
		return m.errorDetail("Workspace is not empty", fmt.Sprintf("Workspace %q still records %d objects. Destroy them first (`LLMOPS_WORKSPACE=%s llmops destroy`), or delete it anyway with -force: the objects are then forgotten, not destroyed.", name, n, name))
	}
	if be != nil {
		pg, err := state.OpenPostgres(ctx, state.PostgresOptions{ConnString: be.ConnStr, Schema: be.Schema, Workspace: engine.DefaultWorkspace})
		if err != nil {
			return m.errorDetail("Cannot open the state", explainPostgresError(err, be))
		}
		defer pg.Close()
		if err := pg.DeleteWorkspace(ctx, name); err != nil {
			return m.errorDetail("Cannot delete the workspace", err.Error())
		}
	} else if err := os.RemoveAll(filepath.Dir(engine.StateFile(m.workDir(), name))); err != nil {
		return m.errorDetail("Cannot delete the workspace", err.Error())
	}
	fmt.Fprintf(m.stdout, "Deleted workspace %q.\n", name)
	return exitOK
}
