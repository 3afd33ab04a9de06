package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer is the PostgreSQL server the llmops runs with the postgres
// backend use: $BENCH_POSTGRES_URL, or one the bench starts with
// scripts/postgres-test-env.sh and stops at the end, with the durability
// of a real server (fsync on, synchronous_commit on).
type pgServer struct {
	url   string
	about string // version and durability settings, for the report
	stop  func()
}

// startPostgres returns the server, or nil when BENCH_POSTGRES=none or
// none can be started (the PostgreSQL columns stay empty).
func startPostgres() *pgServer {
	if os.Getenv("BENCH_POSTGRES") == "none" {
		fmt.Println("PostgreSQL: skipped (BENCH_POSTGRES=none).")
		return nil
	}
	s := &pgServer{url: os.Getenv("BENCH_POSTGRES_URL"), stop: func() {}}
	if s.url == "" {
		home, err := os.MkdirTemp("", "llmops-bench-pg-home-")
		if err != nil {
			fatalf("%v", err)
		}
		link := filepath.Join(home, "instance")
		script, _ := filepath.Abs(filepath.Join("scripts", "postgres-test-env.sh"))
		cmd := exec.Command("bash", script, "start")
		cmd.Env = append(os.Environ(), "LLMOPS_TEST_POSTGRES_HOME="+link, "LLMOPS_POSTGRES_FSYNC=on")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			os.RemoveAll(home)
			fmt.Fprintf(os.Stderr, "bench: could not start PostgreSQL (%v): the PostgreSQL columns stay empty; set BENCH_POSTGRES_URL to use a running server\n", err)
			return nil
		}
		env := parseExports(string(out))
		s.url = env["LLMOPS_TEST_POSTGRES_URL"]
		dir := env["LLMOPS_TEST_POSTGRES_DIR"]
		s.stop = func() {
			stop := exec.Command("bash", script, "stop", dir)
			stop.Env = append(os.Environ(), "LLMOPS_TEST_POSTGRES_HOME="+link)
			_ = stop.Run()
			os.RemoveAll(home)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		s.stop()
		fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	var version, fsync, sync string
	var ssl bool
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit'),
		coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)`).Scan(&version, &fsync, &sync, &ssl)
	if err != nil {
		s.stop()
		fatalf("reading the PostgreSQL settings: %v", err)
	}
	s.about = fmt.Sprintf("PostgreSQL %s at %s (fsync=%s, synchronous_commit=%s, TLS=%v)", version, conn.Config().Host, fsync, sync, ssl)
	fmt.Println(s.about)
	return s
}

// dropSchema removes a schema the bench made.
func (s *pgServer) dropSchema(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: dropping schema %s: %v\n", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
		fmt.Fprintf(os.Stderr, "bench: dropping schema %s: %v\n", name, err)
	}
}

// backendBlock is the llmops block that keeps the state in schema.
func backendBlock(schema string) string {
	return "llmops {\n  backend \"postgres\" {\n    schema = \"" + schema + "\"\n  }\n}\n\n"
}

// parseExports reads `export NAME='value' ...` lines.
func parseExports(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export "))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, kv := range strings.Fields(line) { // the values printed have no spaces
			if k, v, ok := strings.Cut(kv, "="); ok {
				out[k] = strings.Trim(v, `'"`)
			}
		}
	}
	return out
}
