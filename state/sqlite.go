package state

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// SQLiteStore is the SQLite implementation of Store: one database file in
// WAL mode. All writes go through one connection guarded by a mutex;
// reads use a small pool of their own and never wait for writers.
type SQLiteStore struct {
	path    string
	lineage string
	host    string

	wmu   sync.Mutex // serialises writes in this process
	wdb   *sql.DB    // the writer's pool: one connection
	wconn *sql.Conn  // that connection, held while the store is open
	rdb   *sql.DB    // readers

	st stmts

	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*SQLiteStore)(nil)

// busyTimeoutMS is how long a statement waits for another process's write
// transaction before failing with SQLITE_BUSY.
const busyTimeoutMS = 10000

const sqliteHeader = "SQLite format 3\x00"

// OpenSQLite opens the state database at path, creating it (and its parent
// directory) if it does not exist. A damaged file is refused with a
// *CorruptError, one written by a newer llmops with a *NewerSchemaError.
// Versions left in progress by a writer that is gone are marked partial.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("creating the state directory: %w", err)
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		if err := createSQLite(ctx, abs); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if err := checkHeader(abs); err != nil {
		return nil, err
	}

	s := &SQLiteStore{path: abs}
	s.host, _ = os.Hostname()
	ok := false
	defer func() {
		if !ok {
			s.closeDBs()
		}
	}()
	if s.wdb, err = sql.Open("sqlite3", dsn(abs, true)); err != nil {
		return nil, err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	// Check the file before changing anything in it.
	if err := s.quickCheck(ctx); err != nil {
		return nil, err
	}
	var mode string
	if err := s.wdb.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode); err != nil {
		return nil, s.classify(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("state database %s: cannot use WAL journal mode (got %q)", abs, mode)
	}
	if err := migrate(ctx, s.wdb, abs, false); err != nil {
		return nil, s.classify(err)
	}
	if err := s.wdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'lineage'`).Scan(&s.lineage); err != nil {
		return nil, fmt.Errorf("state database %s has no lineage: %w", abs, s.classify(err))
	}

	if s.rdb, err = sql.Open("sqlite3", dsn(abs, false)); err != nil {
		return nil, err
	}
	s.rdb.SetMaxOpenConns(4)
	s.rdb.SetMaxIdleConns(4)

	if s.wconn, err = s.wdb.Conn(ctx); err != nil {
		return nil, s.classify(err)
	}
	if err := s.st.prepare(ctx, s.wconn); err != nil {
		return nil, s.classify(err)
	}
	if err := s.recoverInProgress(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// dsn builds the go-sqlite3 connection string. The path is given as a
// file: URI so that any character in it is taken literally.
func dsn(abs string, writer bool) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	// _mutex=no: database/sql never uses one connection from two
	// goroutines at once, so SQLite's per-call connection mutex is only
	// overhead (a tenth of a snapshot's time).
	q := fmt.Sprintf("_busy_timeout=%d&_synchronous=NORMAL&_foreign_keys=1&_mutex=no", busyTimeoutMS)
	if writer {
		q += "&_txlock=immediate"
	}
	return "file:" + u.EscapedPath() + "?" + q
}

// createSQLite creates a new state database at abs. It is built in a
// temporary file beside abs and linked into place only once its schema is
// complete, so a crash never leaves a half-made database at abs, and two
// processes creating the same state concurrently agree on one lineage.
func createSQLite(ctx context.Context, abs string) error {
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".new-*")
	if err != nil {
		return fmt.Errorf("creating the state database: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// The schema is written with the default rollback journal and
	// synchronous=FULL: the file is complete and on disk when the last
	// commit returns.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(tmp)}
	db, err := sql.Open("sqlite3", "file:"+u.EscapedPath()+"?_txlock=immediate&_synchronous=FULL")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	err = migrate(ctx, db, abs, true)
	if err == nil {
		// Switch to WAL here, before the file is visible: the switch needs
		// the database to itself, and on a file that others are already
		// opening it fails at once with "database is locked" (SQLite does
		// not wait on its busy handler for it). The mode is kept in the
		// file, so OpenSQLite's own switch finds it done.
		var mode string
		if err = db.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode); err == nil && !strings.EqualFold(mode, "wal") {
			err = fmt.Errorf("cannot use WAL journal mode (got %q)", mode)
		}
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("creating the state database %s: %w", abs, err)
	}
	if err := os.Link(tmp, abs); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil // another process created it first: use theirs
		}
		// A file system without hard links: rename instead.
		if err := os.Rename(tmp, abs); err != nil {
			return fmt.Errorf("creating the state database: %w", err)
		}
	}
	syncDir(filepath.Dir(abs))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// checkHeader refuses a file that is not a SQLite database at all.
func checkHeader(abs string) error {
	f, err := os.Open(abs)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return &CorruptError{Path: abs, Detail: "the file is empty"}
	case err == io.ErrUnexpectedEOF || n < len(hdr):
		return &CorruptError{Path: abs, Detail: fmt.Sprintf("the file is only %d bytes long, shorter than a SQLite header", n)}
	case err != nil:
		return err
	case !bytes.HasPrefix(hdr, []byte(sqliteHeader)):
		return &CorruptError{Path: abs, Detail: "the file is not a SQLite database"}
	}
	return nil
}

// quickCheck runs PRAGMA quick_check and turns any complaint into a
// *CorruptError.
func (s *SQLiteStore) quickCheck(ctx context.Context) error {
	rows, err := s.wdb.QueryContext(ctx, `PRAGMA quick_check(20)`)
	if err != nil {
		return s.classify(err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return s.classify(err)
		}
		if m != "ok" {
			msgs = append(msgs, m)
		}
	}
	if err := rows.Err(); err != nil {
		return s.classify(err)
	}
	if len(msgs) > 0 {
		return &CorruptError{Path: s.path, Detail: "integrity check failed: " + strings.Join(msgs, "; ")}
	}
	return nil
}

// classify turns SQLite's corruption errors into a *CorruptError.
func (s *SQLiteStore) classify(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB) {
		return &CorruptError{Path: s.path, Detail: se.Error()}
	}
	return err
}

// Path is the database file.
func (s *SQLiteStore) Path() string { return s.path }

// Lineage implements Store.
func (s *SQLiteStore) Lineage() string { return s.lineage }

// Close implements Store. Writers of this store fail after it.
func (s *SQLiteStore) Close() error {
	s.closeOnce.Do(func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

func (s *SQLiteStore) closeDBs() error {
	s.st.close()
	var errs []error
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
		s.wconn = nil
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
