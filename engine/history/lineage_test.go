package history

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

var update = flag.Bool("update", false, "rewrite the want.txt and want.dot files of testdata/lineage")

// scenarioObject is one recorded object of a lineage scenario.
type scenarioObject struct {
	Address      string          `json:"address"`
	Value        json.RawMessage `json:"value"`
	Dependencies []string        `json:"dependencies"`
}

// loadScenario reads state.json of a scenario folder into decoded objects.
func loadScenario(t *testing.T, dir string) map[addrs.ResourceInstance]*Object {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in struct{ Objects []scenarioObject }
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatalf("state.json: %v", err)
	}
	snap := &state.Snapshot{Serial: 1}
	for _, so := range in.Objects {
		addr, err := addrs.ParseResourceInstance(so.Address)
		if err != nil {
			t.Fatalf("%s: %v", so.Address, err)
		}
		ty, err := ctyjson.ImpliedType(so.Value)
		if err != nil {
			t.Fatalf("%s: %v", so.Address, err)
		}
		v, err := ctyjson.Unmarshal(so.Value, ty)
		if err != nil {
			t.Fatalf("%s: %v", so.Address, err)
		}
		enc, err := values.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		var deps []addrs.Resource
		for _, d := range so.Dependencies {
			ri, err := addrs.ParseResourceInstance(d)
			if err != nil || ri.Key != addrs.NoKey {
				t.Fatalf("%s: dependency %q is not a resource address", so.Address, d)
			}
			deps = append(deps, ri.Resource)
		}
		snap.Objects = append(snap.Objects, &state.Object{Addr: addr, Provider: addrs.ProviderConfig{Type: "local"},
			Status: state.StatusReady, ValueJSON: enc.Value, TypeJSON: enc.Type, Version: 1, Serial: 1, Dependencies: deps})
	}
	objs, err := Decode(snap)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// treeText renders a lineage tree as indented addresses (with digests),
// which is what the scenarios check.
func treeText(b *strings.Builder, n *Node, indent string) {
	line := indent + n.Addr
	if n.Digest != "" {
		line += " " + n.Digest
	}
	if n.Repeat {
		line += " (repeat)"
	}
	b.WriteString(line + "\n")
	for _, p := range n.Parents {
		treeText(b, p, indent+"  ")
	}
}

// TestLineageScenarios runs each folder of testdata/lineage: state.json
// holds the recorded objects (address, value, resource-level
// dependencies, as the state stores them), `query` the addresses to show
// the lineage of; want.txt is their trees and want.dot the whole
// version's lineage graph (graph -lineage).
func TestLineageScenarios(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/lineage/*")
	if len(dirs) == 0 {
		t.Fatal("no scenarios")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			objs := loadScenario(t, dir)
			q, err := os.ReadFile(filepath.Join(dir, "query"))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, line := range strings.Split(strings.TrimSpace(string(q)), "\n") {
				addr, err := addrs.ParseResourceInstance(strings.TrimSpace(line))
				if err != nil {
					t.Fatalf("query %q: %v", line, err)
				}
				tree := Lineage(objs, addr)
				if tree == nil {
					t.Fatalf("query %s: no such object", addr)
				}
				fmt.Fprintf(&got, "# lineage %s\n", addr)
				treeText(&got, tree, "")
			}
			compareGolden(t, filepath.Join(dir, "want.txt"), got.String())
			compareGolden(t, filepath.Join(dir, "want.dot"), LineageDOT(objs))
			// LineageEdges is the same graph as data: the DOT's edges, in order.
			var dotEdges, edges []string
			for _, l := range strings.Split(LineageDOT(objs), "\n") {
				if strings.Contains(l, " -> ") {
					dotEdges = append(dotEdges, strings.TrimSpace(l))
				}
			}
			for _, e := range LineageEdges(objs) {
				edges = append(edges, fmt.Sprintf("%q -> %q;", e.Input.String(), e.Object.String()))
			}
			if strings.Join(edges, "\n") != strings.Join(dotEdges, "\n") {
				t.Errorf("LineageEdges:\n%s\nwant (want.dot):\n%s", strings.Join(edges, "\n"), strings.Join(dotEdges, "\n"))
			}
		})
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestLineageScenarios -update)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// The identity of an instance is what no sibling shares; an id too short
// to be one (under minToken bytes) never picks an instance.
func TestTokensAreUniqueAndLong(t *testing.T) {
	mk := func(key, id, shared string) *Object {
		return &Object{Object: &state.Object{Addr: addrs.Resource{Type: "null_value", Name: "r"}.Instance(addrs.StringKey(key))},
			Value: cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal(id), "common": cty.StringVal(shared)})}
	}
	a, b := mk("a", "aaaaaaaaaaaa", "same-for-both"), mk("b", "short", "same-for-both")
	ix := newParentIndex(map[addrs.ResourceInstance]*Object{a.Addr: a, b.Addr: b})
	toks := ix.tokensOf(a.Addr.Resource, false)
	if len(toks) != 1 || toks["aaaaaaaaaaaa"] != a {
		t.Fatalf("tokens: %v", toks)
	}
}
