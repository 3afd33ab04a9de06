// Package state records what llmops has created: every object's attributes,
// per state version, so that later commands can show history and roll back.
//
// The Store interface is the boundary. It stores objects as opaque encoded
// values (the engine owns the cty encoding) and knows nothing of plans,
// configurations or providers beyond their addresses. The SQLite
// implementation (OpenSQLite) is the default backend; others (Postgres)
// implement the same interface.
//
// Versions: each apply that changes anything begins a new version with the
// next serial. Objects are written one at a time, each in its own
// transaction, the moment the engine knows them, so a crash loses nothing
// that finished. An object row is valid from the serial that wrote it until
// the serial that superseded or removed it, so the objects of any version
// can be read back without copying unchanged objects into every version.
package state
