package state

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmops/llmops/internal/testenv"
)

// testBackend is one implementation of Store under test: the suite runs
// every test written as func(t, b) against each of them.
type testBackend struct {
	name string
	// fresh makes a new, empty state for t (removed when t ends) and
	// returns where it is, for open.
	fresh func(t testing.TB) string
	// open opens the state at loc, as another process would.
	open func(ctx context.Context, loc string) (Store, error)
	// fakeLock writes a lock row as a process of h.Host would have; live
	// says whether that process still holds the lock (for PostgreSQL: its
	// connection still holds the advisory lock).
	fakeLock func(t *testing.T, s Store, h LockInfo, live bool)
	// takeover is what a lock takeover's warning says of the holder.
	takeover string
}

var sqliteBackend = &testBackend{
	name: "sqlite",
	fresh: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "sub", "state.db")
	},
	open: func(ctx context.Context, loc string) (Store, error) { return OpenSQLite(ctx, loc) },
	fakeLock: func(t *testing.T, s Store, h LockInfo, live bool) {
		t.Helper()
		execSQL(t, s.(*SQLiteStore), `INSERT INTO lock (one, id, who, host, pid, operation, created_at) VALUES (1, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.Who, h.Host, h.PID, h.Operation, fmtTime(h.Created))
	},
	takeover: "no longer exists",
}

// postgresURL is the test server's URL, set by the first test that needs it.
var postgresBackend = &testBackend{
	name: "postgres",
	fresh: func(t testing.TB) string {
		t.Helper()
		url := testenv.PostgresURL(t)
		schema := testenv.PostgresSchema(t, url)
		s, err := OpenPostgres(context.Background(), PostgresOptions{ConnString: url, Schema: schema, Create: true})
		if err != nil {
			t.Fatal(err)
		}
		must(t, s.Close())
		return url + "\n" + schema
	},
	open: func(ctx context.Context, loc string) (Store, error) {
		url, schema, _ := strings.Cut(loc, "\n")
		return OpenPostgres(ctx, PostgresOptions{ConnString: url, Schema: schema})
	},
	fakeLock: func(t *testing.T, st Store, h LockInfo, live bool) {
		t.Helper()
		s := st.(*PostgresStore)
		ctx := context.Background()
		key := advisoryKey(s.schema + "\x00lock\x00" + h.ID)
		if live {
			conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
			must(t, err)
			t.Cleanup(func() { conn.Close(context.Background()) })
			_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
			must(t, err)
		}
		_, err := s.pool.Exec(ctx, `INSERT INTO locks (workspace, id, who, host, pid, operation, created_at, session_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.workspace, h.ID, h.Who, h.Host, h.PID, h.Operation, h.Created, key)
		must(t, err)
	},
	takeover: "connection to the database has ended",
}

var backends = []*testBackend{sqliteBackend, postgresBackend}

// forEachBackend runs fn as a subtest for each backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b *testBackend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// benchEachBackend runs fn as a sub-benchmark for each backend.
func benchEachBackend(b *testing.B, fn func(b *testing.B, be *testBackend)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { fn(b, be) })
	}
}

// openNew opens a new, empty state of backend b for t, closed when t ends.
func (b *testBackend) openNew(t testing.TB) Store {
	t.Helper()
	return b.openAt(t, b.fresh(t))
}

// openAt opens the state at loc for t, closed when t ends.
func (b *testBackend) openAt(t testing.TB, loc string) Store {
	t.Helper()
	s, err := b.open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// crashLocator is what the crash helper process is given to open: the
// backend's name and the location.
func crashLocator(b *testBackend, loc string) string { return b.name + "\n" + loc }

func backendFromLocator(s string) (*testBackend, string, error) {
	name, loc, _ := strings.Cut(s, "\n")
	for _, b := range backends {
		if b.name == name {
			return b, loc, nil
		}
	}
	return nil, "", fmt.Errorf("no backend %q", name)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
