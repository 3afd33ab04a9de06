package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// testState is a SQLite state written directly, for the API's unit
// tests (the browser tests apply real configurations).
type testState struct {
	t   testing.TB
	st  *state.SQLiteStore
	key *secrets.Key
}

func newTestState(t testing.TB) *testState {
	t.Helper()
	st, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	text, err := secrets.Generate()
	if err != nil {
		t.Fatal(err)
	}
	key, err := secrets.ParseKey(text)
	if err != nil {
		t.Fatal(err)
	}
	return &testState{t: t, st: st, key: key}
}

// obj is an object to record: its address, state status, value and deps.
type obj struct {
	addr   string
	status state.ObjectStatus
	value  cty.Value
	deps   []string
	ver    int64
}

// version records one state version with objs (and removes rm).
func (ts *testState) version(objs []obj, rm ...string) int64 {
	ts.t.Helper()
	ctx := context.Background()
	w, err := ts.st.Begin(ctx, state.VersionInfo{CreatedAt: time.Now().UTC(), Who: "test@host", Command: "apply"})
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, o := range objs {
		a, err := addrs.ParseResourceInstance(o.addr)
		if err != nil {
			ts.t.Fatal(err)
		}
		enc, err := values.EncodeSealed(o.value, ts.key, false)
		if err != nil {
			ts.t.Fatalf("%s: %v", o.addr, err)
		}
		var deps []addrs.Resource
		for _, d := range o.deps {
			da, _ := addrs.ParseResourceInstance(d)
			deps = append(deps, da.Resource)
		}
		st := o.status
		if st == "" {
			st = state.StatusReady
		}
		ver := o.ver
		if ver == 0 {
			ver = 1
		}
		if err := w.PutObject(ctx, &state.Object{Addr: a, Provider: addrs.ProviderConfig{Type: "local"}, Status: st,
			ValueJSON: enc.Value, TypeJSON: enc.Type, SensitivePaths: enc.Sensitive, Dependencies: deps, Version: ver}); err != nil {
			ts.t.Fatal(err)
		}
	}
	for _, r := range rm {
		a, _ := addrs.ParseResourceInstance(r)
		if err := w.RemoveObject(ctx, a); err != nil {
			ts.t.Fatal(err)
		}
	}
	if err := w.Finish(ctx, state.VersionComplete, state.Counts{Added: len(objs)}); err != nil {
		ts.t.Fatal(err)
	}
	return w.Serial()
}

// get requests path from h and returns the status and body.
func get(t testing.TB, h http.Handler, path string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8765"+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

func str(s string) cty.Value  { return cty.StringVal(s) }
func num(f float64) cty.Value { return cty.NumberFloatVal(f) }

func objVal(attrs map[string]cty.Value) cty.Value { return cty.ObjectVal(attrs) }

func metricsMap(kv ...any) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = num(kv[i+1].(float64))
	}
	return cty.MapVal(m)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
