package sdk_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func modifierProvider() protocol.Provider {
	grows := func(prior, planned cty.Value) bool { return planned.AsBigFloat().Cmp(prior.AsBigFloat()) < 0 }
	return provider(&sdk.Resource{Schema: sdk.Block{Attributes: sdk.Attributes{
		"id":      sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("id"),
		"size":    sdk.Attr(cty.Number).Optional().RequiresReplaceIf(grows, "it shrinks").Validate(sdk.Range(1, 100)),
		"region":  sdk.Attr(cty.String).Optional().Computed().Default(cty.StringVal("eu")).Validate(sdk.OneOf("eu", "us")),
		"image":   sdk.Attr(cty.String).Optional().RequiresReplace(),
		"name":    sdk.Attr(cty.String).Optional().Validate(sdk.Regex(regexp.MustCompile(`^[a-z]+$`), "a lower-case name")),
		"timeout": sdk.Attr(cty.String).Optional().Validate(sdk.Duration()),
		"hook":    sdk.Attr(cty.String).Optional().Validate(sdk.URL("https")),
	}}})
}

func modCfg(kv map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{
		"id": cty.NullVal(cty.String), "size": cty.NullVal(cty.Number), "region": cty.NullVal(cty.String),
		"image": cty.NullVal(cty.String), "name": cty.NullVal(cty.String), "timeout": cty.NullVal(cty.String), "hook": cty.NullVal(cty.String),
	}
	for k, v := range kv {
		attrs[k] = v
	}
	return cty.ObjectVal(attrs)
}

func TestValidators(t *testing.T) {
	p := modifierProvider()
	for _, tc := range []struct {
		name string
		cfg  map[string]cty.Value
		want string // "" = valid
	}{
		{"all valid", map[string]cty.Value{"size": cty.NumberIntVal(5), "region": str("us"), "name": str("abc"), "timeout": str("1d2h"), "hook": str("https://x.example/h")}, ""},
		{"one-of", map[string]cty.Value{"region": str("mars")}, `region must be one of "eu", "us"; "mars" is not.`},
		{"range", map[string]cty.Value{"size": cty.NumberIntVal(500)}, "size must be from 1 to 100; 500 is not."},
		{"regex", map[string]cty.Value{"name": str("A b")}, `name must be a lower-case name`},
		{"duration", map[string]cty.Value{"timeout": str("90")}, "timeout must be a duration with a unit"},
		{"url", map[string]cty.Value{"hook": str("http://x.example")}, `hook must use "https"`},
		{"not a url", map[string]cty.Value{"hook": str("x")}, `hook must be an absolute URL`},
		{"unknown passes", map[string]cty.Value{"region": cty.UnknownVal(cty.String)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: "t_thing", Config: modCfg(tc.cfg)})
			got := ""
			if r.Diagnostics.HasErrors() {
				got = r.Diagnostics[0].Detail
				if len(r.Diagnostics[0].Attribute) == 0 {
					t.Errorf("diagnostic has no attribute path: %+v", r.Diagnostics[0])
				}
			}
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanModifiers(t *testing.T) {
	p := modifierProvider()
	plan := func(prior, cfg cty.Value) protocol.PlanResourceChangeResponse {
		return p.PlanResourceChange(context.Background(), protocol.PlanResourceChangeRequest{TypeName: "t_thing", PriorState: prior, Config: cfg})
	}
	// Default: planned when unset, on create and update alike.
	r := plan(cty.NullVal(modCfg(nil).Type()), modCfg(nil))
	if got := r.PlannedState.GetAttr("region"); !got.RawEquals(str("eu")) {
		t.Errorf("region planned %#v, want the default \"eu\"", got)
	}
	prior := modCfg(map[string]cty.Value{"id": str("i-1"), "size": cty.NumberIntVal(10), "region": str("eu"), "image": str("a")})
	for _, tc := range []struct {
		name    string
		cfg     map[string]cty.Value
		replace string
	}{
		{"grow in place", map[string]cty.Value{"size": cty.NumberIntVal(20), "image": str("a")}, ""},
		{"shrink replaces", map[string]cty.Value{"size": cty.NumberIntVal(5), "image": str("a")}, "size"},
		{"RequiresReplace", map[string]cty.Value{"size": cty.NumberIntVal(10), "image": str("b")}, "image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := plan(prior, modCfg(tc.cfg))
			if r.Diagnostics.HasErrors() {
				t.Fatal(r.Diagnostics.Err())
			}
			var got []string
			for _, p := range r.RequiresReplace {
				got = append(got, protocol.PathString(p))
			}
			if strings.Join(got, ",") != tc.replace {
				t.Errorf("RequiresReplace = %v, want %q", got, tc.replace)
			}
			if tc.replace == "" && !r.PlannedState.GetAttr("id").RawEquals(str("i-1")) {
				t.Errorf("an in-place update lost the UseStateForUnknown id: %#v", r.PlannedState.GetAttr("id"))
			}
		})
	}
}

// The schema carries the default (providers schema, reference docs), and
// GetSchema refuses a default on an attribute the provider does not set.
func TestDefaultInSchema(t *testing.T) {
	r := modifierProvider().GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if d := r.ResourceTypes["t_thing"].Block.Attributes["region"].Default; !d.RawEquals(str("eu")) {
		t.Errorf("schema default = %#v", d)
	}
	bad := sdk.NewProtocolProvider(&sdk.Provider{Name: "t", Resources: map[string]*sdk.Resource{"t_x": {
		Schema: sdk.Block{Attributes: sdk.Attributes{"a": sdk.Attr(cty.String).Optional().Default(str("x"))}},
		Create: func(context.Context, *sdk.CreateRequest) *sdk.Response { return nil },
	}}}).GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if !bad.Diagnostics.HasErrors() || !strings.Contains(bad.Diagnostics.Err().Error(), "a Default needs Optional().Computed()") {
		t.Errorf("want a schema error for a default on an optional-only attribute, got %v", bad.Diagnostics.Err())
	}
}

type thingModel struct {
	ID     string    `llmops:"id"`
	Size   *int64    `llmops:"size"`
	Region string    `llmops:"region"`
	Name   *string   `llmops:"name"`
	Raw    cty.Value `llmops:"image"`
	Skip   int
}

func TestTypedModel(t *testing.T) {
	o := sdk.Object{Value: modCfg(map[string]cty.Value{"id": str("i-1"), "size": cty.NumberIntVal(3), "region": cty.UnknownVal(cty.String), "image": str("img")})}
	var m thingModel
	if err := o.Get(&m); err != nil {
		t.Fatal(err)
	}
	if m.ID != "i-1" || m.Size == nil || *m.Size != 3 || m.Region != "" || m.Name != nil || !m.Raw.RawEquals(str("img")) {
		t.Errorf("Get = %+v", m)
	}
	m.Region = "us"
	n := "x"
	m.Name, m.Size = &n, nil
	o.SetFrom(m)
	if o.GetString("region") != "us" || o.GetString("name") != "x" || o.IsSet("size") {
		t.Errorf("SetFrom gave %#v", o.Value)
	}
	var bad struct {
		Model string `llmops:"modle"`
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), `the schema has no attribute "modle"`) {
				t.Errorf("a tag naming no attribute: panic = %v", r)
			}
		}()
		o.Get(&bad)
	}()
	var wrong struct {
		ID int64 `llmops:"id"`
	}
	if err := o.Get(&wrong); err == nil || !strings.Contains(err.Error(), `attribute "id"`) {
		t.Errorf("a string into an int64: err = %v", err)
	}
}
