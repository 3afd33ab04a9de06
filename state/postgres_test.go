package state

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmops/llmops/internal/testenv"
)

// pgTestSchema returns the test server's URL and a schema name of t's own.
func pgTestSchema(t *testing.T) (string, string) {
	t.Helper()
	u := testenv.PostgresURL(t)
	return u, testenv.PostgresSchema(t, u)
}

// Without llmops init, a schema that does not exist is refused with what
// to do; init creates it once, and a second init has nothing to do.
func TestPostgresNeedsInit(t *testing.T) {
	ctx := context.Background()
	u, schema := pgTestSchema(t)
	_, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema})
	var ne *NeedsInitError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "llmops init") || !strings.Contains(err.Error(), schema) ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("open before init: %v", err)
	}
	for i, wantFrom := range []int{0, SchemaVersionPostgres} {
		s, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Create: true})
		must(t, err)
		if s.MigratedFrom() != wantFrom {
			t.Errorf("init %d: migrated from %d, want %d", i+1, s.MigratedFrom(), wantFrom)
		}
		s.Close()
	}
	s, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema})
	must(t, err)
	defer s.Close()
	// Another workspace of the schema is a state of its own, made by init.
	_, err = OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Workspace: "staging"})
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), `no workspace "staging"`) {
		t.Fatalf("open of a missing workspace: %v", err)
	}
	st, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Workspace: "staging", Create: true})
	must(t, err)
	defer st.Close()
	if st.Lineage() == s.Lineage() {
		t.Error("two workspaces share a lineage")
	}
	finish(t, begin(t, st, "apply"))
	if n, _ := s.LatestSerial(ctx); n != 0 {
		t.Errorf("the default workspace sees staging's version: serial %d", n)
	}
}

func TestPostgresNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	u, schema := pgTestSchema(t)
	s, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Create: true})
	must(t, err)
	_, err = s.pool.Exec(ctx, `UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
	must(t, err)
	s.Close()
	for _, create := range []bool{false, true} {
		_, err = OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Create: create})
		var ne *NewerSchemaError
		if !errors.As(err, &ne) || ne.Schema != 99 || ne.Known != SchemaVersionPostgres || !strings.Contains(err.Error(), "upgrade llmops") {
			t.Fatalf("create=%v: %v", create, err)
		}
	}
}

// A schema holding other tables is not taken for a state.
func TestPostgresForeignSchemaRefused(t *testing.T) {
	ctx := context.Background()
	u, schema := pgTestSchema(t)
	s, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Create: true})
	must(t, err)
	other := testenv.PostgresSchema(t, u)
	_, err = s.pool.Exec(ctx, `CREATE SCHEMA `+other+`; CREATE TABLE `+other+`.customers (id int)`)
	must(t, err)
	s.Close()
	_, err = OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: other, Create: true})
	if err == nil || !strings.Contains(err.Error(), "not an llmops state") {
		t.Fatalf("got %v", err)
	}
}

// Several inits at once (machines of a team) agree on one schema and lineage.
func TestPostgresConcurrentInit(t *testing.T) {
	u, schema := pgTestSchema(t)
	var wg sync.WaitGroup
	lineages := make([]string, 5)
	errs := make([]error, 5)
	for i := range lineages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(context.Background(), PostgresOptions{ConnString: u, Schema: schema, Create: true})
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
		must(t, errs[i])
		if lineages[i] != lineages[0] {
			t.Fatalf("lineages differ: %q", lineages)
		}
	}
}

func TestPostgresSchemaNames(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"llmops_support_bot", true}, {"_x1", true}, {strings.Repeat("a", 63), true},
		{"", false}, {"Upper", false}, {"1abc", false}, {"a-b", false}, {`a"b`, false}, {"a b", false},
		{strings.Repeat("a", 64), false}, {"pg_state", false}, {"public", false},
	} {
		if err := CheckPostgresSchemaName(c.name); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.name, err)
		}
	}
	if _, err := OpenPostgres(context.Background(), PostgresOptions{Schema: "x; DROP TABLE y"}); err == nil || !strings.Contains(err.Error(), "invalid schema name") {
		t.Errorf("open with a bad schema name: %v", err)
	}
}

// The connection comes from the libpq environment when no connection
// string is given: DATABASE_URL, or PGHOST, PGUSER, PGPASSWORD, ...
func TestPostgresConnectionFromEnvironment(t *testing.T) {
	ctx := context.Background()
	u, schema := pgTestSchema(t)
	pu, err := url.Parse(u)
	must(t, err)
	pass, _ := pu.User.Password()
	t.Run("DATABASE_URL", func(t *testing.T) {
		t.Setenv("DATABASE_URL", u)
		s, err := OpenPostgres(ctx, PostgresOptions{Schema: schema, Create: true})
		must(t, err)
		s.Close()
	})
	t.Run("PG variables", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "")
		for k, v := range map[string]string{
			"PGHOST": pu.Hostname(), "PGPORT": pu.Port(), "PGUSER": pu.User.Username(), "PGPASSWORD": pass,
			"PGDATABASE": strings.TrimPrefix(pu.Path, "/"), "PGSSLMODE": pu.Query().Get("sslmode"),
			"PGSSLROOTCERT": pu.Query().Get("sslrootcert"),
		} {
			t.Setenv(k, v)
		}
		s, err := OpenPostgres(ctx, PostgresOptions{Schema: schema})
		must(t, err)
		s.Close()
	})
}

