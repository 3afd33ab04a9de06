package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The PostgreSQL state lock is two things: the row of the locks table,
// which says who holds the lock (and is what Lock, Unlock and
// ForceUnlock take and remove), and a session advisory lock on a key of
// the holder's own (locks.session_key), held on a connection opened for
// the lock and kept for its life. PostgreSQL releases a session's advisory
// locks when its connection ends, whatever ended it: the holder exiting,
// being killed, its machine dying (once the server's TCP keepalives give
// up on it, within a minute: the connection asks for that). So a lock row
// whose key nobody holds belongs to a holder that is gone, on any machine,
// and the next Lock takes it over with a warning and a "lock.takeover"
// event, as SQLite does for a dead process of the same host.

// The lock connection commits asynchronously (synchronous_commit off):
// its lock row is worth no more than its advisory lock, which a crash of
// the server ends anyway. A row lost with the last moments before such a
// crash is a lock that was released, and a row that comes back after its
// deletion was lost is one whose key nobody holds, which the next Lock
// takes over; both are what the crash did to the holder's connection
// regardless. So taking and releasing the lock waits for no WAL flush,
// while every write to the state itself keeps the server's durability.
// (The rare takeover, which also records an event, commits synchronously.)

// pgxLockConn is the connection that keeps a held lock's advisory lock.
// While the lock has nothing to do, reads of the store borrow it (see
// readTx): a command that locks and then reads, such as plan, needs no
// second connection (each is a TLS handshake, an authentication and a
// server process to start: more CPU than the reads themselves).
type pgxLockConn struct {
	mu   sync.Mutex // held by whoever uses conn: the lock or a borrowing read
	conn *pgx.Conn
}

func (l *pgxLockConn) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}

// borrowLockConn returns, locked, the connection of a lock this store
// holds if nobody is using it, or nil.
func (s *PostgresStore) borrowLockConn() *pgxLockConn {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for _, l := range s.locks {
		if l.mu.TryLock() {
			if !l.conn.IsClosed() {
				return l
			}
			l.mu.Unlock()
		}
	}
	return nil
}

// lockConn takes a connection out of the pool to be the lock's own (the
// pool dials a replacement when it needs one). The server probes it with
// TCP keepalives so that the lock of a machine that vanished without
// closing its connection is released within about a minute, and no idle
// timeout of the server's may end it while the lock is held (through an
// approval prompt, say). Its application_name shows the holder in
// pg_stat_activity.
func (s *PostgresStore) lockConn(ctx context.Context, info LockInfo) (*pgx.Conn, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := c.Hijack()
	name := "llmops lock: " + info.Operation + " by " + info.Who
	if len(name) > 63 {
		name = name[:63]
	}
	_, err = conn.Exec(ctx, `SELECT set_config('application_name', $1, false),
		set_config('tcp_keepalives_idle', '20', false), set_config('tcp_keepalives_interval', '10', false),
		set_config('tcp_keepalives_count', '4', false), set_config('idle_session_timeout', '0', false),
		set_config('idle_in_transaction_session_timeout', '0', false),
		set_config('synchronous_commit', 'off', false)`, name)
	if err != nil {
		(&pgxLockConn{conn: conn}).close()
		return nil, err
	}
	return conn, nil
}

