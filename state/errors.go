package state

import "fmt"

// CorruptError is returned when a state database cannot be used because
// its file is damaged: it is not a SQLite database, it was truncated, or
// SQLite's integrity check reports a problem.
type CorruptError struct {
	// Path is the database file.
	Path string
	// Detail says what was found wrong.
	Detail string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state database %s is corrupted: %s", e.Path, e.Detail)
}

// NewerSchemaError is returned when a state database was written by a
// newer llmops than this one.
type NewerSchemaError struct {
	Path   string
	Schema int // the database's schema version
	Known  int // the newest schema this build knows
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("state database %s was written by a newer llmops (schema %d, this build knows up to %d); upgrade llmops",
		e.Path, e.Schema, e.Known)
}