// TLS settings of the connection are honoured: the test server takes
// only TLS connections, a certificate from another CA is refused, and no
// error ever shows the password.
func TestPostgresTLSAndSecrets(t *testing.T) {
	ctx := context.Background()
	u, schema := pgTestSchema(t)
	s, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Create: true})
	must(t, err)
	var ssl bool
	must(t, s.pool.QueryRow(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl))
	s.Close()
	pu, err := url.Parse(u)
	must(t, err)
	pass, _ := pu.User.Password()
	if !ssl && pu.Query().Get("sslmode") == "verify-full" {
		t.Error("sslmode=verify-full, and the connection does not use TLS")
	}

	otherCA := filepath.Join(t.TempDir(), "other-ca.crt")
	writeSelfSignedCA(t, otherCA)
	wrongCA := *pu
	q := wrongCA.Query()
	q.Set("sslrootcert", otherCA)
	q.Set("sslmode", "verify-full")
	wrongCA.RawQuery = q.Encode()
	wrongPass := *pu
	wrongPass.User = url.UserPassword(pu.User.Username(), "not-"+pass)
	for _, c := range []struct {
		name, conn, want string
	}{
		{"certificate of another CA", wrongCA.String(), "certificate"},
		{"wrong password", wrongPass.String(), "password authentication failed"},
		{"malformed URL", "postgres://llmops:" + pass + "@127.0.0.1:notaport/x", "not a valid"},
		{"malformed key/value", "host=127.0.0.1 password=" + pass + " port=notaport", "not a valid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			s, err := OpenPostgres(cctx, PostgresOptions{ConnString: c.conn, Schema: schema})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
			if pass != "" && strings.Contains(err.Error(), pass) {
				t.Errorf("the error shows the password: %q", err)
			}
		})
	}
}

func writeSelfSignedCA(t *testing.T, path string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the server's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
}

// The lock of one machine blocks the others, names its holder, can be
// forced away, and dies with its holder's connection: a holder that is
// gone (here: a store closed without unlocking, as a killed process
// leaves it) is taken over with a warning, whatever host it ran on.
func TestPostgresLockAcrossMachines(t *testing.T) {
	ctx := context.Background()
	loc := postgresBackend.fresh(t)
	a := postgresBackend.openAt(t, loc)
	b := postgresBackend.openAt(t, loc)
	idA, _, err := a.Lock(ctx, LockInfo{Who: "ann@laptop", Host: "laptop", PID: 4242, Operation: "apply"}, 0)
	must(t, err)
	_, _, err = b.Lock(ctx, LockInfo{Who: "ci@runner", Host: "runner", Operation: "apply"}, 300*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.Who != "ann@laptop" || le.Holder.Host != "laptop" || le.Holder.ID != idA {
		t.Fatalf("b's Lock: %v", err)
	}
	must(t, b.ForceUnlock(ctx, idA))
	idB, warning, err := b.Lock(ctx, LockInfo{Who: "ci@runner", Host: "runner", Operation: "apply"}, 0)
	if err != nil || warning != "" {
		t.Fatalf("Lock after force-unlock: %q %v", warning, err)
	}
	if err := a.Unlock(ctx, idA); !errors.Is(err, ErrNotLocked) {
		t.Errorf("Unlock of a forced lock: %v", err)
	}
	must(t, b.Unlock(ctx, idB))

	// The holder goes away without unlocking.
	c := postgresBackend.openAt(t, loc)
	_, _, err = c.Lock(ctx, LockInfo{Who: "bob@desk", Host: "desk", PID: 99, Operation: "apply"}, 0)
	must(t, err)
	if _, _, err := b.Lock(ctx, LockInfo{Operation: "plan"}, 0); !errors.As(err, &le) || le.Holder.Who != "bob@desk" {
		t.Fatalf("Lock while bob holds it: %v", err)
	}
	must(t, c.Close())
	var id string
	waitFor(t, "the lock of a closed connection to be taken over", 10*time.Second, func() bool {
		id, warning, err = b.Lock(ctx, LockInfo{Operation: "plan"}, 0)
		return err == nil
	})
	if !strings.Contains(warning, "bob@desk (pid 99 on desk)") || !strings.Contains(warning, "connection to the database has ended") {
		t.Errorf("warning %q", warning)
	}
	if evs, _ := b.Events(ctx, 0); len(evs) != 1 || evs[0].Kind != "lock.takeover" {
		t.Errorf("events %+v", evs)
	}
	must(t, b.Unlock(ctx, id))
}

// Workspaces of one schema are listed, and deleting one removes its
// versions and objects and leaves the others alone.
func TestPostgresWorkspaces(t *testing.T) {
	u, schema := pgTestSchema(t)
	ctx := context.Background()
	open := func(ws string) *PostgresStore {
		t.Helper()
		st, err := OpenPostgres(ctx, PostgresOptions{ConnString: u, Schema: schema, Workspace: ws, Create: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	def, staging := open(""), open("staging")
	for _, st := range []Store{def, staging} {
		w := begin(t, st, "apply")
		put(t, w, mkObj("null_value.a", "a"))
		finish(t, w)
	}
	names, err := def.Workspaces(ctx)
	if err != nil || strings.Join(names, ",") != "default,staging" {
		t.Fatalf("Workspaces = %v, %v", names, err)
	}
	if err := def.DeleteWorkspace(ctx, "default"); err == nil {
		t.Error("deleting the store's own workspace was allowed")
	}
	if err := def.DeleteWorkspace(ctx, "prod"); err == nil || !strings.Contains(err.Error(), `no workspace "prod"`) {
		t.Errorf("deleting a workspace that does not exist: %v", err)
	}
	staging.Close()
	if err := def.DeleteWorkspace(ctx, "staging"); err != nil {
		t.Fatal(err)
	}
	if names, _ := def.Workspaces(ctx); strings.Join(names, ",") != "default" {
		t.Errorf("after delete: %v", names)
	}
	if v := values(snapshot(t, def, 0)); v["null_value.a"] != val("a") {
		t.Errorf("the default workspace lost its objects: %v", v)
	}
}
