package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/llmops/llmops/addrs"
)

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE) on the writer
// connection, holding the store's write mutex. It drives the transaction
// with plain statements rather than database/sql's Tx, which starts a
// goroutine per transaction: a fifth of the cost of a PutObject. Once fn
// has succeeded the commit ignores ctx: what was done is kept.
func (s *SQLiteStore) writeTx(ctx context.Context, fn func(c *sql.Conn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wconn == nil {
		return errClosed
	}
	if _, err := s.wconn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return s.classify(err)
	}
	err := fn(s.wconn)
	if err == nil {
		if _, err = s.wconn.ExecContext(context.WithoutCancel(ctx), `COMMIT`); err == nil {
			return nil
		}
	}
	// SQLite may have rolled back already; then this fails, harmlessly.
	_, _ = s.wconn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	return s.classify(err)
}

var errClosed = errors.New("the state store is closed")

// Begin implements Store. The version row is written at once with status
// in_progress; info.Status and info.ObjectCount are ignored, a zero
// info.CreatedAt means now.
func (s *SQLiteStore) Begin(ctx context.Context, info VersionInfo) (Writer, error) {
	created := info.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	counts, err := json.Marshal(info.Counts)
	if err != nil {
		return nil, err
	}
	var serial int64
	err = s.writeTx(ctx, func(c *sql.Conn) error {
		if err := c.QueryRowContext(ctx, `SELECT COALESCE(MAX(serial), 0) + 1 FROM versions`).Scan(&serial); err != nil {
			return err
		}
		_, err := c.ExecContext(ctx, `INSERT INTO versions (serial, created_at, who, command, config_digest, status, counts_json)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			serial, fmtTime(created), info.Who, info.Command, info.ConfigDigest, string(VersionInProgress), string(counts))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("beginning a state version: %w", err)
	}
	return &sqliteWriter{s: s, serial: serial}, nil
}

// sqliteWriter writes one version. Its methods ignore the cancellation of
// their context: once the engine has done something it must be able to
// record it, even while it is being interrupted. Each call still waits at
// most the busy timeout for another process's transaction.
type sqliteWriter struct {
	s      *SQLiteStore
	serial int64

	mu       sync.Mutex
	finished bool
}

var _ Writer = (*sqliteWriter)(nil)

func (w *sqliteWriter) Serial() int64 { return w.serial }

func (w *sqliteWriter) checkOpen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return fmt.Errorf("state version %d is already finished", w.serial)
	}
	return nil
}

func normAddr(a addrs.ResourceInstance) (addrs.ResourceInstance, error) {
	if a.Key == nil {
		a.Key = addrs.NoKey
	}
	if a.Resource.Type == "" || a.Resource.Name == "" {
		return a, fmt.Errorf("invalid object address %q", a.Resource.String())
	}
	return a, nil
}

// PutObject implements Writer. A second PutObject of the same address in
// the same version replaces the first row in place.
func (w *sqliteWriter) PutObject(ctx context.Context, obj *Object) error {
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
	st := &w.s.st
	err = w.s.writeTx(ctx, func(c *sql.Conn) error {
		id, created, err := currentRow(ctx, st, rowAddr(addr, obj.Deposed))
		switch {
		case err != nil:
			return err
		case id == 0:
		case created == w.serial:
			_, err = st.updObj.ExecContext(ctx, append(args, id)...)
			return err
		case created > w.serial:
			return fmt.Errorf("state version %d is stale: version %d has already written %s", w.serial, created, addr)
		default:
			if _, err := st.endRow.ExecContext(ctx, w.serial, id); err != nil {
				return err
			}
		}
		ins := append(addrArgs(addr, obj.Deposed), w.serial)
		_, err = st.insObj.ExecContext(ctx, append(ins, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording %s in state version %d: %w", addr, w.serial, err)
	}
	return nil
}

// currentRow returns the id and creating serial of the current row whose
// addr column is row (see rowAddr), or id 0 when there is none.
func currentRow(ctx context.Context, st *stmts, row string) (id, created int64, err error) {
	err = st.curRow.QueryRowContext(ctx, row).Scan(&id, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return id, created, err
}

// RemoveObject implements Writer. Removing an address that has no current
// object does nothing. A row written by this same version is kept, valid
// for no serial, so that ObjectHistory still shows it.
func (w *sqliteWriter) RemoveObject(ctx context.Context, addr addrs.ResourceInstance) error {
	return w.removeRow(ctx, addr, "")
}

// RemoveDeposed implements Writer.
func (w *sqliteWriter) RemoveDeposed(ctx context.Context, addr addrs.ResourceInstance, key string) error {
	if key == "" {
		return errors.New("RemoveDeposed: empty key")
	}
	return w.removeRow(ctx, addr, key)
}

func (w *sqliteWriter) removeRow(ctx context.Context, addr addrs.ResourceInstance, deposed string) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	addr, err := normAddr(addr)
	if err != nil {
		return err
	}
	row := rowAddr(addr, deposed)
	ctx = context.WithoutCancel(ctx)
	st := &w.s.st
	err = w.s.writeTx(ctx, func(c *sql.Conn) error {
		id, created, err := currentRow(ctx, st, row)
		switch {
		case err != nil || id == 0:
			return err
		case created > w.serial:
			return fmt.Errorf("state version %d is stale: version %d has already written %s", w.serial, created, row)
		}
		_, err = st.endRow.ExecContext(ctx, w.serial, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("removing %s in state version %d: %w", row, w.serial, err)
	}
	return nil
}

// copyRowQuery inserts a copy of a row (?3) under another addr column (?1)
// and deposed key (?4), created at serial ?2.
var copyRowQuery = func() string {
	var cols []string
	for _, c := range objWriteColNames {
		if c == "deposed" {
			c = "?4"
		}
		cols = append(cols, c)
	}
	return `INSERT INTO objects (addr, res_type, res_name, key_kind, key_int, key_str, serial_created, ` + objWriteCols + `)
		SELECT ?1, res_type, res_name, key_kind, key_int, key_str, ?2, ` + strings.Join(cols, ", ") + ` FROM objects WHERE id = ?3`
}()

// moveRow ends the current row at (addr, from) and records a copy of it at
// (addr, to), ending any current row there first, in one transaction. It
// does nothing when there is no row at from.
func (w *sqliteWriter) moveRow(ctx context.Context, op string, addr addrs.ResourceInstance, from, to string) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	addr, err := normAddr(addr)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	st := &w.s.st
	src, dst := rowAddr(addr, from), rowAddr(addr, to)
	err = w.s.writeTx(ctx, func(c *sql.Conn) error {
		id, created, err := currentRow(ctx, st, src)
		switch {
		case err != nil || id == 0:
			return err
		case created > w.serial:
			return fmt.Errorf("state version %d is stale: version %d has already written %s", w.serial, created, src)
		}
		old, oldCreated, err := currentRow(ctx, st, dst)
		switch {
		case err != nil:
			return err
		case old != 0 && oldCreated > w.serial:
			return fmt.Errorf("state version %d is stale: version %d has already written %s", w.serial, oldCreated, dst)
		case old != 0:
			if _, err := st.endRow.ExecContext(ctx, w.serial, old); err != nil {
				return err
			}
		}
		if _, err := c.ExecContext(ctx, copyRowQuery, dst, w.serial, id, to); err != nil {
			return err
		}
		_, err = st.endRow.ExecContext(ctx, w.serial, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s in state version %d: %w", op, src, w.serial, err)
	}
	return nil
}

// Depose implements Writer.
func (w *sqliteWriter) Depose(ctx context.Context, addr addrs.ResourceInstance, key string) error {
	if key == "" {
		return errors.New("Depose: empty key")
	}
	return w.moveRow(ctx, "deposing", addr, "", key)
}

// RestoreDeposed implements Writer.
func (w *sqliteWriter) RestoreDeposed(ctx context.Context, addr addrs.ResourceInstance, key string) error {
	if key == "" {
		return errors.New("RestoreDeposed: empty key")
	}
	return w.moveRow(ctx, "restoring", addr, key, "")
}

// SetOutputs implements Writer. A later call replaces the outputs; a
// version that never sets them shows those of the version before.
func (w *sqliteWriter) SetOutputs(ctx context.Context, outputs []*Output) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	b, err := encodeOutputs(outputs)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	err = w.s.writeTx(ctx, func(c *sql.Conn) error {
		_, err := w.s.st.setOutputs.ExecContext(ctx, string(b), w.serial)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the outputs of state version %d: %w", w.serial, err)
	}
	return nil
}

// Finish implements Writer. status must be complete or partial; the
// writer accepts no call after it succeeds.
func (w *sqliteWriter) Finish(ctx context.Context, status VersionStatus, counts Counts) error {
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
	err = w.s.writeTx(ctx, func(c *sql.Conn) error {
		_, err := w.s.st.finish.ExecContext(ctx, string(status), string(b), w.serial)
		return err
	})
	if err != nil {
		return fmt.Errorf("finishing state version %d: %w", w.serial, err)
	}
	w.mu.Lock()
	w.finished = true
	w.mu.Unlock()
	return nil
}

// recoverInProgress marks partial the versions left in progress by a
// writer that is gone: no lock is held, or its holder was a process of
// this host that no longer exists. The objects they recorded stay: they
// describe what really was created.
func (s *SQLiteStore) recoverInProgress(ctx context.Context) error {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM versions WHERE status = ?`,
		string(VersionInProgress)).Scan(&n); err != nil || n == 0 {
		return s.classify(err)
	}
	return s.writeTx(ctx, func(c *sql.Conn) error {
		h, err := readLock(ctx, c)
		if err != nil {
			return err
		}
		if h != nil && !s.holderGone(h) {
			return nil // a live writer, or one we cannot check
		}
		_, err = c.ExecContext(ctx, `UPDATE versions SET status = ? WHERE status = ?`,
			string(VersionPartial), string(VersionInProgress))
		return err
	})
}
