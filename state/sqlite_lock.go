package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockPollInterval is how often Lock retries while another process holds
// the lock.
const lockPollInterval = 200 * time.Millisecond

// Lock implements Store. Empty info.Host, info.PID and info.Who are filled
// with this host, this process and $USER@host; info.ID and info.Created
// are set by the store. When ctx ends while waiting, the error is still a
// *LockedError naming the holder.
func (s *SQLiteStore) Lock(ctx context.Context, info LockInfo, timeout time.Duration) (string, string, error) {
	if info.Host == "" {
		info.Host = s.host
	}
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	if info.Who == "" {
		u := os.Getenv("USER")
		if u == "" {
			u = "unknown"
		}
		info.Who = u + "@" + info.Host
	}
	deadline := time.Now().Add(timeout)
	var last *LockInfo
	for {
		id, warning, holder, err := s.tryLock(ctx, info)
		if err != nil {
			if last != nil && ctx.Err() != nil {
				return "", "", &LockedError{Holder: *last}
			}
			return "", "", fmt.Errorf("taking the state lock: %w", err)
		}
		last = holder
		if holder == nil {
			return id, warning, nil
		}
		wait := time.Until(deadline)
		if timeout <= 0 || wait <= 0 {
			return "", "", &LockedError{Holder: *holder}
		}
		t := time.NewTimer(min(wait, lockPollInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", "", &LockedError{Holder: *holder}
		case <-t.C:
		}
	}
}

// tryLock takes the lock if it is free or its holder is gone; otherwise it
// returns the holder.
func (s *SQLiteStore) tryLock(ctx context.Context, info LockInfo) (id, warning string, holder *LockInfo, err error) {
	err = s.writeTx(ctx, func(c *sql.Conn) error {
		h, err := readLock(ctx, c)
		if err != nil {
			return err
		}
		if h != nil {
			if !s.holderGone(h) {
				holder = h
				return nil
			}
			if _, err := c.ExecContext(ctx, `DELETE FROM lock`); err != nil {
				return err
			}
			warning = fmt.Sprintf("took over the state lock held by %s (pid %d on %s) for %q since %s: that process no longer exists",
				h.Who, h.PID, h.Host, h.Operation, h.Created.Format(time.RFC3339))
			data, _ := json.Marshal(h)
			if err := appendEvent(ctx, c, Event{Kind: "lock.takeover", Message: warning, Data: data}); err != nil {
				return err
			}
		}
		id = newUUID()
		_, err = c.ExecContext(ctx, `INSERT INTO lock (one, id, who, host, pid, operation, created_at)
			VALUES (1, ?, ?, ?, ?, ?, ?)`, id, info.Who, info.Host, info.PID, info.Operation, fmtTime(time.Now()))
		return err
	})
	if err != nil {
		return "", "", nil, err
	}
	if holder != nil {
		return "", "", holder, nil
	}
	return id, warning, nil, nil
}

// holderGone reports whether the lock holder was a process of this host
// that has exited. A holder on another host is never known to be gone.
func (s *SQLiteStore) holderGone(h *LockInfo) bool {
	return h.Host != "" && h.Host == s.host && h.PID > 0 && h.PID != os.Getpid() && processGone(h.PID)
}

type queryRower interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func readLock(ctx context.Context, q queryRower) (*LockInfo, error) {
	var h LockInfo
	var created string
	err := q.QueryRowContext(ctx, `SELECT id, who, host, pid, operation, created_at FROM lock`).
		Scan(&h.ID, &h.Who, &h.Host, &h.PID, &h.Operation, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h.Created = parseTime(created)
	return &h, nil
}

// Unlock implements Store.
func (s *SQLiteStore) Unlock(ctx context.Context, lockID string) error {
	return s.deleteLock(ctx, lockID)
}

// ForceUnlock implements Store: it removes the lock with that ID whoever
// holds it, alive or not. The ID must match, so a lock taken since the
// holder was looked at is left alone.
func (s *SQLiteStore) ForceUnlock(ctx context.Context, lockID string) error {
	return s.deleteLock(ctx, lockID)
}

func (s *SQLiteStore) deleteLock(ctx context.Context, lockID string) error {
	ctx = context.WithoutCancel(ctx) // an interrupted command still releases its lock
	return s.writeTx(ctx, func(c *sql.Conn) error {
		res, err := c.ExecContext(ctx, `DELETE FROM lock WHERE id = ?`, lockID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotLocked
		}
		return nil
	})
}

// CurrentLock implements Store.
func (s *SQLiteStore) CurrentLock(ctx context.Context) (*LockInfo, error) {
	h, err := readLock(ctx, s.rdb)
	return h, s.classify(err)
}

// AppendEvent implements Store. A zero ev.Time means now; ev.ID is set by
// the store.
func (s *SQLiteStore) AppendEvent(ctx context.Context, ev Event) error {
	return s.writeTx(ctx, func(c *sql.Conn) error { return appendEvent(ctx, c, ev) })
}

func appendEvent(ctx context.Context, c *sql.Conn, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Kind == "" {
		return errors.New("an event needs a kind")
	}
	_, err := c.ExecContext(ctx, `INSERT INTO events (time, kind, addr, message, data) VALUES (?, ?, ?, ?, ?)`,
		fmtTime(ev.Time), ev.Kind, ev.Addr, ev.Message, ev.Data)
	return err
}

// Events implements Store.
func (s *SQLiteStore) Events(ctx context.Context, limit int) ([]Event, error) {
	q := `SELECT id, time, kind, addr, message, data FROM events ORDER BY id`
	var args []any
	if limit > 0 {
		q = `SELECT * FROM (SELECT id, time, kind, addr, message, data FROM events ORDER BY id DESC LIMIT ?) ORDER BY id`
		args = append(args, limit)
	}
	return s.queryEvents(ctx, q, args...)
}

// EventsOfKind implements Store.
func (s *SQLiteStore) EventsOfKind(ctx context.Context, kinds ...string) ([]Event, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = k
	}
	q := `SELECT id, time, kind, addr, message, data FROM events WHERE kind IN (` + placeholders(len(kinds)) + `) ORDER BY id`
	return s.queryEvents(ctx, q, args...)
}

func (s *SQLiteStore) queryEvents(ctx context.Context, q string, args ...any) ([]Event, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var ev Event
		var t string
		if err := rows.Scan(&ev.ID, &t, &ev.Kind, &ev.Addr, &ev.Message, &ev.Data); err != nil {
			return nil, s.classify(err)
		}
		ev.Time = parseTime(t)
		evs = append(evs, ev)
	}
	return evs, s.classify(rows.Err())
}

