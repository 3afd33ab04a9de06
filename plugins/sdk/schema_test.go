package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func TestBlockBuild(t *testing.T) {
	b := sdk.Block{
		Description: "d",
		Attributes: sdk.Attributes{
			"text":   sdk.Attr(cty.String).Required().Description("the text"),
			"secret": sdk.Attr(cty.String).Optional().Sensitive(),
			"chan":   sdk.Attr(cty.String).Optional().Computed().ForceNew(),
		},
		Blocks: sdk.Blocks{
			"retry": sdk.ListBlock(sdk.Block{Attributes: sdk.Attributes{"n": sdk.Attr(cty.Number).Optional()}}).MinItems(1).MaxItems(3),
			"one":   sdk.SingleBlock(sdk.Block{}),
			"set":   sdk.SetBlock(sdk.Block{}),
			"map":   sdk.MapBlock(sdk.Block{}),
		},
	}.Build()
	if b.Description != "d" || !b.Attributes["text"].Required || b.Attributes["text"].Description != "the text" {
		t.Errorf("text: %+v", b.Attributes["text"])
	}
	if a := b.Attributes["chan"]; !a.Optional || !a.Computed || !a.ForceNew || a.Required {
		t.Errorf("chan: %+v", a)
	}
	if !b.Attributes["secret"].Sensitive {
		t.Error("secret not sensitive")
	}
	r := b.BlockTypes["retry"]
	if r.Nesting != protocol.NestingList || r.MinItems != 1 || r.MaxItems != 3 || !r.Block.Attributes["n"].Optional {
		t.Errorf("retry: %+v", r)
	}
	for name, want := range map[string]protocol.Nesting{"one": protocol.NestingSingle, "set": protocol.NestingSet, "map": protocol.NestingMap} {
		if b.BlockTypes[name].Nesting != want {
			t.Errorf("%s nesting %v", name, b.BlockTypes[name].Nesting)
		}
	}
	if err := sdk.ValidateSchema(b); err != nil {
		t.Errorf("valid schema rejected: %v", err)
	}
}

func TestValidateSchema(t *testing.T) {
	tests := []struct {
		name string
		attr *sdk.Attribute
		nb   *sdk.NestedBlock
		want string
	}{
		{"no mode", sdk.Attr(cty.String), nil, "must be exactly one of"},
		{"required and computed", sdk.Attr(cty.String).Required().Computed(), nil, "must be exactly one of"},
		{"required and optional", sdk.Attr(cty.String).Required().Optional(), nil, "must be exactly one of"},
		{"force new computed", sdk.Attr(cty.String).Computed().ForceNew(), nil, "ForceNew on a computed-only"},
		{"no type", sdk.Attr(cty.NilType).Optional(), nil, "no type"},
		{"bad limits", nil, sdk.ListBlock(sdk.Block{}).MinItems(3).MaxItems(1), "invalid item limits"},
		{"single with two", nil, sdk.SingleBlock(sdk.Block{}).MaxItems(2), "at most one"},
		{"nested bad attr", nil, sdk.SingleBlock(sdk.Block{Attributes: sdk.Attributes{"x": sdk.Attr(cty.String)}}), "attribute b.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := sdk.Block{Attributes: sdk.Attributes{}, Blocks: sdk.Blocks{}}
			if tt.attr != nil {
				b.Attributes["a"] = tt.attr
			}
			if tt.nb != nil {
				b.Blocks["b"] = tt.nb
			}
			err := sdk.ValidateSchema(b.Build())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestInvalidSchemaReportedByGetSchema(t *testing.T) {
	p := sdk.NewProtocolProvider(&sdk.Provider{Name: "bad", Resources: map[string]*sdk.Resource{
		"bad_thing": {Schema: sdk.Block{Attributes: sdk.Attributes{"x": sdk.Attr(cty.String)}}},
	}})
	r := p.GetSchema(t.Context(), protocol.GetSchemaRequest{})
	msg := r.Diagnostics.Err()
	if msg == nil || !strings.Contains(msg.Error(), "bad_thing") || !strings.Contains(msg.Error(), "no Create") {
		t.Fatalf("diagnostics: %v", msg)
	}
}

// A type name that neither starts with the provider's name nor is a
// lifecycle kind is an error of GetSchema naming the provider, the type
// and the rule, for resource types and data sources alike.
func TestTypeNamingCheckedByGetSchema(t *testing.T) {
	noop := func(context.Context, *sdk.CreateRequest) *sdk.Response { return nil }
	read := func(context.Context, *sdk.ReadDataRequest) (sdk.Object, sdk.Diagnostics) { return sdk.Object{}, nil }
	attrs := sdk.Attributes{"id": sdk.Attr(cty.String).Computed()}
	p := sdk.NewProtocolProvider(&sdk.Provider{Name: "echo", Version: "1",
		Resources: map[string]*sdk.Resource{
			"message":      {Schema: sdk.Block{Attributes: attrs}, Create: noop},
			"echo_message": {Schema: sdk.Block{Attributes: attrs}, Create: noop},
			"model":        {Schema: sdk.Block{Attributes: attrs}, Create: noop},
		},
		DataSources: map[string]*sdk.DataSource{"greeting": {Schema: sdk.Block{Attributes: attrs}, Read: read}},
	})
	r := p.GetSchema(t.Context(), protocol.GetSchemaRequest{})
	msg := r.Diagnostics.Err()
	if msg == nil {
		t.Fatal("GetSchema accepted the resource type message of provider echo")
	}
	for _, want := range []string{`provider echo serves the resource type "message"`, `"echo_"`, "lifecycle kind", `data source "greeting"`} {
		if !strings.Contains(msg.Error(), want) {
			t.Errorf("diagnostics do not say %q:\n%v", want, msg)
		}
	}
	for _, ok := range []string{`resource type "echo_message"`, `resource type "model"`} {
		if strings.Contains(msg.Error(), ok) {
			t.Errorf("diagnostics complain about %s, which follows the rule:\n%v", ok, msg)
		}
	}
}
