package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresOptions say where a PostgreSQL state is.
type PostgresOptions struct {
	// ConnString is a libpq connection string or URL. Empty means
	// $DATABASE_URL, and without it the libpq environment alone (PGHOST,
	// PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT,
	// PGSERVICE, ...). Whatever the connection string leaves out comes
	// from that environment too, as with libpq.
	ConnString string
	// Schema is the PostgreSQL schema holding the state's tables.
	Schema string
	// Workspace is the state within the schema; empty means "default".
	Workspace string
	// Create creates the schema, its tables and the workspace, or brings
	// an older schema up to date (llmops init). Without it, a schema that
	// does not exist or is older than this build is refused with a
	// *NeedsInitError: every llmops of the team must agree on the schema,
	// so only an explicit init changes it.
	Create bool
	// MaxConns bounds the pool of connections (default 8). The state
	// lock holds one more connection of its own while it is held.
	MaxConns int32
}

// DefaultWorkspace is the workspace of a store opened without one.
const DefaultWorkspace = "default"

// PostgresStore is the PostgreSQL implementation of Store: a pool of
// connections, each write its own transaction, any number of processes
// on any number of machines at once.
type PostgresStore struct {
	pool      *pgxpool.Pool
	cfg       *pgxpool.Config
	schema    string
	workspace string
	lineage   string
	where     string
	host      string

	// migratedFrom is the schema version found at open, before any
	// migration (0: the schema was created).
	migratedFrom int

	lmu   sync.Mutex
	locks map[string]*pgxLockConn // locks held by this store, by lock ID

	closed    atomic.Bool
	closeOnce sync.Once
}

var _ Store = (*PostgresStore)(nil)

// NeedsInitError says that the PostgreSQL schema must be created or
// upgraded with `llmops init` before it can be used.
type NeedsInitError struct {
	Where  string // schema "x" in database "d" on host:port
	Reason string
}

func (e *NeedsInitError) Error() string {
	return fmt.Sprintf("the state in %s %s; run `llmops init` to set it up", e.Where, e.Reason)
}

// schemaNameRE is what a state schema may be called: a lower-case
// PostgreSQL identifier, so that it reads the same quoted or not.
var schemaNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CheckPostgresSchemaName says why name cannot be a state schema, or nil.
func CheckPostgresSchemaName(name string) error {
	switch {
	case !schemaNameRE.MatchString(name):
		return fmt.Errorf("invalid schema name %q: use 1 to 63 lower-case letters, digits and underscores, starting with a letter or underscore", name)
	case len(name) >= 3 && name[:3] == "pg_":
		return fmt.Errorf("invalid schema name %q: names starting with pg_ are reserved by PostgreSQL", name)
	case name == "public" || name == "information_schema":
		return fmt.Errorf("invalid schema name %q: give the state a schema of its own", name)
	}
	return nil
}

// PostgresConfig parses a connection string as OpenPostgres does (empty:
// $DATABASE_URL, then the libpq environment). Its errors never contain
// the password.
func PostgresConfig(connString string) (*pgxpool.Config, error) {
	if connString == "" {
		connString = os.Getenv("DATABASE_URL")
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// The parser's message quotes the connection string with the
		// password masked as best it can; say what is wrong without it.
		msg := "it is not a valid libpq connection string or postgres:// URL"
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			msg += " (" + pe.Unwrap().Error() + ")"
		}
		return nil, fmt.Errorf("cannot use the PostgreSQL connection string: %s", msg)
	}
	return cfg, nil
}

