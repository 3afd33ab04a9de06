package engine

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// checkSchema has an attribute of each mode, a write-only one, and nested
// blocks of each nesting.
var checkSchema = &protocol.Block{
	Attributes: map[string]*protocol.Attribute{
		"name":    {Type: cty.String, Required: true},
		"size":    {Type: cty.Number, Optional: true, Computed: true},
		"note":    {Type: cty.String, Optional: true},
		"id":      {Type: cty.String, Computed: true},
		"key":     {Type: cty.String, Optional: true, Sensitive: true, WriteOnly: true},
		"version": {Type: cty.Number, Computed: true},
	},
	BlockTypes: map[string]*protocol.NestedBlock{
		"disk": {Nesting: protocol.NestingSingle, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{
			"kind":   {Type: cty.String, Optional: true},
			"serial": {Type: cty.String, Computed: true},
		}}},
		"port": {Nesting: protocol.NestingList, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{
			"num": {Type: cty.Number, Required: true},
		}}},
		"tag": {Nesting: protocol.NestingMap, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{
			"value": {Type: cty.String, Optional: true},
		}}},
		"zone": {Nesting: protocol.NestingSet, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{
			"name": {Type: cty.String, Optional: true},
		}}},
	},
}

// obj builds a value of checkSchema's type from the attributes given.
func obj(attrs map[string]cty.Value) cty.Value {
	ty := checkSchema.ImpliedType()
	m := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		if v, ok := attrs[name]; ok {
			m[name] = v
		} else {
			m[name] = cty.NullVal(at)
		}
	}
	return cty.ObjectVal(m)
}

func disk(kind, serial cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"kind": kind, "serial": serial})
}

func ports(nums ...int64) cty.Value {
	ty := checkSchema.ImpliedType().AttributeType("port")
	if len(nums) == 0 {
		return cty.ListValEmpty(ty.ElementType())
	}
	var vs []cty.Value
	for _, n := range nums {
		vs = append(vs, cty.ObjectVal(map[string]cty.Value{"num": cty.NumberIntVal(n)}))
	}
	return cty.ListVal(vs)
}

func tags(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal(kv[i+1])})
	}
	return cty.MapVal(m)
}

var (
	sv   = cty.StringVal
	unkS = cty.UnknownVal(cty.String)
)

func paths(found []inconsistency) string {
	var out []string
	for _, f := range found {
		out = append(out, protocol.PathString(f.path))
	}
	return strings.Join(out, ",")
}

