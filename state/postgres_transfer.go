package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

var _ Transferer = (*PostgresStore)(nil)

// Export implements Transferer in one read-only transaction.
func (s *PostgresStore) Export(ctx context.Context) (*Records, error) {
	recs := &Records{Lineage: s.lineage}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT serial, created_at, who, command, config_digest, status, counts_json, outputs_json
			FROM versions WHERE workspace = $1 ORDER BY serial`, s.workspace)
		if err != nil {
			return err
		}
		var (
			v              VersionRecord
			status, counts string
			outs           *string
		)
		_, err = pgx.ForEachRow(rows, []any{&v.Serial, &v.CreatedAt, &v.Who, &v.Command, &v.ConfigDigest, &status, &counts, &outs}, func() error {
			r := v
			r.CreatedAt = r.CreatedAt.UTC()
			r.Status = VersionStatus(status)
			if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
				return fmt.Errorf("version %d: bad counts %q: %w", r.Serial, counts, err)
			}
			if outs != nil {
				r.Outputs = []byte(*outs)
			}
			recs.Versions = append(recs.Versions, r)
			return nil
		})
		if err != nil {
			return err
		}
		var alloc objectAlloc
		err = queryObjects(ctx, tx, &alloc, func(o *Object) { recs.Objects = append(recs.Objects, o) },
			`SELECT `+pgObjReadCols+` FROM objects WHERE workspace = $1 ORDER BY id`, s.workspace)
		if err != nil {
			return err
		}
		recs.Events, err = readEvents(ctx, tx, `SELECT id, time, kind, addr, message, data FROM events WHERE workspace = $1 ORDER BY id`, s.workspace)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exporting the state in %s: %w", s.where, err)
	}
	return recs, nil
}

// Import implements Transferer in one transaction; object rows are
// copied with COPY, in their order (object IDs are the schema's own;
// event IDs are kept).
func (s *PostgresStore) Import(ctx context.Context, recs *Records) error {
	if err := checkRecords(recs); err != nil {
		return err
	}
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM versions WHERE workspace = $1) + (SELECT count(*) FROM events WHERE workspace = $1)`,
			s.workspace).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: workspace %q in %s already has versions or events", ErrNotEmpty, s.workspace, s.where)
		}
		if _, err := tx.Exec(ctx, `UPDATE workspaces SET lineage = $1 WHERE name = $2`, recs.Lineage, s.workspace); err != nil {
			return err
		}
		vrows := make([][]any, len(recs.Versions))
		for i, v := range recs.Versions {
			counts, err := json.Marshal(v.Counts)
			if err != nil {
				return err
			}
			var outs any
			if v.Outputs != nil {
				outs = string(v.Outputs)
			}
			vrows[i] = []any{s.workspace, v.Serial, pgTime(v.CreatedAt), v.Who, v.Command, v.ConfigDigest, string(v.Status), string(counts), outs}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"versions"},
			[]string{"workspace", "serial", "created_at", "who", "command", "config_digest", "status", "counts_json", "outputs_json"},
			pgx.CopyFromRows(vrows)); err != nil {
			return fmt.Errorf("versions: %w", err)
		}
		cols := append([]string{"workspace", "addr", "res_type", "res_name", "key_kind", "key_int", "key_str", "serial_created", "serial_removed"}, objWriteColNames...)
		i := 0
		var rowErr error
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(recs.Objects) {
				return nil, nil
			}
			o := recs.Objects[i]
			i++
			addr, err := normAddr(o.Addr)
			if err != nil {
				return nil, err
			}
			args, err := objectArgs(o)
			if err != nil {
				rowErr = fmt.Errorf("object %s: %w", addr, err)
				return nil, rowErr
			}
			var removed any
			if o.RemovedSerial != 0 {
				removed = o.RemovedSerial
			}
			row := append([]any{s.workspace}, addrArgs(addr, o.Deposed)...)
			row = append(row, o.Serial, removed)
			return append(row, args...), nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"objects"}, cols, src); err != nil {
			return fmt.Errorf("object rows: %w", errors.Join(rowErr, err))
		}
		erows := make([][]any, len(recs.Events))
		for i, ev := range recs.Events {
			erows[i] = []any{s.workspace, ev.ID, pgTime(ev.Time), ev.Kind, ev.Addr, ev.Message, ev.Data}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"workspace", "id", "time", "kind", "addr", "message", "data"},
			pgx.CopyFromRows(erows)); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.lineage = recs.Lineage
	return nil
}

// Backup implements Store: it writes a consistent copy of the workspace to
// path as a SQLite state database (path must not exist; its directory is
// created), which OpenSQLite opens and `llmops init -migrate-state` can
// copy back. The server's own backups (pg_dump, base backups) are the
// way to back up the whole schema.
func (s *PostgresStore) Backup(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("backup %s: the file already exists", abs)
	}
	recs, err := s.Export(ctx)
	if err != nil {
		return err
	}
	dst, err := OpenSQLite(ctx, abs)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	err = dst.Import(ctx, recs)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(abs)
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	return nil
}
