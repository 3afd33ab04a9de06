// Package state records what llmops has created: every object's attributes,
// per state version, so that later commands can show history and roll back.
//
// The Store interface is the boundary. It stores objects as opaque encoded
// values (the engine owns the cty encoding) and knows nothing of plans,
// configurations or providers beyond their addresses. Two backends
// implement it: SQLite (OpenSQLite, the default: one file beside the
// configuration) and PostgreSQL (OpenPostgres: one state shared by a
// team's machines). Copy moves a state from one to the other whole
// (Transferer), every row as it is stored.
//
// Both backends live in this package, in files of their own (sqlite*.go,
// postgres*.go), rather than in sub-packages: they share the encoding of
// rows (addresses in parts, deposed keys, dependency lines, the outputs'
// JSON, times to the microsecond) and the rules of validity of a row, so
// that the two cannot drift apart and a copy between them loses nothing,
// and one suite of internal tests (backends_test.go) runs every test of
// the Store contract against both.
//
// Versions: each apply that changes anything begins a new version with the
// next serial. Objects are written one at a time, each in its own
// transaction, the moment the engine knows them, so a crash loses nothing
// that finished. An object row is valid from the serial that wrote it until
// the serial that superseded or removed it, so the objects of any version
// can be read back without copying unchanged objects into every version.
package state

// # The SQLite backend
//
// OpenSQLite keeps the state in one SQLite file in WAL mode with
// synchronous=NORMAL: a commit survives the crash or SIGKILL of the
// process that made it (a power cut may lose the last commits, never
// corrupt the file). A new file is built beside its final path and linked
// into place complete, so an interrupted creation leaves nothing behind.
//
// Tables: meta (schema_version, lineage), versions (one row per serial,
// with its status, counts and outputs), objects (one row per object
// written, valid for serials [serial_created, serial_removed); a deposed
// object, the old object of a create_before_destroy replacement not yet
// destroyed, is a row with a deposed key, listed in Snapshot.Deposed and
// never in the address's history), lock (at
// most one row) and events. The schema evolves by the ordered steps of
// migrations, each applied in its own transaction; a database whose
// schema is newer than this build knows is refused (*NewerSchemaError).
//
// At open the file is checked (SQLite header, PRAGMA quick_check); a
// damaged one is refused with a *CorruptError. Versions left in progress
// by a writer that is gone are marked partial: the objects they recorded
// are real and stay.
//
// Writes go through one connection, each its own BEGIN IMMEDIATE
// transaction, serialised by a mutex in the process and by SQLite's lock
// between processes (waiting up to a busy timeout). Writer methods ignore
// the cancellation of their context, so an interrupted apply still records
// what it did. Reads use their own connections and see a consistent
// snapshot without waiting for writers.
//
// The state lock is the lock table's row. A holder that was a process of
// this host and no longer exists is taken over with a warning and a
// "lock.takeover" event; any other holder makes Lock wait or fail with a
// *LockedError.

// # The PostgreSQL backend
//
// OpenPostgres keeps the state in the tables of one schema (one per
// configuration), through a pgx connection pool; the connection comes
// from a connection string or the libpq environment (DATABASE_URL,
// PGHOST, PGUSER, PGPASSWORD, PGSSLMODE, ...), TLS settings included.
// Every table but meta is keyed by workspace, so a schema can hold
// several states as rows; llmops uses the workspace "default".
//
// The schema evolves by the ordered steps of pgMigrations, each in its own
// transaction under an advisory lock; only OpenPostgres with Create (llmops
// init) creates or upgrades it, since every machine of the team must agree
// on it: other opens of a missing or older schema get a *NeedsInitError,
// of a newer one a *NewerSchemaError.
//
// Each write is its own transaction on a connection of the pool, committed
// with the server's durability (synchronous_commit on); writers on any
// number of machines run at once, ordered per address by the row lock of
// the current row and by a unique index on current rows (a writer that
// loses a race runs its transaction again). Reads run in read-only
// REPEATABLE READ transactions: one snapshot per call.
//
// The lock is the locks row plus a session advisory lock held, for the
// lock's life, on a connection of its own: a holder that is gone (its
// connection ended) is taken over with a warning and a "lock.takeover"
// event, from any machine. See postgres_lock.go.
//
// Backup writes a SQLite copy of the workspace. Sensitive values arrive
// sealed by the engine; the state key never reaches the server.
