package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/state"
)

// The state backend: the SQLite file .llmops/state.db (or -state PATH)
// unless the configuration's llmops block names a backend. llmops init
// records the backend it set up in .llmops/backend.json, so that a later
// change of backend (a block added, removed or pointed elsewhere) is
// noticed instead of silently starting from another, empty state.

// recordedBackend is .llmops/backend.json: the PostgreSQL backend this
// directory was initialised with. The connection string is kept without
// its password (the environment gives it).
type recordedBackend struct {
	Type    string `json:"type"`
	Schema  string `json:"schema"`
	ConnStr string `json:"conn_str,omitempty"`
}

func (m *meta) backendFile() string { return filepath.Join(m.workDir(), ".llmops", "backend.json") }

func (r *recordedBackend) String() string {
	return fmt.Sprintf("the %s backend (schema %q)", r.Type, r.Schema)
}

// readRecordedBackend returns the recorded backend, or nil.
func (m *meta) readRecordedBackend() (*recordedBackend, error) {
	b, err := os.ReadFile(m.backendFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r recordedBackend
	if err := json.Unmarshal(b, &r); err != nil || r.Type == "" {
		return nil, fmt.Errorf("%s is not a backend record (%v); delete it and run `llmops init`", m.backendFile(), err)
	}
	return &r, nil
}

func (m *meta) writeRecordedBackend(be *configs.Backend) error {
	b, _ := json.MarshalIndent(recordedBackend{Type: be.Type, Schema: be.Schema, ConnStr: withoutPassword(be.ConnStr)}, "", "  ")
	if err := os.MkdirAll(filepath.Dir(m.backendFile()), 0o755); err != nil {
		return err
	}
	return os.WriteFile(m.backendFile(), append(b, '\n'), 0o644)
}

// withoutPassword removes the password from a libpq connection string or URL.
func withoutPassword(s string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		if q.Has("password") {
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return strings.Join(strings.Fields(pwKeyword.ReplaceAllString(s, " ")), " ")
}

var pwKeyword = regexp.MustCompile(`(^|\s)password\s*=\s*('(\\.|[^'\\])*'|\S*)`)

// backend returns the configured state backend (nil: SQLite). It reads
// only the llmops block when the configuration is not loaded already.
func (m *meta) backend() (*configs.Backend, bool) {
	if m.cfg != nil {
		return m.cfg.Backend(), true
	}
	if !m.settingsRead {
		s, srcs, diags := configs.LoadSettings(m.workDir())
		if m.sources == nil {
			m.sources = srcs
		}
		if diags.HasErrors() {
			m.showDiags(diags)
			return nil, false
		}
		m.settings, m.settingsRead = s, true
	}
	if m.settings == nil {
		return nil, true
	}
	return m.settings.Backend, true
}

// providerUnset names the variables of llmops's environment that provider
// processes, and so the jobs they start, do not inherit: with a PostgreSQL
// backend, DATABASE_URL and PGPASSWORD hold the state's credentials. A job
// that needs a database of its own gets it through its env.
func (m *meta) providerUnset() []string {
	if be, ok := m.backend(); ok && be != nil {
		return postgresCredentials
	}
	return nil
}

// postgresCredentials are the variables that hold a PostgreSQL state's
// credentials.
var postgresCredentials = []string{"DATABASE_URL", "PGPASSWORD"}

// openState opens the state: the configured backend's, or the SQLite
// database (created if needed).
func (m *meta) openState(ctx context.Context) (state.Store, bool) {
	if !m.checkWorkspace() {
		return nil, false
	}
	be, ok := m.backend()
	if !ok {
		return nil, false
	}
	if !m.checkBackendUnchanged(be) {
		return nil, false
	}
	if be == nil {
		if m.statePath == "" {
			if err := m.privateDir(); err != nil {
				m.errorDetail("Cannot create .llmops", err.Error())
				return nil, false
			}
		}
		if ws := m.workspace(); m.statePath == "" && ws != engine.DefaultWorkspace {
			if _, err := os.Stat(filepath.Dir(m.stateFile())); err != nil {
				m.errorDetail("No such workspace", fmt.Sprintf("Workspace %q does not exist here. Create it with `llmops workspace new %s`, or select another (`llmops workspace list`).", ws, ws))
				return nil, false
			}
		}
		if st := m.early.adoptStore(sqliteStateKey(m.stateFile())); st != nil {
			return st, true
		}
		st, err := state.OpenSQLite(ctx, m.stateFile())
		if err != nil {
			m.errorDetail("Cannot open the state", m.explainOpenError(err))
			return nil, false
		}
		return st, true
	}
	if m.statePath != "" {
		m.refuseStatePath(be)
		return nil, false
	}
	if st := m.early.adoptStore(postgresStateKey(be.ConnStr, be.Schema, m.workspace())); st != nil {
		return st, true
	}
	return m.openPostgres(ctx, be, false)
}

// sqliteStateKey and postgresStateKey name the state openState opens, for
// early (early.go) to say whether the state it opened is that one.
func sqliteStateKey(path string) string { return "sqlite\x00" + path }

func postgresStateKey(connStr, schema, workspace string) string {
	return "postgres\x00" + connStr + "\x00" + schema + "\x00" + workspace
}

// openPostgres opens the PostgreSQL state of be; create sets it up (init).
func (m *meta) openPostgres(ctx context.Context, be *configs.Backend, create bool) (*state.PostgresStore, bool) {
	st, err := state.OpenPostgres(ctx, state.PostgresOptions{ConnString: be.ConnStr, Schema: be.Schema, Workspace: m.workspace(), Create: create})
	if err != nil {
		m.errorDetail("Cannot open the state", explainPostgresError(err, be))
		return nil, false
	}
	return st, true
}

// explainPostgresError adds what to do to an error opening a PostgreSQL state.
func explainPostgresError(err error, be *configs.Backend) string {
	var ne *state.NeedsInitError
	var se *state.NewerSchemaError
	switch {
	case errors.As(err, &ne), errors.As(err, &se):
		return err.Error() + "."
	}
	from := "the environment (DATABASE_URL, or PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT)"
	if be.ConnStr != "" {
		from = "conn_str in the backend block, completed by the environment (PGPASSWORD, PGSSLROOTCERT, ...)"
	}
	return fmt.Sprintf("%s.\n\nThe connection comes from %s. Check that the server is up and reachable from this machine, "+
		"and that the role may use the database (docs/backends.md lists the permissions it needs); nothing was changed.", err, from)
}

// refuseStatePath explains why -state cannot be used with a backend.
func (m *meta) refuseStatePath(be *configs.Backend) {
	m.showDiags(hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "-state cannot be used with a state backend",
		Detail: fmt.Sprintf("This configuration keeps its state in PostgreSQL (schema %q), shared by every machine that applies it; "+
			"-state %s names a local SQLite file, which would be another state, out of step with the team's. "+
			"Remove -state; to work on a local copy, remove the backend block and run `llmops init -migrate-state` (see docs/backends.md).",
			be.Schema, m.statePath),
		Subject: be.DeclRange.Ptr(),
	}})
}