func TestCheckPlan(t *testing.T) {
	config := obj(map[string]cty.Value{"name": sv("a"), "key": sv("k"), "disk": disk(sv("ssd"), cty.NullVal(cty.String)), "port": ports(80), "tag": tags("env", "prod")})
	good := obj(map[string]cty.Value{"name": sv("a"), "size": cty.UnknownVal(cty.Number), "id": unkS, "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("env", "prod")})
	tests := []struct {
		name    string
		config  cty.Value
		planned cty.Value
		want    string
	}{
		{"valid", config, good, ""},
		{"configured value changed", config, obj(map[string]cty.Value{"name": sv("b"), "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("env", "prod")}), "name"},
		{"write-only planned", config, obj(map[string]cty.Value{"name": sv("a"), "key": sv("k"), "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("env", "prod")}), "key"},
		{"unset, not computed, planned", config, obj(map[string]cty.Value{"name": sv("a"), "note": sv("x"), "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("env", "prod")}), "note"},
		{"nested value changed", config, obj(map[string]cty.Value{"name": sv("a"), "disk": disk(sv("hdd"), unkS), "port": ports(80), "tag": tags("env", "prod")}), "disk.kind"},
		{"nested block dropped", config, obj(map[string]cty.Value{"name": sv("a"), "port": ports(80), "tag": tags("env", "prod")}), "disk"},
		{"list block count", config, obj(map[string]cty.Value{"name": sv("a"), "disk": disk(sv("ssd"), unkS), "port": ports(80, 81), "tag": tags("env", "prod")}), "port"},
		{"list element changed", config, obj(map[string]cty.Value{"name": sv("a"), "disk": disk(sv("ssd"), unkS), "port": ports(81), "tag": tags("env", "prod")}), "port[0].num"},
		{"map block changed", config, obj(map[string]cty.Value{"name": sv("a"), "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("env", "dev")}), `tag["env"].value`},
		{"map block renamed", config, obj(map[string]cty.Value{"name": sv("a"), "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("stage", "prod")}), `tag["env"]`},
		{"computed and engine-owned values are free", config, obj(map[string]cty.Value{"name": sv("a"), "size": cty.NumberIntVal(3), "id": sv("x"), "version": cty.NumberIntVal(9), "disk": disk(sv("ssd"), sv("S")), "port": ports(80), "tag": tags("env", "prod")}), ""},
		{"unknown configuration is not held", obj(map[string]cty.Value{"name": unkS}), obj(map[string]cty.Value{"name": sv("anything")}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paths(checkPlan(checkSchema, tt.config, tt.config, tt.planned)); got != tt.want {
				t.Errorf("inconsistent paths = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckApplied(t *testing.T) {
	planned := obj(map[string]cty.Value{"name": sv("a"), "id": unkS, "size": cty.NumberIntVal(3), "disk": disk(sv("ssd"), unkS), "port": ports(80), "tag": tags("env", "prod")})
	tests := []struct {
		name string
		got  cty.Value
		want string
	}{
		{"unknowns become anything", obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-1"), "size": cty.NumberIntVal(3), "disk": disk(sv("ssd"), sv("S1")), "port": ports(80), "tag": tags("env", "prod")}), ""},
		{"known value changed", obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-1"), "size": cty.NumberIntVal(4), "disk": disk(sv("ssd"), sv("S1")), "port": ports(80), "tag": tags("env", "prod")}), "size"},
		{"nested known value changed", obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-1"), "size": cty.NumberIntVal(3), "disk": disk(sv("nvme"), sv("S1")), "port": ports(80), "tag": tags("env", "prod")}), "disk.kind"},
		{"list grew", obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-1"), "size": cty.NumberIntVal(3), "disk": disk(sv("ssd"), sv("S1")), "port": ports(80, 81), "tag": tags("env", "prod")}), "port"},
		{"engine-owned version", obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-1"), "size": cty.NumberIntVal(3), "version": cty.NumberIntVal(2), "disk": disk(sv("ssd"), sv("S1")), "port": ports(80), "tag": tags("env", "prod")}), ""},
		{"object gone", cty.NullVal(checkSchema.ImpliedType()), "(the whole object)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found := checkApplied(planned, tt.got)
			got := paths(found)
			if tt.want == "(the whole object)" {
				if len(found) != 1 || len(found[0].path) != 0 {
					t.Fatalf("found %+v, want the whole object", found)
				}
				return
			}
			if got != tt.want {
				t.Errorf("inconsistent paths = %q, want %q", got, tt.want)
			}
		})
	}
	// A wholly known object that differs names the attribute.
	known := obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-1")})
	if got := paths(checkApplied(known, obj(map[string]cty.Value{"name": sv("a"), "id": sv("i-2")}))); got != "id" {
		t.Errorf("wholly known: paths = %q, want id", got)
	}
}

func TestInconsistencyDiagHidesSensitive(t *testing.T) {
	found := []inconsistency{{path: cty.GetAttrPath("key"), want: sv("s3cret"), got: sv("other")}, {path: cty.GetAttrPath("name"), want: sv("a").Mark("sensitive"), got: sv("b")}}
	ri := addrs.Resource{Type: "test_value", Name: "a"}.Instance(addrs.NoKey)
	d := inconsistencyDiag(summaryInvalidPlan, addrs.ProviderConfig{Type: "test"}, ri, []cty.Path{cty.GetAttrPath("key")}, nil, found)
	if strings.Contains(d.Detail, "s3cret") || strings.Contains(d.Detail, "other") || strings.Contains(d.Detail, `"a"`) {
		t.Fatalf("a sensitive value is shown:\n%s", d.Detail)
	}
	for _, want := range []string{"Provider test produced", "test_value.a", "key:", "name:", "(sensitive)", "bug in the provider test"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, d.Detail)
		}
	}
}
