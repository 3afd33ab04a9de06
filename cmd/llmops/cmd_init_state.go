package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/state"
)

// initState is init's part for the state: it sets up the configured
// backend (creating or upgrading a PostgreSQL schema), or, with
// -migrate-state, copies the state into it. It returns the newest
// snapshot (nil for none), whose providers init looks for too.
func (m *meta) initState(ctx context.Context, cfg *configs.Config, migrate bool) (*state.Snapshot, bool) {
	be := cfg.Backend()
	if migrate {
		return m.migrateState(ctx, be)
	}
	if be == nil {
		rec, _ := m.readRecordedBackend()
		if _, err := os.Stat(m.stateFile()); err != nil && rec == nil {
			return nil, true // nothing applied yet: the file is created by the first apply
		}
		st, ok := m.openState(ctx)
		if !ok {
			return nil, false
		}
		defer st.Close()
		snap, err := st.Snapshot(ctx, 0)
		if err != nil {
			m.errorDetail("Cannot read the state", err.Error())
			return nil, false
		}
		return snap, true
	}
	if m.statePath != "" {
		m.refuseStatePath(be)
		return nil, false
	}
	if _, err := os.Stat(m.stateFile()); err == nil {
		// The check of every command, here too: a local state would be
		// left behind unseen.
		if !m.checkBackendUnchanged(be) {
			return nil, false
		}
	}
	st, ok := m.openPostgres(ctx, be, true)
	if !ok {
		return nil, false
	}
	defer st.Close()
	m.reportSchema(st)
	if err := m.writeRecordedBackend(be); err != nil {
		m.errorDetail("Cannot record the backend", err.Error())
		return nil, false
	}
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		m.errorDetail("Cannot read the state", err.Error())
		return nil, false
	}
	return snap, true
}

// reportSchema says what init did to a PostgreSQL schema.
func (m *meta) reportSchema(st *state.PostgresStore) {
	what := "up to date"
	switch from := st.MigratedFrom(); {
	case from == 0:
		what = "created"
	case from < state.SchemaVersionPostgres:
		what = fmt.Sprintf("upgraded from schema version %d", from)
	}
	fmt.Fprintf(m.stdout, "- state: PostgreSQL %s, schema version %d (%s)\n", st.Where(), state.SchemaVersionPostgres, what)
}

// stateEnd is one end of a migration.
type stateEnd struct {
	store  state.Store
	name   string
	path   string // the SQLite file, "" for PostgreSQL
	unlock func()
}

func (e *stateEnd) close() {
	if e.unlock != nil {
		e.unlock()
		e.unlock = nil
	}
	if e.store != nil {
		e.store.Close()
		e.store = nil
	}
}