// Lock implements Store. Empty info.Host, info.PID and info.Who are filled
// with this host, this process and $USER@host; info.ID and info.Created
// are set by the store. When ctx ends while waiting, the error is still a
// *LockedError naming the holder.
func (s *PostgresStore) Lock(ctx context.Context, info LockInfo, timeout time.Duration) (string, string, error) {
	if s.closed.Load() {
		return "", "", errClosed
	}
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
	conn, err := s.lockConn(ctx, info)
	if err != nil {
		return "", "", fmt.Errorf("taking the state lock: %w", s.wrap(err))
	}
	held := false
	defer func() {
		if !held {
			(&pgxLockConn{conn: conn}).close()
		}
	}()
	deadline := time.Now().Add(timeout)
	var last *LockInfo
	for {
		id, warning, holder, err := s.tryLock(ctx, conn, info)
		if err != nil {
			if last != nil && ctx.Err() != nil {
				return "", "", &LockedError{Holder: *last}
			}
			return "", "", fmt.Errorf("taking the state lock: %w", s.wrap(err))
		}
		if holder == nil {
			s.lmu.Lock()
			s.locks[id] = &pgxLockConn{conn: conn}
			s.lmu.Unlock()
			held = true
			return id, warning, nil
		}
		last = holder
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

// tryLock takes the lock on conn if it is free or its holder is gone;
// otherwise it returns the holder.
func (s *PostgresStore) tryLock(ctx context.Context, conn *pgx.Conn, info LockInfo) (id, warning string, holder *LockInfo, err error) {
	id = newUUID()
	key := advisoryKey(s.schema + "\x00lock\x00" + id)
	// Most often the lock is free: one statement takes the advisory lock
	// of the new key and, having it, inserts the row.
	var got, taken bool
	err = conn.QueryRow(ctx, `WITH adv AS MATERIALIZED (SELECT pg_try_advisory_lock($8) AS got),
		ins AS (
			INSERT INTO locks (workspace, id, who, host, pid, operation, created_at, session_key)
			SELECT $1, $2, $3, $4, $5::integer, $6, $7::timestamptz, $8 FROM adv WHERE adv.got
			ON CONFLICT (workspace) DO NOTHING RETURNING 1)
		SELECT (SELECT got FROM adv), EXISTS (SELECT 1 FROM ins)`,
		s.workspace, id, info.Who, info.Host, info.PID, info.Operation, pgTime(time.Now()), key).Scan(&got, &taken)
	if err == nil && !got { // a 64-bit collision with a live lock: try another ID
		return s.tryLock(ctx, conn, info)
	}
	if err == nil && taken {
		return id, "", nil, nil
	}
	if err != nil && !retryable(err) {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
		return "", "", nil, err
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// A takeover records an event: this transaction is durable.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
			return err
		}
		h, err := s.readLock(ctx, tx)
		if err != nil {
			return err
		}
		if h != nil {
			gone, err := s.holderGoneOn(ctx, tx, h)
			if err != nil {
				return err
			}
			if !gone {
				holder = h
				return nil
			}
			if _, err := tx.Exec(ctx, `DELETE FROM locks WHERE workspace = $1 AND id = $2`, s.workspace, h.ID); err != nil {
				return err
			}
			warning = fmt.Sprintf("took over the state lock held by %s (pid %d on %s) for %q since %s: its connection to the database has ended (the process exited or was killed, or its machine is gone)",
				h.Who, h.PID, h.Host, h.Operation, h.Created.Format(time.RFC3339))
			data, _ := json.Marshal(h)
			if err := s.appendEvent(ctx, tx, Event{Kind: "lock.takeover", Message: warning, Data: data}); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO locks (workspace, id, who, host, pid, operation, created_at, session_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.workspace, id, info.Who, info.Host, info.PID, info.Operation, pgTime(time.Now()), key)
		return err
	})
	if err == nil && holder == nil {
		return id, warning, nil, nil
	}
	_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	if retryable(err) {
		// Another process inserted its row (or appended an event) at the
		// same time: look again.
		return s.tryLock(ctx, conn, info)
	}
	return "", "", holder, err
}

type pgQueryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readLock returns the workspace's lock row, or nil.
func (s *PostgresStore) readLock(ctx context.Context, q pgQueryRower) (*LockInfo, error) {
	var h LockInfo
	err := q.QueryRow(ctx, `SELECT id, who, host, pid, operation, created_at FROM locks WHERE workspace = $1`, s.workspace).
		Scan(&h.ID, &h.Who, &h.Host, &h.PID, &h.Operation, &h.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h.Created = h.Created.UTC()
	return &h, nil
}

// holderGone reports whether the holder of lock row h has lost its
// connection: nobody holds the advisory lock of its key.
func (s *PostgresStore) holderGone(ctx context.Context, h *LockInfo) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	return s.holderGoneOn(ctx, conn, h)
}

// holderGoneOn checks with a try-lock (given back at once) on the session
// of q: pg_locks would need no lock but shows other sessions' locks only
// to roles allowed to see them.
func (s *PostgresStore) holderGoneOn(ctx context.Context, q pgQueryRower, h *LockInfo) (bool, error) {
	var free bool
	err := q.QueryRow(ctx, `SELECT CASE WHEN pg_try_advisory_lock(session_key) THEN pg_advisory_unlock(session_key) ELSE false END
		FROM locks WHERE workspace = $1 AND id = $2`, s.workspace, h.ID).Scan(&free)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil // released meanwhile
	}
	return free, err
}

// Unlock implements Store: it removes the lock row and ends the lock's
// connection, releasing its advisory lock.
func (s *PostgresStore) Unlock(ctx context.Context, lockID string) error {
	return s.deleteLock(ctx, lockID)
}

// ForceUnlock implements Store: it removes the lock row with that ID
// whoever holds it. A live holder keeps its advisory lock, which only
// guards its own key: the next Lock gets a key of its own.
func (s *PostgresStore) ForceUnlock(ctx context.Context, lockID string) error {
	return s.deleteLock(ctx, lockID)
}

func (s *PostgresStore) deleteLock(ctx context.Context, lockID string) error {
	ctx = context.WithoutCancel(ctx) // an interrupted command still releases its lock
	s.lmu.Lock()
	l := s.locks[lockID]
	delete(s.locks, lockID)
	s.lmu.Unlock()
	if l != nil {
		defer l.close()
	}
	if s.closed.Load() {
		return errClosed
	}
	const del = `DELETE FROM locks WHERE workspace = $1 AND id = $2`
	var tag pgconn.CommandTag
	var err error
	if l != nil {
		// The lock's own connection (asynchronous commit, see above);
		// should it have failed, any other connection does.
		l.mu.Lock()
		tag, err = l.conn.Exec(ctx, del, s.workspace, lockID)
		l.mu.Unlock()
	}
	if l == nil || err != nil {
		tag, err = s.pool.Exec(ctx, del, s.workspace, lockID)
	}
	if err != nil {
		return s.wrap(err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotLocked
	}
	return nil
}

// CurrentLock implements Store.
func (s *PostgresStore) CurrentLock(ctx context.Context) (*LockInfo, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	h, err := s.readLock(ctx, s.pool)
	return h, s.wrap(err)
}
