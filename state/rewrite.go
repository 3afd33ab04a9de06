package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SecretsRewriter is implemented by stores that can re-seal every sensitive
// value they hold (for `llmops state rotate-key`).
type SecretsRewriter interface {
	// RewriteSecrets calls obj on every object row's SensitivePaths blob
	// (in every version) and out on every recorded output, and stores what
	// they return, all in one transaction: either everything is re-sealed
	// or nothing changes.
	RewriteSecrets(ctx context.Context, obj func(sensitive []byte) ([]byte, error), out func(o *Output) error) (rows int, err error)
}

// RewriteSecrets implements SecretsRewriter.
func (s *SQLiteStore) RewriteSecrets(ctx context.Context, obj func([]byte) ([]byte, error), out func(*Output) error) (int, error) {
	n := 0
	err := s.writeTx(ctx, func(c *sql.Conn) error {
		type row struct {
			id   int64
			blob []byte
		}
		var rows []row
		rs, err := c.QueryContext(ctx, `SELECT id, sensitive_paths FROM objects WHERE sensitive_paths IS NOT NULL AND length(sensitive_paths) > 0`)
		if err != nil {
			return err
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.blob); err != nil {
				rs.Close()
				return err
			}
			rows = append(rows, r)
		}
		rs.Close()
		for _, r := range rows {
			nb, err := obj(r.blob)
			if err != nil {
				return fmt.Errorf("object row %d: %w", r.id, err)
			}
			if _, err := c.ExecContext(ctx, `UPDATE objects SET sensitive_paths = ? WHERE id = ?`, nb, r.id); err != nil {
				return err
			}
			n++
		}
		type vrow struct {
			serial int64
			outs   []byte
		}
		var vrows []vrow
		vs, err := c.QueryContext(ctx, `SELECT serial, outputs_json FROM versions WHERE outputs_json IS NOT NULL`)
		if err != nil {
			return err
		}
		for vs.Next() {
			var v vrow
			if err := vs.Scan(&v.serial, &v.outs); err != nil {
				vs.Close()
				return err
			}
			vrows = append(vrows, v)
		}
		vs.Close()
		for _, v := range vrows {
			outs, err := decodeOutputs(v.outs)
			if err != nil {
				return err
			}
			js := make([]outputJSON, len(outs))
			for i, o := range outs {
				if err := out(o); err != nil {
					return fmt.Errorf("output %s of version %d: %w", o.Name, v.serial, err)
				}
				js[i] = outputJSON{Name: o.Name, Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.Sensitive}
			}
			b, err := json.Marshal(js)
			if err != nil {
				return err
			}
			if _, err := c.ExecContext(ctx, `UPDATE versions SET outputs_json = ? WHERE serial = ?`, string(b), v.serial); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RewriteSecrets implements SecretsRewriter in one transaction of the
// workspace, as SQLite's does. The values are re-sealed here, on the
// machine that has the keys: the server only ever sees sealed blobs.
func (s *PostgresStore) RewriteSecrets(ctx context.Context, obj func([]byte) ([]byte, error), out func(*Output) error) (int, error) {
	n := 0
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT id, sensitive_paths FROM objects
			WHERE workspace = $1 AND sensitive_paths IS NOT NULL AND length(sensitive_paths) > 0 ORDER BY id FOR UPDATE`, s.workspace)
		if err != nil {
			return err
		}
		type row struct {
			id   int64
			blob []byte
		}
		var objs []row
		var r row
		if _, err := pgx.ForEachRow(rows, []any{&r.id, &r.blob}, func() error { objs = append(objs, r); return nil }); err != nil {
			return err
		}
		for _, r := range objs {
			nb, err := obj(r.blob)
			if err != nil {
				return fmt.Errorf("object row %d: %w", r.id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE objects SET sensitive_paths = $1 WHERE id = $2`, nb, r.id); err != nil {
				return err
			}
			n++
		}
		rows, err = tx.Query(ctx, `SELECT serial, outputs_json FROM versions
			WHERE workspace = $1 AND outputs_json IS NOT NULL ORDER BY serial FOR UPDATE`, s.workspace)
		if err != nil {
			return err
		}
		type vrow struct {
			serial int64
			outs   string
		}
		var vrows []vrow
		var v vrow
		if _, err := pgx.ForEachRow(rows, []any{&v.serial, &v.outs}, func() error { vrows = append(vrows, v); return nil }); err != nil {
			return err
		}
		for _, v := range vrows {
			outs, err := decodeOutputs([]byte(v.outs))
			if err != nil {
				return err
			}
			for _, o := range outs {
				if err := out(o); err != nil {
					return fmt.Errorf("output %s of version %d: %w", o.Name, v.serial, err)
				}
			}
			b, err := encodeOutputs(outs)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE versions SET outputs_json = $1 WHERE workspace = $2 AND serial = $3`, string(b), s.workspace, v.serial); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
