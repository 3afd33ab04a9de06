package state

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Workspaces lists the workspaces of the store's schema, by name. Each
// has its own versions, objects, events and lock (the workspace column
// of every table); the artifacts they refer to are shared.
func (s *PostgresStore) Workspaces(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM workspaces ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return names, s.wrap(err)
}

// DeleteWorkspace removes workspace name and everything recorded in it,
// in one transaction. It refuses the store's own workspace and one whose
// lock is held.
func (s *PostgresStore) DeleteWorkspace(ctx context.Context, name string) error {
	if name == s.workspace {
		return fmt.Errorf("workspace %q is the one this store is open on", name)
	}
	return s.writeTx(ctx, func(tx pgx.Tx) error {
		var exists, locked bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces WHERE name = $1), EXISTS (SELECT 1 FROM locks WHERE workspace = $1)`, name).Scan(&exists, &locked); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("there is no workspace %q", name)
		}
		if locked {
			return fmt.Errorf("workspace %q is locked by a running operation", name)
		}
		for _, q := range []string{
			`DELETE FROM objects WHERE workspace = $1`,
			`DELETE FROM events WHERE workspace = $1`,
			`DELETE FROM versions WHERE workspace = $1`,
			`DELETE FROM workspaces WHERE name = $1`,
		} {
			if _, err := tx.Exec(ctx, q, name); err != nil {
				return err
			}
		}
		return nil
	})
}
