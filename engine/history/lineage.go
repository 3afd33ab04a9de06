package history

import (
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// Node is one object of a lineage tree.
type Node struct {
	Addr    string            `json:"address"`
	Version int64             `json:"version"`
	Serial  int64             `json:"serial"`
	Status  string            `json:"status"`
	ID      string            `json:"id,omitempty"`
	Digest  string            `json:"digest,omitempty"`
	Facts   map[string]string `json:"facts,omitempty"`
	Parents []*Node           `json:"inputs,omitempty"`
	// Repeat is true when the object already appears higher in the tree.
	Repeat bool `json:"repeat,omitempty"`
}

// keyAttrs are the attributes worth showing per kind in a lineage.
var keyAttrs = map[string][]string{
	"model":           {"source", "revision", "size_bytes", "path"},
	"dataset":         {"source", "format", "rows"},
	"prompt":          {"template_file"},
	"training_run":    {"method", "output_model", "status", "finished_at"},
	"evaluation":      {"passed", "results"},
	"embedding_index": {"chunk_size", "chunk_overlap"},
	"deployment":      {"model", "revision", "endpoint", "status"},
	"monitor":         {"deployment", "status"},
}

// Lineage builds the ancestry tree of addr from the objects of one
// version, following each object's recorded dependencies down to the
// instances it was made from (see parentIndex).
func Lineage(objs map[addrs.ResourceInstance]*Object, addr addrs.ResourceInstance) *Node {
	ix := newParentIndex(objs)
	seen := map[addrs.ResourceInstance]bool{}
	var build func(o *Object) *Node
	build = func(o *Object) *Node {
		n := &Node{Addr: o.Addr.String(), Version: o.Version, Serial: o.Serial, Status: string(o.Status),
			ID: AttrString(o.Value, "id"), Digest: AttrString(o.Value, "digest"), Facts: map[string]string{}}
		for _, a := range keyAttrs[o.Addr.Resource.Type] {
			if v := Attr(o.Value, a); v != cty.NilVal && !v.IsNull() {
				n.Facts[a] = short(v)
			}
		}
		if seen[o.Addr] {
			n.Repeat = true
			return n
		}
		seen[o.Addr] = true
		for _, p := range ix.parents(o) {
			n.Parents = append(n.Parents, build(p))
		}
		return n
	}
	o, ok := objs[addr]
	if !ok {
		return nil
	}
	return build(o)
}

func short(v cty.Value) string {
	if v.IsMarked() {
		return "(sensitive)"
	}
	if !v.IsKnown() {
		return "(unknown)"
	}
	switch v.Type() {
	case cty.String:
		return v.AsString()
	case cty.Number:
		return v.AsBigFloat().Text('g', 6)
	case cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	}
	if v.Type().IsMapType() || v.Type().IsObjectType() {
		keys := []string{}
		m := v.AsValueMap()
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := ""
		for i, k := range keys {
			if i > 0 {
				s += ", "
			}
			s += k + "=" + short(m[k])
		}
		return "{" + s + "}"
	}
	return v.GoString()
}

// LineageDOT draws every object of a version with an edge to each object
// it was made from (as Lineage finds them), labelled with versions and
// digests.
func LineageDOT(objs map[addrs.ResourceInstance]*Object) string {
	ix := newParentIndex(objs)
	var list []*Object
	for _, o := range objs {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Addr.Less(list[j].Addr) })
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir = \"BT\";\n  node [shape = box];\n")
	for _, o := range list {
		label := fmt.Sprintf("%s\nv%d, serial %d", o.Addr, o.Version, o.Serial)
		if d := AttrString(o.Value, "digest"); d != "" {
			if len(d) > 19 {
				d = d[:19]
			}
			label += "\n" + d
		}
		fmt.Fprintf(&b, "  %q [label = %q];\n", o.Addr.String(), label)
	}
	for _, o := range list {
		for _, p := range ix.parents(o) {
			fmt.Fprintf(&b, "  %q -> %q;\n", p.Addr.String(), o.Addr.String())
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// Edge links an object to one it was made from.
type Edge struct {
	Input  addrs.ResourceInstance // what it was made from
	Object addrs.ResourceInstance
}

// LineageEdges lists, for every object of a version, an edge to each
// object it was made from (as Lineage finds them), ordered by object then
// input: the whole version's lineage graph, as LineageDOT draws it.
func LineageEdges(objs map[addrs.ResourceInstance]*Object) []Edge {
	ix := newParentIndex(objs)
	var list []*Object
	for _, o := range objs {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Addr.Less(list[j].Addr) })
	var out []Edge
	for _, o := range list {
		for _, p := range ix.parents(o) {
			out = append(out, Edge{Input: p.Addr, Object: o.Addr})
		}
	}
	return out
}
