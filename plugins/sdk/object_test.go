package sdk_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

func TestObjectGetters(t *testing.T) {
	o := sdk.Object{Value: cty.ObjectVal(map[string]cty.Value{
		"s":    cty.StringVal("x"),
		"n":    cty.NumberFloatVal(2.5),
		"i":    cty.NumberIntVal(42),
		"b":    cty.True,
		"l":    cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String), cty.StringVal("b")}),
		"m":    cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
		"null": cty.NullVal(cty.String),
		"unk":  cty.UnknownVal(cty.String),
		"sens": cty.StringVal("secret").Mark("sensitive"),
		"num":  cty.StringVal("7"),
	})}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"string", o.GetString("s"), "x"},
		{"number as string", o.GetString("i"), "42"},
		{"null string", o.GetString("null"), ""},
		{"unknown string", o.GetString("unk"), ""},
		{"marked", o.GetString("sens"), "secret"},
		{"float", o.GetFloat("n"), 2.5},
		{"int truncates", o.GetInt("n"), int64(2)},
		{"int", o.GetInt("i"), int64(42)},
		{"string as int", o.GetInt("num"), int64(7)},
		{"bool", o.GetBool("b"), true},
		{"null bool", o.GetBool("null"), false},
		{"strings", o.GetStrings("l"), []string{"a", "b"}},
		{"string map", o.GetStringMap("m"), map[string]string{"k": "v"}},
		{"IsSet", o.IsSet("s"), true},
		{"IsSet null", o.IsSet("null"), false},
		{"IsSet unknown", o.IsSet("unk"), true},
		{"Known", o.Known("s"), true},
		{"Known unknown", o.Known("unk"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestObjectSet(t *testing.T) {
	ty := cty.Object(map[string]cty.Type{"s": cty.String, "n": cty.Number, "d": cty.DynamicPseudoType})
	o := sdk.NullObject(ty)
	orig := o
	o.SetString("s", "x")
	o.Set("n", cty.StringVal("3")) // converted
	o.Set("d", cty.NumberIntVal(1))
	want := cty.ObjectVal(map[string]cty.Value{"s": cty.StringVal("x"), "n": cty.NumberIntVal(3), "d": cty.NumberIntVal(1)})
	if !o.RawEquals(want) {
		t.Errorf("got %#v", o.Value)
	}
	if !orig.GetAttr("s").IsNull() {
		t.Error("Set changed a copy's original")
	}
	o.Set("d", cty.StringVal("now a string")) // dynamic: any type
	if o.GetAttr("d").Type() != cty.String {
		t.Errorf("dynamic attribute kept type %s", o.GetAttr("d").Type().FriendlyName())
	}
	o.SetUnknown("d")
	o.SetNull("s")
	if o.GetAttr("d").IsKnown() || !o.GetAttr("s").IsNull() {
		t.Errorf("SetUnknown/SetNull: %#v", o.Value)
	}
	if got := o.AttributeNames(); strings.Join(got, ",") != "d,n,s" {
		t.Errorf("names %v", got)
	}
	for name, f := range map[string]func(){
		"missing attribute": func() { o.SetString("nope", "x") },
		"wrong type":        func() { o.Set("n", cty.StringVal("not a number")) },
		"no value":          func() { var z sdk.Object; z.SetString("s", "x") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// A getter, setter or probe given a name the schema lacks fails at once,
// naming the attribute and the nearest name: GetString("modle") used to
// read "" silently.
func TestObjectUnknownNamePanics(t *testing.T) {
	o := sdk.Object{Value: cty.ObjectVal(map[string]cty.Value{
		"model":    cty.StringVal("m"),
		"base_url": cty.NullVal(cty.String),
	})}
	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"GetString", func() { o.GetString("modle") }, `GetString("modle"): the schema has no attribute "modle"; did you mean "model"?`},
		{"GetInt", func() { o.GetInt("replicas") }, `(it has: base_url, model)`},
		{"IsSet", func() { o.IsSet("baseurl") }, `did you mean "base_url"?`},
		{"Known", func() { o.Known("x") }, `Known("x")`},
		{"SetString", func() { o.SetString("modle", "x") }, `Set("modle")`},
		{"SetNull", func() { o.SetNull("nope") }, `the schema has no attribute "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), tc.want) {
					t.Errorf("panic = %v, want one containing %q", r, tc.want)
				}
			}()
			tc.call()
		})
	}
	// Probing does not panic.
	if o.Has("modle") || !o.Has("model") || o.Attr("modle") != cty.NilVal {
		t.Error("Has/Attr of a missing name must report it, not panic")
	}
}