// OpenPostgres connects to the state in o.Schema. With o.Create it creates
// or upgrades the schema first; otherwise a missing or older schema is a
// *NeedsInitError, and a newer one a *NewerSchemaError. Versions left in
// progress by a writer that is gone are marked partial.
func OpenPostgres(ctx context.Context, o PostgresOptions) (*PostgresStore, error) {
	if err := CheckPostgresSchemaName(o.Schema); err != nil {
		return nil, err
	}
	if o.Workspace == "" {
		o.Workspace = DefaultWorkspace
	}
	cfg, err := PostgresConfig(o.ConnString)
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["search_path"] = pgx.Identifier{o.Schema}.Sanitize()
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "llmops"
	}
	cfg.MaxConns = 8
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	s := &PostgresStore{
		cfg: cfg, schema: o.Schema, workspace: o.Workspace, locks: map[string]*pgxLockConn{},
		where: fmt.Sprintf("schema %q of database %q on %s", o.Schema, cc.Database, hostPort(cc)),
	}
	s.host, _ = os.Hostname()
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, s.wrap(err)
	}
	// One connection: a command that takes the lock makes it the lock's
	// own and reads through it too (see pgxLockConn); writers dial more.
	ok := false
	defer func() {
		if !ok {
			s.pool.Close()
		}
	}()
	if !o.Create && s.openFast(ctx) {
		ok = true
		return s, nil
	}
	if err := s.pool.Ping(ctx); err != nil {
		return nil, s.wrap(err)
	}
	if s.migratedFrom, err = s.migrate(ctx, o.Create); err != nil {
		return nil, err
	}
	if s.lineage, err = s.openWorkspace(ctx, o.Create); err != nil {
		return nil, err
	}
	if err := s.recoverInProgress(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// openFast opens an up-to-date schema with one query: its version, the
// workspace's lineage and whether a version is left in progress. Anything
// else (no schema, another version, no workspace, an error) takes the
// long way, which says what is wrong.
func (s *PostgresStore) openFast(ctx context.Context) bool {
	var version, lineage *string
	var inProgress bool
	err := s.pool.QueryRow(ctx, `SELECT
			(SELECT value FROM meta WHERE key = 'schema_version'),
			(SELECT lineage FROM workspaces WHERE name = $1),
			EXISTS (SELECT 1 FROM versions WHERE workspace = $1 AND status = $2)`,
		s.workspace, string(VersionInProgress)).Scan(&version, &lineage, &inProgress)
	if err != nil || version == nil || lineage == nil || *version != strconv.Itoa(SchemaVersionPostgres) || inProgress {
		return false
	}
	s.lineage, s.migratedFrom = *lineage, SchemaVersionPostgres
	return true
}

func hostPort(cc *pgx.ConnConfig) string {
	if len(cc.Host) > 0 && cc.Host[0] == '/' {
		return cc.Host // a Unix socket directory
	}
	return cc.Host + ":" + strconv.Itoa(int(cc.Port))
}

// openWorkspace returns the lineage of the store's workspace, creating
// the workspace when create is set.
func (s *PostgresStore) openWorkspace(ctx context.Context, create bool) (string, error) {
	var lineage string
	err := s.pool.QueryRow(ctx, `SELECT lineage FROM workspaces WHERE name = $1`, s.workspace).Scan(&lineage)
	if err == nil {
		return lineage, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", s.wrap(err)
	}
	if !create {
		return "", &NeedsInitError{Where: s.where, Reason: fmt.Sprintf("has no workspace %q", s.workspace)}
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO workspaces (name, lineage, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
		s.workspace, newUUID(), time.Now().UTC())
	if err == nil {
		err = s.pool.QueryRow(ctx, `SELECT lineage FROM workspaces WHERE name = $1`, s.workspace).Scan(&lineage)
	}
	return lineage, s.wrap(err)
}

// Lineage implements Store.
func (s *PostgresStore) Lineage() string { return s.lineage }

// Schema is the PostgreSQL schema of the state.
func (s *PostgresStore) Schema() string { return s.schema }

// Where says where the state is, for messages: the schema, database and
// server, never the credentials.
func (s *PostgresStore) Where() string { return s.where }

// MigratedFrom is the schema version found at open, before OpenPostgres
// with Create brought it up to date: 0 when it created the schema,
// SchemaVersionPostgres when there was nothing to do.
func (s *PostgresStore) MigratedFrom() int { return s.migratedFrom }

// Close implements Store. Locks still held are released with their
// connections; writers of this store fail after it.
func (s *PostgresStore) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.lmu.Lock()
		for id, l := range s.locks {
			l.close()
			delete(s.locks, id)
		}
		s.lmu.Unlock()
		s.pool.Close()
	})
	return nil
}

// wrap turns PostgreSQL's data-corruption errors into a *CorruptError and
// says where the state is in the others.
func (s *PostgresStore) wrap(err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return errClosed
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "XX001" || pe.Code == "XX002") {
		return &CorruptError{Path: s.where, Detail: pe.Message}
	}
	var ce *CorruptError
	var ne *NewerSchemaError
	var ie *NeedsInitError
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.As(err, &ie) || errors.Is(err, ErrNotLocked) {
		return err
	}
	return fmt.Errorf("PostgreSQL state (%s): %w", s.where, err)
}

// retryable reports whether a transaction failed only because another
// one ran at the same time: it can be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "23505", // unique_violation: two writers made the same row at once
		"40001", // serialization_failure
		"40P01": // deadlock_detected
		return true
	}
	return false
}

// writeTx runs fn in a transaction on a connection of the pool, again
// (from the start) while it fails only because of a concurrent writer.
// Once fn has succeeded the commit ignores ctx: what was done is kept.
func (s *PostgresStore) writeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || !retryable(err) || attempt >= 20 {
			return s.wrap(err)
		}
		t := time.NewTimer(time.Duration(attempt+1) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.wrap(err)
		case <-t.C:
		}
	}
}

func (s *PostgresStore) tryTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(context.WithoutCancel(ctx))
}

// exec runs one statement, a transaction of its own.
func (s *PostgresStore) exec(ctx context.Context, q string, args ...any) error {
	if s.closed.Load() {
		return errClosed
	}
	_, err := s.pool.Exec(ctx, q, args...)
	return s.wrap(err)
}

// pgxQuerier runs a query: a connection, the pool or a transaction.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgxReadConn is where reads run: the connection of a lock this store
// holds, or the pool.
type pgxReadConn interface {
	pgxQuerier
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// withReader runs fn on the connection of a lock this store holds when it
// is free (see pgxLockConn), else on the pool.
func (s *PostgresStore) withReader(fn func(c pgxReadConn) error) error {
	if l := s.borrowLockConn(); l != nil {
		defer l.mu.Unlock()
		return fn(l.conn)
	}
	return fn(s.pool)
}

// readTx runs fn in a read-only transaction that sees one snapshot of the
// state, whatever writers do meanwhile (see withReader for where).
func (s *PostgresStore) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return s.wrap(s.withReader(func(c pgxReadConn) error { return pgx.BeginTxFunc(ctx, c, opts, fn) }))
}