// checkBackendUnchanged refuses to run when the backend differs from the
// one llmops init set up here, or when a local SQLite state would be left
// behind unseen: either way the command would use another state than the
// one that holds this directory's objects.
func (m *meta) checkBackendUnchanged(be *configs.Backend) bool {
	rec, err := m.readRecordedBackend()
	if err != nil {
		m.errorDetail("Cannot read the backend record", err.Error())
		return false
	}
	switch {
	case be == nil && rec != nil:
		m.errorDetail("The state backend changed",
			fmt.Sprintf("This directory was initialised with %s, and the configuration no longer has a backend block. "+
				"Run `llmops init -migrate-state` to copy the state from PostgreSQL into the local file %s, "+
				"or put the backend block back. (Delete %s to start from the local file as it is.)",
				rec, m.stateFile(), m.backendFile()))
		return false
	case be != nil && rec != nil && (rec.Type != be.Type || rec.Schema != be.Schema):
		m.showDiags(hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "The state backend changed",
			Detail: fmt.Sprintf("This directory was initialised with %s, and the configuration now names schema %q. "+
				"Run `llmops init -migrate-state` to copy the state over, or `llmops init` to use the new schema as it is.", rec, be.Schema),
			Subject: be.DeclRange.Ptr(),
		}})
		return false
	case be != nil && rec == nil && m.statePath == "":
		if _, err := os.Stat(m.stateFile()); err == nil && !localStateEmpty(m.stateFile()) {
			m.showDiags(hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "A local state was not migrated",
				Detail: fmt.Sprintf("The configuration keeps the state in PostgreSQL (schema %q), and this directory still has the local state %s. "+
					"Run `llmops init -migrate-state` to copy it into PostgreSQL (every version, event and sealed value), "+
					"or move the file away to use the PostgreSQL state as it is.", be.Schema, m.stateFile()),
				Subject: be.DeclRange.Ptr(),
			}})
			return false
		}
	}
	return true
}

// localStateEmpty reports whether the SQLite state at path records nothing
// (no version, no event): one that a command such as show created, with
// nothing to migrate.
func localStateEmpty(path string) bool {
	ctx := context.Background()
	st, err := state.OpenSQLite(ctx, path)
	if err != nil {
		return false
	}
	defer st.Close()
	serial, err := st.LatestSerial(ctx)
	if err != nil || serial != 0 {
		return false
	}
	evs, err := st.Events(ctx, 1)
	return err == nil && len(evs) == 0
}
