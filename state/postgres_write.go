package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmops/llmops/addrs"
)

// pgPlaceholders is n PostgreSQL placeholders from $first on.
func pgPlaceholders(first, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", first+i)
	}
	return strings.Join(ph, ", ")
}

var (
	pgCurRow = `SELECT id, serial_created FROM objects WHERE workspace = $1 AND addr = $2 AND serial_removed IS NULL FOR UPDATE`
	pgEndRow = `UPDATE objects SET serial_removed = $1 WHERE id = $2`
	// pgInsObj takes workspace, addr, res_type, res_name, key_kind,
	// key_int, key_str, serial_created, then objWriteCols.
	pgInsObj = `INSERT INTO objects (workspace, addr, res_type, res_name, key_kind, key_int, key_str, serial_created, ` +
		objWriteCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ` + pgPlaceholders(9, len(objWriteColNames)) + `)`
	// pgUpdObj takes objWriteCols then the id.
	pgUpdObj = func() string {
		set := make([]string, len(objWriteColNames))
		for i, c := range objWriteColNames {
			set[i] = fmt.Sprintf("%s = $%d", c, i+1)
		}
		return `UPDATE objects SET ` + strings.Join(set, ", ") + fmt.Sprintf(` WHERE id = $%d`, len(objWriteColNames)+1)
	}()
	// pgCopyRow inserts a copy of row $3 under addr $1 and deposed key $4,
	// created at serial $2.
	pgCopyRow = func() string {
		var cols []string
		for _, c := range objWriteColNames {
			if c == "deposed" {
				c = "$4"
			}
			cols = append(cols, c)
		}
		return `INSERT INTO objects (workspace, addr, res_type, res_name, key_kind, key_int, key_str, serial_created, ` + objWriteCols + `)
			SELECT workspace, $1, res_type, res_name, key_kind, key_int, key_str, $2, ` + strings.Join(cols, ", ") + ` FROM objects WHERE id = $3`
	}()
)

// Begin implements Store. The version row is written at once with status
// in_progress; info.Status and info.ObjectCount are ignored, a zero
// info.CreatedAt means now. Two machines beginning at once get
// consecutive serials.
func (s *PostgresStore) Begin(ctx context.Context, info VersionInfo) (Writer, error) {
	created := info.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	counts, err := json.Marshal(info.Counts)
	if err != nil {
		return nil, err
	}
	var serial int64
	err = s.writeTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(serial), 0) + 1 FROM versions WHERE workspace = $1`, s.workspace).Scan(&serial); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO versions (workspace, serial, created_at, who, command, config_digest, status, counts_json)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.workspace, serial, pgTime(created), info.Who, info.Command, info.ConfigDigest, string(VersionInProgress), string(counts))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("beginning a state version: %w", err)
	}
	return &pgWriter{s: s, serial: serial}, nil
}

// pgTime is t as PostgreSQL keeps it: UTC, to the microsecond.
func pgTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// pgWriter writes one version. Like sqliteWriter, its methods ignore the
// cancellation of their context. Unlike it, calls run concurrently, each
// on a connection of the pool: the row lock of the current row (and the
// unique index of current rows) orders writers of one address.
type pgWriter struct {
	s      *PostgresStore
	serial int64

	mu       sync.Mutex
	finished bool
}

var _ Writer = (*pgWriter)(nil)

func (w *pgWriter) Serial() int64 { return w.serial }

func (w *pgWriter) checkOpen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return fmt.Errorf("state version %d is already finished", w.serial)
	}
	return nil
}

