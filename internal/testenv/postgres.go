package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// HowToRunPostgres says how to give the tests a PostgreSQL server.
const HowToRunPostgres = "the PostgreSQL tests need a server: eval \"$(scripts/postgres-test-env.sh start)\" (then go test), " +
	"or set LLMOPS_TEST_POSTGRES_URL to a postgres:// URL of a database where the role may create schemas (docs/backends.md)"

// PostgresURL returns the URL of the test PostgreSQL server:
// $LLMOPS_TEST_POSTGRES_URL, or that of the instance started by
// scripts/postgres-test-env.sh (found through its env file). Without one
// it skips t saying how to run it; with LLMOPS_REQUIRE_SERVICES=1 it
// fails t instead.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("LLMOPS_TEST_POSTGRES_URL")
	if url == "" {
		home := os.Getenv("LLMOPS_TEST_POSTGRES_HOME")
		if home == "" {
			home = "/tmp/llmops-postgres-test"
		}
		url = readEnvFile(filepath.Join(home, "env.sh"))["LLMOPS_TEST_POSTGRES_URL"]
	}
	if url == "" {
		if os.Getenv("LLMOPS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("LLMOPS_REQUIRE_SERVICES=1 and no PostgreSQL test server: %s", HowToRunPostgres)
		}
		t.Skip("skipped: " + HowToRunPostgres)
	}
	return url
}

// PostgresSchema returns the name of a schema of the test server that
// does not exist yet, for t alone, and drops it (with all it holds) when
// t ends: tests that each use their own schema run in parallel and leave
// nothing behind.
func PostgresSchema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "llmops_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { DropPostgresSchema(t, url, name) })
	return name
}

// DropPostgresSchema drops a schema of the test server and what it holds.
func DropPostgresSchema(t testing.TB, url, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("dropping the test schema %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
		t.Errorf("dropping the test schema %s: %v", name, err)
	}
}

// PostgresEnv is the environment that points libpq (and llmops) at the
// test server: DATABASE_URL.
func PostgresEnv(url string) []string {
	return []string{"DATABASE_URL=" + url}
}

// readEnvFile reads the `export NAME='value'` lines of a service's env.sh.
func readEnvFile(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, kv := range splitExports(strings.TrimPrefix(line, "export ")) {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				out[k] = strings.Trim(v, `'"`)
			}
		}
	}
	return out
}

// splitExports splits `A='x' B='y z'` at the spaces outside quotes.
func splitExports(s string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '\'' || r == '"'):
			quote = r
		case quote == 0 && r == ' ':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