// migrateState copies the state into the configured backend: from the
// backend recorded by the last init when that differs from the configured
// one (PostgreSQL back to the local file, or from another schema),
// otherwise from the local SQLite state into PostgreSQL. The destination
// must be empty; every version, object row, event and sealed value is
// copied as it is stored, in one transaction.
func (m *meta) migrateState(ctx context.Context, be *configs.Backend) (*state.Snapshot, bool) {
	rec, err := m.readRecordedBackend()
	if err != nil {
		m.errorDetail("Cannot read the backend record", err.Error())
		return nil, false
	}
	src, ok := m.migrationSource(ctx, be, rec)
	if !ok {
		return nil, false
	}
	defer src.close()
	dst := &stateEnd{}
	defer dst.close()
	copied := false
	if be == nil {
		_, statErr := os.Stat(m.stateFile())
		st, err := state.OpenSQLite(ctx, m.stateFile())
		if err != nil {
			m.errorDetail("Cannot open the state", m.explainOpenError(err))
			return nil, false
		}
		dst.store, dst.name, dst.path = st, "the local state "+m.stateFile(), m.stateFile()
		if errors.Is(statErr, os.ErrNotExist) {
			defer func() { // a copy that failed leaves no empty file behind
				if !copied {
					dst.close()
					os.Remove(m.stateFile())
				}
			}()
		}
	} else {
		st, ok := m.openPostgres(ctx, be, true)
		if !ok {
			return nil, false
		}
		m.reportSchema(st)
		dst.store, dst.name = st, "PostgreSQL "+st.Where()
	}
	for _, e := range []*stateEnd{src, dst} {
		if e.unlock, ok = m.lock(ctx, e.store, "init -migrate-state"); !ok {
			return nil, false
		}
	}
	fmt.Fprintf(m.stdout, "Copying the state from %s to %s...\n", src.name, dst.name)
	start := time.Now()
	stats, err := state.Copy(ctx, dst.store, src.store)
	if errors.Is(err, state.ErrNotEmpty) {
		m.errorDetail("The destination state is not empty",
			fmt.Sprintf("%s already has versions or events, and -migrate-state does not merge states: nothing was copied. "+
				"Use an empty destination (a new schema, or move the local file away), or drop -migrate-state to keep using the destination as it is.", dst.name))
		return nil, false
	}
	if err != nil {
		m.errorDetail("The state was not migrated", fmt.Sprintf("%s. Nothing was copied: the copy is one transaction.", err))
		return nil, false
	}
	copied = true
	snap, _ := dst.store.Snapshot(ctx, 0)
	src.close()
	dst.close()
	fmt.Fprintf(m.stdout, "Copied %d versions, %d object records and %d events (lineage %s) in %.1fs; sealed values were copied sealed.\n",
		stats.Versions, stats.Objects, stats.Events, stats.Lineage, time.Since(start).Seconds())
	if src.path != "" {
		aside := src.path + ".migrated-" + time.Now().UTC().Format("20060102T150405")
		if err := os.Rename(src.path, aside); err != nil {
			m.errorDetail("Cannot move the local state aside", fmt.Sprintf("%s. The copy is complete; move %s away yourself so that llmops uses the PostgreSQL state.", err, src.path))
			return nil, false
		}
		fmt.Fprintf(m.stdout, "The local state was moved to %s; keep it until you trust the new one.\n", aside)
	}
	if be != nil {
		err = m.writeRecordedBackend(be)
	} else if err = os.Remove(m.backendFile()); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		m.errorDetail("Cannot record the backend", err.Error())
		return nil, false
	}
	return snap, true
}

// migrationSource opens the state to copy from.
func (m *meta) migrationSource(ctx context.Context, be *configs.Backend, rec *recordedBackend) (*stateEnd, bool) {
	switch {
	case rec != nil && (be == nil || rec.Type != be.Type || rec.Schema != be.Schema):
		from := &configs.Backend{Type: rec.Type, Schema: rec.Schema, ConnStr: rec.ConnStr}
		st, ok := m.openPostgres(ctx, from, false)
		if !ok {
			return nil, false
		}
		return &stateEnd{store: st, name: "PostgreSQL " + st.Where()}, true
	case be != nil:
		path := m.stateFile()
		if _, err := os.Stat(path); err != nil {
			m.errorDetail("Nothing to migrate",
				fmt.Sprintf("There is no local state at %s to copy into PostgreSQL (%s). Run `llmops init` without -migrate-state to set up the backend as it is, or name the SQLite state to copy with -state PATH.", path, err))
			return nil, false
		}
		st, err := state.OpenSQLite(ctx, path)
		if err != nil {
			m.errorDetail("Cannot open the state", m.explainOpenError(err))
			return nil, false
		}
		return &stateEnd{store: st, name: "the local state " + path, path: path}, true
	}
	m.errorDetail("Nothing to migrate",
		fmt.Sprintf("The configuration keeps the state in the local file %s, and this directory was not initialised with another backend. "+
			"-migrate-state copies the local state into the backend named in the llmops block, or back from the PostgreSQL backend the last `llmops init` set up here.", m.stateFile()))
	return nil, false
}
