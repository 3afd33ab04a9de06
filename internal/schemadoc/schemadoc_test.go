package schemadoc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// fixture: a provider with a configuration block (one attribute with a
// default), a lifecycle kind (nested single, list and map blocks) and a
// resource type with an undescribed attribute.
func fixture() map[string]*protocol.GetSchemaResponse {
	return map[string]*protocol.GetSchemaResponse{
		"demo": {
			ProviderVersion: "1.2.0",
			Provider: &protocol.Schema{Block: &protocol.Block{
				Description: "A demo provider.",
				Attributes: map[string]*protocol.Attribute{
					"region":  {Type: cty.String, Optional: true, Description: "Where it runs.", Default: cty.StringVal("eu")},
					"retries": {Type: cty.Number, Optional: true, Description: "How often to retry.", Default: cty.NumberIntVal(3)},
				},
			}},
			ResourceTypes: map[string]*protocol.Schema{
				schema.Monitor: schema.Kind(schema.Monitor),
				"demo_thing": {Version: 2, Block: &protocol.Block{
					Description: "A thing.",
					Attributes: map[string]*protocol.Attribute{
						"name":   {Type: cty.String, Required: true, ForceNew: true, Description: "Its name."},
						"secret": {Type: cty.String, Optional: true, Sensitive: true, WriteOnly: true},
						"id":     {Type: cty.String, Computed: true, Description: "Its id."},
					},
				}},
			},
			DataSources: map[string]*protocol.Schema{
				"demo_lookup": {Block: &protocol.Block{
					Description: "Finds a thing by name.",
					Attributes: map[string]*protocol.Attribute{
						"name": {Type: cty.String, Required: true, Description: "What to find."},
						"id":   {Type: cty.String, Computed: true, Description: "The thing's id."},
					},
				}},
			},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./internal/schemadoc -update rewrites it); got:\n%s", path, got)
	}
}

func TestJSONGolden(t *testing.T) {
	doc, err := FromResponses(fixture())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "schema.json", append(b, '\n'))

	// Terraform's shape, read back generically.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	attr := dig(t, m, "provider_schemas", "demo", "resource_schemas", "monitor", "block", "attributes", "deployment")
	if attr.(map[string]any)["type"] != "string" || attr.(map[string]any)["required"] != true {
		t.Errorf("monitor.deployment = %v, want a required string", attr)
	}
	mode := dig(t, m, "provider_schemas", "demo", "resource_schemas", "monitor", "block", "block_types", "check", "nesting_mode")
	if mode != "map" {
		t.Errorf("check nesting_mode = %v, want map", mode)
	}
	def := dig(t, m, "provider_schemas", "demo", "provider", "block", "attributes", "retries", "default")
	if def != 3.0 {
		t.Errorf("retries default = %v, want 3", def)
	}
	computed := dig(t, m, "provider_schemas", "demo", "data_source_schemas", "demo_lookup", "block", "attributes", "id", "computed")
	if computed != true {
		t.Errorf("data source demo_lookup.id computed = %v, want true", computed)
	}
}

func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok || m[p] == nil {
			t.Fatalf("no %q in %v", p, v)
		}
		v = m[p]
	}
	return v
}

func TestTextGolden(t *testing.T) {
	var buf bytes.Buffer
	WriteText(&buf, "demo", fixture()["demo"], nil)
	golden(t, "schema.txt", buf.Bytes())

	buf.Reset()
	WriteText(&buf, "demo", fixture()["demo"], []string{"demo_thing"})
	golden(t, "schema_only.txt", buf.Bytes())
	if strings.Contains(buf.String(), "demo_lookup") {
		t.Errorf("only demo_thing was asked for, but the data source is written:\n%s", buf.String())
	}
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	r := fixture()["demo"]
	WriteMarkdown(&buf, &Page{
		Title: "`demo_thing`", Intro: "A resource type of demo.", Block: r.ResourceTypes["demo_thing"].Block,
		Example: "resource \"demo_thing\" \"x\" {\n  name = \"x\"\n}\n",
		Extensions: []Extension{{Provider: "demo", Link: "demo" + ".m" + "d", Block: &protocol.Block{
			Attributes: map[string]*protocol.Attribute{"zone": {Type: cty.String, Optional: true, Description: "A zone."}},
		}}},
	})
	golden(t, "page_md.golden", buf.Bytes())
}

func TestUndescribed(t *testing.T) {
	got := Undescribed(fixture())
	want := []string{"demo: resource demo_thing: secret"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Undescribed = %q, want %q", got, want)
	}
}
