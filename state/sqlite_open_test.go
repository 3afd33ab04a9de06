package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestOpenCreates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a b", "c?d#e%20", "state.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	lineage := s.Lineage()
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(lineage) {
		t.Errorf("lineage %q is not a UUID", lineage)
	}
	w := begin(t, s, "apply")
	put(t, w, mkObj("model.a", "1"))
	finish(t, w)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("files beside the database after Close: %v", ents)
	}

	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Lineage() != lineage {
		t.Errorf("lineage changed at reopen: %s -> %s", lineage, s.Lineage())
	}
	if got := values(snapshot(t, s, 0)); got["model.a"] != val("1") {
		t.Errorf("after reopen: %v", got)
	}
	var mode string
	if err := s.rdb.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v", mode, err)
	}
}

// Several processes (here goroutines) creating the same new state agree on
// one database and lineage.
func TestOpenConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	var wg sync.WaitGroup
	lineages := make([]string, 6)
	errs := make([]error, 6)
	for i := range lineages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenSQLite(context.Background(), path)
			if err != nil {
				errs[i] = err
				return
			}
			lineages[i] = s.Lineage()
			errs[i] = s.Close()
		}()
	}
	wg.Wait()
	for i := range lineages {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if lineages[i] != lineages[0] {
			t.Fatalf("lineages differ: %q", lineages)
		}
	}
}

func TestOpenNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, s, `UPDATE meta SET value = '5' WHERE key = 'schema_version'`)
	s.Close()
	_, err = OpenSQLite(ctx, path)
	var ne *NewerSchemaError
	if !errors.As(err, &ne) || ne.Schema != 5 || ne.Known != SchemaVersion {
		t.Fatalf("got %v", err)
	}
	want := fmt.Sprintf("state database %s was written by a newer llmops (schema 5, this build knows up to %d); upgrade llmops",
		path, SchemaVersion)
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
}

func TestOpenNotLLMOps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = OpenSQLite(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "not an llmops state database") {
		t.Fatalf("got %v", err)
	}
}

// writeState makes a state database with enough objects to span many
// pages, closes it and returns its path.
func writeState(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "state.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	w := begin(t, s, "apply")
	for i := range n {
		put(t, w, mkObj(fmt.Sprintf("null_value.r[%d]", i), strings.Repeat("x", 200)))
	}
	finish(t, w)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenCorrupt(t *testing.T) {
	garbage := []byte(strings.Repeat("this is not a database\n", 400))
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		detail string
	}{
		{"garbage file", func(t *testing.T, path string) { must(t, os.WriteFile(path, garbage, 0o600)) }, "not a SQLite database"},
		{"empty file", func(t *testing.T, path string) { must(t, os.WriteFile(path, nil, 0o600)) }, "empty"},
		{"short file", func(t *testing.T, path string) { must(t, os.WriteFile(path, []byte(sqliteHeader+"abc"), 0o600)) }, "bytes long"},
		{"truncated to half", func(t *testing.T, path string) {
			fi, err := os.Stat(writeState(t, filepath.Dir(path), 2000))
			must(t, err)
			must(t, os.Truncate(path, fi.Size()/2))
		}, ""},
		{"pages overwritten", func(t *testing.T, path string) {
			fi, err := os.Stat(writeState(t, filepath.Dir(path), 2000))
			must(t, err)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			must(t, err)
			_, err = f.WriteAt(garbage[:8192], fi.Size()/2/4096*4096)
			must(t, err)
			must(t, f.Close())
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			c.damage(t, path)
			s, err := OpenSQLite(context.Background(), path)
			if err == nil {
				s.Close()
				t.Fatal("opened a damaged database")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v, want *CorruptError", err, err)
			}
			if ce.Path != path || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupted") ||
				!strings.Contains(ce.Detail, c.detail) {
				t.Errorf("error %q (detail %q)", err, ce.Detail)
			}
			t.Log(err)
		})
	}
}

// execSQL runs q in a write transaction of s.
func execSQL(t *testing.T, s *SQLiteStore, q string, args ...any) {
	t.Helper()
	must(t, s.writeTx(context.Background(), func(c *sql.Conn) error {
		_, err := c.ExecContext(context.Background(), q, args...)
		return err
	}))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
