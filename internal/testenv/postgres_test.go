package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// The tests find a developer's running server through its env.sh, whose
// values are single-quoted and may share a line.
func TestPostgresURLFromEnvFile(t *testing.T) {
	home := t.TempDir()
	env := "# the llmops PostgreSQL test server\n" +
		"export LLMOPS_TEST_POSTGRES_URL='postgres://llmops:pw@127.0.0.1:5555/llmops?sslmode=verify-full&sslrootcert=/x/ca.crt'\n" +
		"export PGHOST='127.0.0.1' PGPORT='5555'\n"
	if err := os.WriteFile(filepath.Join(home, "env.sh"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LLMOPS_TEST_POSTGRES_URL", "")
	t.Setenv("LLMOPS_TEST_POSTGRES_HOME", home)
	if got := PostgresURL(t); got != "postgres://llmops:pw@127.0.0.1:5555/llmops?sslmode=verify-full&sslrootcert=/x/ca.crt" {
		t.Fatalf("got %q", got)
	}
	if vars := readEnvFile(filepath.Join(home, "env.sh")); vars["PGPORT"] != "5555" || vars["PGHOST"] != "127.0.0.1" {
		t.Fatalf("got %v", vars)
	}
}