// currentRow returns the id and creating serial of the current row
// whose addr column is row, locked until the transaction ends; id 0 when
// there is none.
func (w *pgWriter) currentRow(ctx context.Context, tx pgx.Tx, row string) (id, created int64, err error) {
	err = tx.QueryRow(ctx, pgCurRow, w.s.workspace, row).Scan(&id, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	return id, created, err
}

func (w *pgWriter) stale(created int64, row string) error {
	return fmt.Errorf("state version %d is stale: version %d has already written %s", w.serial, created, row)
}

// PutObject implements Writer. A second PutObject of the same address in
// the same version replaces the first row in place.
func (w *pgWriter) PutObject(ctx context.Context, obj *Object) error {
	if obj == nil {
		return errors.New("PutObject: nil object")
	}
	if err := w.checkOpen(); err != nil {
		return err
	}
	addr, err := normAddr(obj.Addr)
	if err != nil {
		return err
	}
	args, err := objectArgs(obj)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	row := rowAddr(addr, obj.Deposed)
	ins := append([]any{w.s.workspace}, addrArgs(addr, obj.Deposed)...)
	ins = append(ins, w.serial)
	ins = append(ins, args...)
	if done, err := w.putFast(ctx, row, ins); done || err != nil {
		if err != nil {
			return fmt.Errorf("recording %s in state version %d: %w", addr, w.serial, err)
		}
		return nil
	}
	err = w.s.writeTx(ctx, func(tx pgx.Tx) error {
		id, created, err := w.currentRow(ctx, tx, row)
		switch {
		case err != nil:
			return err
		case id == 0:
		case created == w.serial:
			_, err = tx.Exec(ctx, pgUpdObj, append(args, id)...)
			return err
		case created > w.serial:
			return w.stale(created, addr.String())
		default:
			if _, err := tx.Exec(ctx, pgEndRow, w.serial, id); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, pgInsObj, ins...)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording %s in state version %d: %w", addr, w.serial, err)
	}
	return nil
}

// putFast records a new row for the address in one round trip and one
// transaction (a batch runs as one): it ends the current row when an
// older version wrote it, and inserts. When the current row was written
// by this version or a newer one, the insert breaks the unique index of
// current rows, nothing is done, and PutObject takes the long way, which
// replaces the row in place or reports the stale version. So do two
// writers of one address at once: the second finds the first's row.
func (w *pgWriter) putFast(ctx context.Context, row string, ins []any) (bool, error) {
	if w.s.closed.Load() {
		return false, errClosed
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE objects SET serial_removed = $1
		WHERE workspace = $2 AND addr = $3 AND serial_removed IS NULL AND serial_created < $1`, w.serial, w.s.workspace, row)
	b.Queue(pgInsObj, ins...)
	err := w.s.pool.SendBatch(ctx, b).Close()
	switch {
	case err == nil:
		return true, nil
	case retryable(err):
		return false, nil
	}
	return false, w.s.wrap(err)
}

// RemoveObject implements Writer, as SQLite's does.
func (w *pgWriter) RemoveObject(ctx context.Context, addr addrs.ResourceInstance) error {
	return w.removeRow(ctx, addr, "")
}

// RemoveDeposed implements Writer.
func (w *pgWriter) RemoveDeposed(ctx context.Context, addr addrs.ResourceInstance, key string) error {
	if key == "" {
		return errors.New("RemoveDeposed: empty key")
	}
	return w.removeRow(ctx, addr, key)
}

func (w *pgWriter) removeRow(ctx context.Context, addr addrs.ResourceInstance, deposed string) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	addr, err := normAddr(addr)
	if err != nil {
		return err
	}
	row := rowAddr(addr, deposed)
	ctx = context.WithoutCancel(ctx)
	// One statement ends a current row this version may end; finding none
	// (no current row, or a newer version's) takes the long way to tell.
	if w.s.closed.Load() {
		return errClosed
	}
	tag, err := w.s.pool.Exec(ctx, `UPDATE objects SET serial_removed = $1
		WHERE workspace = $2 AND addr = $3 AND serial_removed IS NULL AND serial_created <= $1`, w.serial, w.s.workspace, row)
	if err != nil {
		return fmt.Errorf("removing %s in state version %d: %w", row, w.serial, w.s.wrap(err))
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	err = w.s.writeTx(ctx, func(tx pgx.Tx) error {
		id, created, err := w.currentRow(ctx, tx, row)
		switch {
		case err != nil || id == 0:
			return err
		case created > w.serial:
			return w.stale(created, row)
		}
		_, err = tx.Exec(ctx, pgEndRow, w.serial, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("removing %s in state version %d: %w", row, w.serial, err)
	}
	return nil
}

// moveRow ends the current row at (addr, from) and records a copy of it at
// (addr, to), ending any current row there first, in one transaction. It
// does nothing when there is no row at from.
func (w *pgWriter) moveRow(ctx context.Context, op string, addr addrs.ResourceInstance, from, to string) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	addr, err := normAddr(addr)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	src, dst := rowAddr(addr, from), rowAddr(addr, to)
	err = w.s.writeTx(ctx, func(tx pgx.Tx) error {
		id, created, err := w.currentRow(ctx, tx, src)
		switch {
		case err != nil || id == 0:
			return err
		case created > w.serial:
			return w.stale(created, src)
		}
		old, oldCreated, err := w.currentRow(ctx, tx, dst)
		switch {
		case err != nil:
			return err
		case old != 0 && oldCreated > w.serial:
			return w.stale(oldCreated, dst)
		case old != 0:
			if _, err := tx.Exec(ctx, pgEndRow, w.serial, old); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, pgEndRow, w.serial, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, pgCopyRow, dst, w.serial, id, to)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s in state version %d: %w", op, src, w.serial, err)
	}
	return nil
}

// Depose implements Writer.
func (w *pgWriter) Depose(ctx context.Context, addr addrs.ResourceInstance, key string) error {
	if key == "" {
		return errors.New("Depose: empty key")
	}
	return w.moveRow(ctx, "deposing", addr, "", key)
}

// RestoreDeposed implements Writer.
func (w *pgWriter) RestoreDeposed(ctx context.Context, addr addrs.ResourceInstance, key string) error {
	if key == "" {
		return errors.New("RestoreDeposed: empty key")
	}
	return w.moveRow(ctx, "restoring", addr, key, "")
}

// SetOutputs implements Writer, as SQLite's does.
func (w *pgWriter) SetOutputs(ctx context.Context, outputs []*Output) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	b, err := encodeOutputs(outputs)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	err = w.s.exec(ctx, `UPDATE versions SET outputs_json = $1 WHERE workspace = $2 AND serial = $3`, string(b), w.s.workspace, w.serial)
	if err != nil {
		return fmt.Errorf("recording the outputs of state version %d: %w", w.serial, err)
	}
	return nil
}

// Finish implements Writer.
func (w *pgWriter) Finish(ctx context.Context, status VersionStatus, counts Counts) error {
	if status != VersionComplete && status != VersionPartial {
		return fmt.Errorf("Finish: invalid status %q (want %q or %q)", status, VersionComplete, VersionPartial)
	}
	if err := w.checkOpen(); err != nil {
		return err
	}
	b, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	err = w.s.exec(ctx, `UPDATE versions SET status = $1, counts_json = $2 WHERE workspace = $3 AND serial = $4`,
		string(status), string(b), w.s.workspace, w.serial)
	if err != nil {
		return fmt.Errorf("finishing state version %d: %w", w.serial, err)
	}
	w.mu.Lock()
	w.finished = true
	w.mu.Unlock()
	return nil
}

// recoverInProgress marks partial the versions left in progress by a
// writer that is gone: no lock is held, or its holder's connection has
// ended (see holderGone).
func (s *PostgresStore) recoverInProgress(ctx context.Context) error {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM versions WHERE workspace = $1 AND status = $2`,
		s.workspace, string(VersionInProgress)).Scan(&n); err != nil || n == 0 {
		return s.wrap(err)
	}
	h, err := s.readLock(ctx, s.pool)
	if err != nil {
		return s.wrap(err)
	}
	if h != nil {
		gone, err := s.holderGone(ctx, h)
		if err != nil || !gone {
			return s.wrap(err) // a live writer
		}
	}
	_, err = s.pool.Exec(ctx, `UPDATE versions SET status = $1 WHERE workspace = $2 AND status = $3`,
		string(VersionPartial), s.workspace, string(VersionInProgress))
	return s.wrap(err)
}
