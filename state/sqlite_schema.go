package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// migration is one step of the schema: migrations[i] brings a database
// from schema version i to i+1. Each runs in its own transaction together
// with the update of meta.schema_version, so a crash leaves the database
// at one version or the next. Steps are append-only: never edit a step
// that has been released, add a new one.
type migration struct {
	name  string
	stmts []string
}

var migrations = []migration{
	{name: "initial schema", stmts: []string{
		`CREATE TABLE meta (
			key   TEXT PRIMARY KEY,
			value TEXT NOT NULL
		) WITHOUT ROWID`,
		`CREATE TABLE versions (
			serial        INTEGER PRIMARY KEY,
			created_at    TEXT NOT NULL,
			who           TEXT NOT NULL DEFAULT '',
			command       TEXT NOT NULL DEFAULT '',
			config_digest TEXT NOT NULL DEFAULT '',
			status        TEXT NOT NULL,
			counts_json   TEXT NOT NULL DEFAULT '{}',
			outputs_json  TEXT
		)`,
		// An object row is valid for serials [serial_created, serial_removed).
		// The address is stored whole (addr) and in parts, so that reading
		// it back needs no parsing. key_kind: 0 none, 1 int, 2 string.
		// The writer keeps at most one current (serial_removed NULL) row
		// per address.
		`CREATE TABLE objects (
			id              INTEGER PRIMARY KEY,
			addr            TEXT NOT NULL,
			res_type        TEXT NOT NULL,
			res_name        TEXT NOT NULL,
			key_kind        INTEGER NOT NULL,
			key_int         INTEGER,
			key_str         TEXT,
			serial_created  INTEGER NOT NULL REFERENCES versions(serial),
			serial_removed  INTEGER REFERENCES versions(serial),
			provider        TEXT NOT NULL,
			status          TEXT NOT NULL,
			schema_version  INTEGER NOT NULL DEFAULT 0,
			value_json      BLOB,
			type_json       BLOB,
			private         BLOB,
			sensitive_paths BLOB,
			pending_handle  TEXT NOT NULL DEFAULT '',
			pending_status  TEXT NOT NULL DEFAULT '',
			deps            TEXT, -- one "type.name" per line
			cbd             INTEGER NOT NULL DEFAULT 0,
			version         INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX objects_addr ON objects(addr, serial_removed)`,
		`CREATE INDEX objects_removed ON objects(serial_removed)`,
		`CREATE TABLE lock (
			one        INTEGER PRIMARY KEY CHECK (one = 1),
			id         TEXT NOT NULL,
			who        TEXT NOT NULL,
			host       TEXT NOT NULL,
			pid        INTEGER NOT NULL,
			operation  TEXT NOT NULL,
			created_at TEXT NOT NULL
		)`,
		`CREATE TABLE events (
			id      INTEGER PRIMARY KEY AUTOINCREMENT,
			time    TEXT NOT NULL,
			kind    TEXT NOT NULL,
			addr    TEXT NOT NULL DEFAULT '',
			message TEXT NOT NULL DEFAULT '',
			data    BLOB
		)`,
	}},
	// A deposed object is the old object of a create_before_destroy
	// replacement, kept (with the same address parts) until it is
	// destroyed. Its addr column is "<address> deposed <key>", so that it
	// never collides with the current object of the address.
	{name: "deposed objects", stmts: []string{
		`ALTER TABLE objects ADD COLUMN deposed TEXT NOT NULL DEFAULT ''`,
	}},
	// An object inside a module instance records the module's path
	// (module.bot["en"]); the root module's objects have ''. res_type and
	// res_name stay relative to the module, addr is the whole address.
	{name: "module paths", stmts: []string{
		`ALTER TABLE objects ADD COLUMN module TEXT NOT NULL DEFAULT ''`,
	}},
}

// SchemaVersion is the newest state schema this build knows.
var SchemaVersion = len(migrations)

// errNoMeta says the database has no meta table: it is not (or not yet)
// an llmops state database.
var errNoMeta = errors.New("no meta table")

func readSchemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'`).Scan(&n)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errNoMeta
	}
	var v string
	err = q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("reading schema_version: %w", err)
	}
	return strconv.Atoi(v)
}

// migrate brings the database up to SchemaVersion, one transaction per
// step. fresh is true for a database being created: it starts from
// version 0 and gets a lineage in its first step.
func migrate(ctx context.Context, db *sql.DB, path string, fresh bool) error {
	for {
		done, err := migrateStep(ctx, db, path, fresh)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, path string, fresh bool) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: re-read the version under the write lock
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	cur, err := readSchemaVersion(ctx, tx)
	switch {
	case errors.Is(err, errNoMeta) && fresh:
		cur = 0
	case errors.Is(err, errNoMeta):
		return false, fmt.Errorf("%s is a SQLite database but not an llmops state database (it has no meta table)", path)
	case err != nil:
		return false, err
	}
	if cur > SchemaVersion {
		return false, &NewerSchemaError{Path: path, Schema: cur, Known: SchemaVersion}
	}
	if cur == SchemaVersion {
		return true, tx.Rollback()
	}
	m := migrations[cur]
	for _, s := range m.stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, fmt.Errorf("state schema migration %d (%s): %w", cur+1, m.name, err)
		}
	}
	if cur == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('lineage', ?)`, newUUID()); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)`,
		strconv.Itoa(cur+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}
