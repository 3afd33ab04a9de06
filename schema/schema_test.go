package schema_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

func TestKindsMatchAddrs(t *testing.T) {
	// The engine's list of kinds (addrs) and this package's must agree.
	if !reflect.DeepEqual(addrs.Kinds, schema.Kinds) {
		t.Fatalf("addrs.Kinds = %v, schema.Kinds = %v", addrs.Kinds, schema.Kinds)
	}
}

func TestEveryKindIsAValidSchema(t *testing.T) {
	withDigest := map[string]bool{"model": true, "dataset": true, "prompt": true, "embedding_index": true}
	for _, k := range schema.Kinds {
		t.Run(k, func(t *testing.T) {
			s := schema.Kind(k)
			if s == nil || s.Block == nil {
				t.Fatalf("no schema")
			}
			if err := sdk.ValidateSchema(s.Block); err != nil {
				t.Fatalf("invalid schema: %v", err)
			}
			for _, name := range []string{"id", "version"} {
				a := s.Block.Attributes[name]
				if a == nil || !a.Computed || a.Optional {
					t.Errorf("%s: want a computed-only %q, got %+v", k, name, a)
				}
			}
			if a := s.Block.Attributes["version"]; a != nil && a.Type != cty.Number {
				t.Errorf("version must be a number, got %s", a.Type.FriendlyName())
			}
			if d := s.Block.Attributes["digest"]; withDigest[k] != (d != nil) {
				t.Errorf("digest present = %v, want %v", d != nil, withDigest[k])
			}
			// A fresh copy each time: changing one must not change the next.
			s.Block.Attributes["id"].Description = "changed"
			if schema.Kind(k).Block.Attributes["id"].Description == "changed" {
				t.Errorf("Kind returns shared data")
			}
			// The sdk form is the same schema.
			if got := kindsdk.FromProtocol(schema.Block(k)).Build(); !reflect.DeepEqual(got, schema.Block(k)) {
				t.Errorf("kindsdk.FromProtocol does not round trip:\n got %+v\nwant %+v", got, schema.Block(k))
			}
		})
	}
	if schema.Kind("resource") != nil || schema.IsKind("null_value") {
		t.Errorf("non-kinds must give nil")
	}
}

func TestCoreAttributes(t *testing.T) {
	// The attributes other code and users rely on, with their modes.
	type want struct {
		kind, path string
		ty         cty.Type
		mode       string // req, opt, comp, optcomp
		forceNew   bool
	}
	for _, w := range []want{
		{"model", "source", cty.String, "req", false},
		{"model", "path", cty.String, "comp", false},
		{"model", "size_bytes", cty.Number, "comp", false},
		{"dataset", "split", cty.Map(cty.Number), "opt", false},
		{"dataset", "splits", cty.Map(schema.SplitType), "comp", false},
		{"dataset", "transform.command", cty.List(cty.String), "req", false},
		{"training_run", "base_model", cty.String, "req", true},
		{"training_run", "dataset", cty.String, "opt", true},
		{"training_run", "command", cty.List(cty.String), "req", true},
		{"training_run", "hyperparameters", cty.DynamicPseudoType, "opt", true},
		{"training_run", "method", cty.String, "optcomp", true},
		{"training_run", "output_model", cty.String, "comp", false},
		{"training_run", "metrics", cty.Map(cty.Number), "comp", false},
		{"training_run", "resources.max_duration", cty.String, "opt", false},
		{"training_run", "resources.gpus", cty.Number, "opt", false},
		{"evaluation", "gate.metric", cty.String, "req", false},
		{"evaluation", "results", cty.Map(cty.Number), "comp", false},
		{"evaluation", "passed", cty.Bool, "comp", false},
		{"evaluation", "model", cty.String, "opt", true},
		{"evaluation", "dataset", cty.String, "opt", true},
		{"embedding_index", "chunk_size", cty.Number, "opt", true},
		{"deployment", "access.api_keys", cty.List(cty.String), "opt", false},
		{"deployment", "serve.command", cty.List(cty.String), "req", false},
		{"monitor", "check.max", cty.Number, "opt", false},
		{"monitor", "alert.webhook", cty.String, "opt", false},
	} {
		b := schema.Block(w.kind)
		parts := strings.Split(w.path, ".")
		for _, p := range parts[:len(parts)-1] {
			nb := b.BlockTypes[p]
			if nb == nil {
				t.Fatalf("%s: no block %q", w.kind, p)
			}
			b = &nb.Block
		}
		a := b.Attributes[parts[len(parts)-1]]
		if a == nil {
			t.Errorf("%s.%s: missing", w.kind, w.path)
			continue
		}
		mode := map[[3]bool]string{{true, false, false}: "req", {false, true, false}: "opt", {false, false, true}: "comp", {false, true, true}: "optcomp"}[[3]bool{a.Required, a.Optional, a.Computed}]
		if !a.Type.Equals(w.ty) || mode != w.mode || a.ForceNew != w.forceNew {
			t.Errorf("%s.%s: got %s %s forceNew=%v, want %s %s forceNew=%v", w.kind, w.path, a.Type.FriendlyName(), mode, a.ForceNew, w.ty.FriendlyName(), w.mode, w.forceNew)
		}
	}
	if !schema.Block("deployment").BlockTypes["access"].Attributes["api_keys"].Sensitive {
		t.Errorf("deployment.access.api_keys must be sensitive")
	}
	if g := schema.Block("evaluation").BlockTypes["gate"]; g.Nesting != protocol.NestingList {
		t.Errorf("gate must be repeatable")
	}
	if c := schema.Block("monitor").BlockTypes["check"]; c.Nesting != protocol.NestingMap {
		t.Errorf("check must be labelled")
	}
}

func TestExtend(t *testing.T) {
	extra := sdk.Block{Attributes: sdk.Attributes{"partition": sdk.Attr(cty.String).Optional()}}.Build()
	b, err := schema.Extend("training_run", extra)
	if err != nil {
		t.Fatal(err)
	}
	if b.Attributes["partition"] == nil || b.Attributes["command"] == nil {
		t.Fatalf("extended block lacks attributes")
	}
	if schema.Block("training_run").Attributes["partition"] != nil {
		t.Fatalf("Extend changed the core schema")
	}
	for _, bad := range []*protocol.Block{
		sdk.Block{Attributes: sdk.Attributes{"command": sdk.Attr(cty.String).Optional()}}.Build(),
		sdk.Block{Attributes: sdk.Attributes{"resources": sdk.Attr(cty.String).Optional()}}.Build(),
		sdk.Block{Attributes: sdk.Attributes{"placement": sdk.Attr(cty.String).Optional()}}.Build(),
	} {
		if _, err := schema.Extend("training_run", bad); err == nil {
			t.Errorf("Extend accepted a redefinition: %v", bad.AttributeNames())
		}
	}
	if _, err := schema.Extend("nope", nil); err == nil {
		t.Errorf("Extend accepted a non-kind")
	}
	defer func() {
		if recover() == nil {
			t.Errorf("kindsdk.Block must panic on a clash")
		}
	}()
	kindsdk.Block("model", sdk.Block{Attributes: sdk.Attributes{"source": sdk.Attr(cty.String).Optional()}})
}
