package state

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/llmops/llmops/addrs"
)

// objWriteColNames are the object columns a PutObject writes besides the
// address and serial, in the order of objectArgs.
var objWriteColNames = []string{"provider", "status", "schema_version", "value_json", "type_json", "private",
	"sensitive_paths", "pending_handle", "pending_status", "deps", "cbd", "version", "deposed", "module"}

var (
	objWriteCols = strings.Join(objWriteColNames, ", ")
	// objReadCols are the object columns scanned by scanObject.
	objReadCols = "res_type, res_name, key_kind, key_int, key_str, serial_created, serial_removed, " + objWriteCols
)

// stmts are the writer's prepared statements. Reads go through the
// driver connection itself (see rawRead).
type stmts struct {
	curRow, endRow, insObj, updObj *sql.Stmt
	setOutputs, finish             *sql.Stmt
	all                            []*sql.Stmt
}

func (st *stmts) prepare(ctx context.Context, wconn *sql.Conn) error {
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(objWriteColNames)), ", ")
	set := strings.Join(objWriteColNames, " = ?, ") + " = ?"
	for _, x := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&st.curRow, `SELECT id, serial_created FROM objects WHERE addr = ? AND serial_removed IS NULL`},
		{&st.endRow, `UPDATE objects SET serial_removed = ? WHERE id = ?`},
		{&st.insObj, `INSERT INTO objects (addr, res_type, res_name, key_kind, key_int, key_str, serial_created, ` +
			objWriteCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ` + ph + `)`},
		{&st.updObj, `UPDATE objects SET ` + set + ` WHERE id = ?`},
		{&st.setOutputs, `UPDATE versions SET outputs_json = ? WHERE serial = ?`},
		{&st.finish, `UPDATE versions SET status = ?, counts_json = ? WHERE serial = ?`},
	} {
		stmt, err := wconn.PrepareContext(ctx, x.q)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", x.q, err)
		}
		*x.dst = stmt
		st.all = append(st.all, stmt)
	}
	return nil
}

func (st *stmts) close() {
	for _, s := range st.all {
		_ = s.Close()
	}
	st.all = nil
}

// Address and key columns.
const (
	keyNone = 0
	keyInt  = 1
	keyStr  = 2
)

// rowAddr is the addr column of an object: the address, followed by
// " deposed <key>" for a deposed object.
func rowAddr(a addrs.ResourceInstance, deposed string) string {
	if deposed == "" {
		return a.String()
	}
	return a.String() + " deposed " + deposed
}

// addrArgs are the values of addr, res_type, res_name, key_kind, key_int, key_str.
func addrArgs(a addrs.ResourceInstance, deposed string) []any {
	args := []any{rowAddr(a, deposed), a.Resource.Type, a.Resource.Name, keyNone, nil, nil}
	switch k := a.Key.(type) {
	case addrs.IntKey:
		args[3], args[4] = keyInt, int64(k)
	case addrs.StringKey:
		args[3], args[5] = keyStr, string(k)
	}
	return args
}

// objectArgs are the values of objWriteCols for o. Dependencies are
// stored as addresses ("type.name", "module.m.type.name"), one a line:
// cheaper to read back than JSON.
func objectArgs(o *Object) ([]any, error) {
	var deps any
	if len(o.Dependencies) > 0 {
		ds := make([]string, len(o.Dependencies))
		for i, d := range o.Dependencies {
			if d.Type == "" || d.Name == "" || strings.ContainsAny(d.String(), "\n") {
				return nil, fmt.Errorf("invalid dependency %q", d.String())
			}
			ds[i] = d.String()
		}
		deps = strings.Join(ds, "\n")
	}
	return []any{o.Provider.String(), string(o.Status), o.SchemaVersion, o.ValueJSON, o.TypeJSON, o.Private,
		o.SensitivePaths, o.PendingHandle, o.PendingStatus, deps, o.CreateBeforeDestroy, o.Version, o.Deposed, o.Addr.Resource.Module.String()}, nil
}

// objectAlloc hands out Objects from blocks, so that reading 10,000
// objects costs 40 allocations rather than 10,000.
type objectAlloc struct{ block []Object }

func (a *objectAlloc) new() *Object {
	if len(a.block) == 0 {
		a.block = make([]Object, 256)
	}
	o := &a.block[0]
	a.block = a.block[1:]
	return o
}

// scanObject decodes one row of objReadCols as returned by the driver
// into o.
func scanObject(o *Object, v []driver.Value) *Object {
	*o = Object{
		Addr: addrs.ResourceInstance{
			Resource: addrs.Resource{Type: vStr(v[0]), Name: vStr(v[1])},
			Key:      addrs.NoKey,
		},
		Serial:              vInt(v[5]),
		RemovedSerial:       vInt(v[6]),
		Status:              ObjectStatus(vStr(v[8])),
		SchemaVersion:       vInt(v[9]),
		ValueJSON:           vBytes(v[10]),
		TypeJSON:            vBytes(v[11]),
		Private:             vBytes(v[12]),
		SensitivePaths:      vBytes(v[13]),
		PendingHandle:       vStr(v[14]),
		PendingStatus:       vStr(v[15]),
		CreateBeforeDestroy: vInt(v[17]) != 0,
		Version:             vInt(v[18]),
		Deposed:             vStr(v[19]),
	}
	o.Addr.Resource.Module = parseModule(vStr(v[20]))
	switch vInt(v[2]) {
	case keyInt:
		o.Addr.Key = addrs.IntKey(int(vInt(v[3])))
	case keyStr:
		o.Addr.Key = addrs.StringKey(vStr(v[4]))
	}
	o.Provider.Type, o.Provider.Alias, _ = strings.Cut(vStr(v[7]), ".")
	if deps := vStr(v[16]); deps != "" {
		o.Dependencies = parseDeps(deps)
	}
	return o
}

// The driver returns int64, float64, bool, []byte, string, time.Time or
// nil; the helpers read what the schema stores, NULL as the zero value.
// A []byte from the driver is a fresh copy that the caller may keep.

func vStr(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func vInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func vBytes(v driver.Value) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

// compareAddr orders instances as addrs.ResourceInstance.Less does:
// by type, name, then key (none, ints numerically, strings).
func compareAddr(a, b addrs.ResourceInstance) int {
	if am, bm := a.Resource.Module, b.Resource.Module; am != bm {
		if am.Less(bm) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.Resource.Type, b.Resource.Type); c != 0 {
		return c
	}
	if c := strings.Compare(a.Resource.Name, b.Resource.Name); c != 0 {
		return c
	}
	switch ak := a.Key.(type) {
	case addrs.IntKey:
		switch bk := b.Key.(type) {
		case addrs.IntKey:
			return cmp.Compare(ak, bk)
		case addrs.StringKey:
			return -1
		}
		return 1
	case addrs.StringKey:
		if bk, ok := b.Key.(addrs.StringKey); ok {
			return strings.Compare(string(ak), string(bk))
		}
		return 1
	}
	if b.Key == addrs.NoKey || b.Key == nil {
		return 0
	}
	return -1
}

// Times are stored as RFC 3339 text in UTC, readable with the sqlite3
// shell, to the microsecond: PostgreSQL's precision, so that a state
// copied from one backend to the other and back keeps its times exactly.
func fmtTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// encodeOutputs is the stored form of a version's outputs (both backends
// keep the same JSON), nil entries left out.
func encodeOutputs(outputs []*Output) ([]byte, error) {
	js := make([]outputJSON, 0, len(outputs))
	for _, o := range outputs {
		if o == nil {
			continue
		}
		js = append(js, outputJSON{Name: o.Name, Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.Sensitive})
	}
	return json.Marshal(js)
}

// outputJSON is the stored form of an Output.
type outputJSON struct {
	Name      string `json:"name"`
	Value     []byte `json:"value"`
	Type      []byte `json:"type"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// parseModule reads the module column ("" for the root module). An
// invalid path (written by hand) reads as the root rather than failing
// every read of the state.
func parseModule(s string) addrs.ModuleInstance {
	if s == "" {
		return addrs.RootModuleInstance
	}
	m, err := addrs.ParseModuleInstance(s)
	if err != nil {
		return addrs.RootModuleInstance
	}
	return m
}

// parseDeps reads the deps column, one address a line.
func parseDeps(deps string) []addrs.Resource {
	lines := strings.Split(deps, "\n")
	out := make([]addrs.Resource, len(lines))
	for i, d := range lines {
		if strings.HasPrefix(d, "module.") {
			if r, err := addrs.ParseResource(d); err == nil {
				out[i] = r
				continue
			}
		}
		out[i].Type, out[i].Name, _ = strings.Cut(d, ".")
	}
	return out
}