// Backup implements Store with VACUUM INTO: a consistent, compacted copy
// made while writers go on. path must not exist; its directory is created
// (0700). The copy is made in a temporary file (mode 0600) beside path and
// renamed into place complete, so an interrupted backup leaves neither a
// half-made backup nor its journal; leftovers of one that was killed are
// removed.
func (s *SQLiteStore) Backup(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("backup %s: the file already exists", abs)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	removeBackupLeftovers(dir)
	f, err := os.CreateTemp(dir, backupTempPrefix+"*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	cleanup := func() {
		_ = os.Remove(tmp)
		_ = os.Remove(tmp + "-journal")
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return fmt.Errorf("backup: %w", err)
	}
	// VACUUM INTO writes into an empty file, which keeps its mode.
	if _, err := s.rdb.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		cleanup()
		return fmt.Errorf("backup of %s to %s: %w", s.path, abs, s.classify(err))
	}
	if f, err = os.OpenFile(tmp, os.O_RDWR, 0); err != nil {
		cleanup()
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, abs)
	}
	cleanup()
	syncDir(dir)
	return err
}

// backupTempPrefix names a backup being made.
const backupTempPrefix = ".backup-"

// removeBackupLeftovers removes what a backup killed midway left in dir:
// its temporary file and any SQLite journal (a backup is only ever made
// under the state lock, so none is in progress).
func removeBackupLeftovers(dir string) {
	for _, pat := range []string{backupTempPrefix + "*", "*-journal"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range matches {
			_ = os.Remove(p)
		}
	}
}
