package conformance

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// DataCase exercises one data source type: reading Config must succeed
// (twice, with the same value, keeping every configured value and
// setting every computed one), and reading Invalid, when set, must fail
// with an error containing InvalidError.
type DataCase struct {
	// Name labels the subtest (default "data." + TypeName).
	Name         string
	TypeName     string
	Config       cty.Value
	Invalid      cty.Value
	InvalidError string
}

// checkDataSchemas checks the schemas of the data sources the provider
// serves and that every DataCase names one.
func (s *suite) checkDataSchemas(t *testing.T) {
	var names []string
	for name, sch := range s.schema.DataSources {
		names = append(names, name)
		if sch == nil || sch.Block == nil {
			t.Errorf("data source %q: no schema", name)
			continue
		}
		if !identRE.MatchString(name) {
			t.Errorf("data source %q: not a valid name (lower case letters, digits and underscores)", name)
		}
		checkBlock(t, "data "+name, sch.Block)
		computed := false
		for _, a := range sch.Block.Attributes {
			computed = computed || a.Computed
		}
		if !computed {
			t.Errorf("data source %q: no computed attribute, so reading it tells nothing", name)
		}
	}
	sort.Strings(names)
	for _, c := range s.cfg.DataCases {
		if _, ok := s.schema.DataSources[c.TypeName]; !ok {
			t.Errorf("data case %q: the provider has no data source %q; it has %s", c.Name, c.TypeName, strings.Join(names, ", "))
		}
	}
}

// runDataCase reads one data source as the engine does.
func (s *suite) runDataCase(t *testing.T, c DataCase) {
	sch := s.schema.DataSources[c.TypeName]
	if sch == nil {
		t.Fatalf("the provider has no data source %q", c.TypeName)
	}
	dp, ok := s.p.(protocol.DataSourceProvider)
	if !ok {
		t.Fatalf("the provider announces data sources but does not implement ReadDataSource")
	}
	cfg, err := fill(sch.Block, c.Config)
	if err != nil {
		t.Fatalf("Config does not fit the schema: %v", err)
	}
	read := func() cty.Value {
		t.Helper()
		r := dp.ReadDataSource(context.Background(), protocol.ReadDataSourceRequest{TypeName: c.TypeName, Config: cfg})
		if r.Unsupported {
			t.Fatalf("ReadDataSource answered unsupported for a data source the schema lists")
		}
		if r.Diagnostics.HasErrors() {
			t.Fatalf("ReadDataSource returned errors:%s", diagString(r.Diagnostics))
		}
		if r.State == cty.NilVal || r.State.IsNull() || !r.State.IsWhollyKnown() {
			t.Fatalf("ReadDataSource returned no value, or one with unknowns: %#v", r.State)
		}
		return r.State
	}
	v := read()
	for _, p := range preserved(sch.Block, cfg, v) {
		t.Errorf("ReadDataSource changed a configured value: %s", p)
	}
	for n, a := range sch.Block.Attributes {
		if a.Computed && !a.Optional && v.GetAttr(n).IsNull() {
			t.Logf("note: computed attribute %q is null after a read", n)
		}
	}
	if again := read(); !again.RawEquals(v) {
		t.Errorf("reading the same data source twice gave different values:%s", valueDiff(v, again))
	}
	if c.Invalid != cty.NilVal {
		inv, err := fill(sch.Block, c.Invalid)
		if err != nil {
			t.Fatalf("Invalid does not fit the schema: %v", err)
		}
		r := dp.ReadDataSource(context.Background(), protocol.ReadDataSourceRequest{TypeName: c.TypeName, Config: inv})
		if !r.Diagnostics.HasErrors() || !strings.Contains(diagString(r.Diagnostics), c.InvalidError) {
			t.Errorf("reading Invalid: want an error containing %q, got:%s", c.InvalidError, diagString(r.Diagnostics))
		}
	}
	r := dp.ReadDataSource(context.Background(), protocol.ReadDataSourceRequest{TypeName: "no_such_data_source", Config: cty.EmptyObjectVal})
	if !r.Unsupported && !r.Diagnostics.HasErrors() {
		t.Errorf("reading an unknown data source type gave no error")
	}
}
