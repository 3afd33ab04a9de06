package schemadoc

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// WriteText writes the readable form of one provider's schema: its
// configuration block, then each resource type, each attribute with its
// type, flags and description, nested blocks indented under their parent.
// Then each data source, as `data "NAME"`. Only the resource types and
// data sources in only are written when only is not empty.
func WriteText(w io.Writer, typ string, r *protocol.GetSchemaResponse, only []string) {
	fmt.Fprintf(w, "provider %s v%s\n", typ, strings.TrimPrefix(r.ProviderVersion, "v"))
	if len(only) == 0 {
		var pb *protocol.Block
		if r.Provider != nil {
			pb = r.Provider.Block
		}
		if pb != nil && pb.Description != "" {
			writeWrapped(w, "  ", pb.Description)
		}
		if pb != nil && len(pb.Attributes)+len(pb.BlockTypes) > 0 {
			fmt.Fprintf(w, "\n  provider %q { ... }\n", typ)
			writeBlockText(w, "    ", pb)
		}
	}
	names := make([]string, 0, len(r.ResourceTypes))
	for n := range r.ResourceTypes {
		if len(only) == 0 || contains(only, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.ResourceTypes[n]
		fmt.Fprintf(w, "\n  resource %q (schema version %d)\n", n, s.Version)
		if s.Block != nil && s.Block.Description != "" {
			writeWrapped(w, "    ", s.Block.Description)
		}
		writeBlockText(w, "    ", s.Block)
	}
	names = names[:0]
	for n := range r.DataSources {
		if len(only) == 0 || contains(only, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.DataSources[n]
		fmt.Fprintf(w, "\n  data %q\n", n)
		if s.Block != nil && s.Block.Description != "" {
			writeWrapped(w, "    ", s.Block.Description)
		}
		writeBlockText(w, "    ", s.Block)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeBlockText(w io.Writer, indent string, b *protocol.Block) {
	if b == nil {
		return
	}
	for _, name := range b.AttributeNames() {
		a := b.Attributes[name]
		fmt.Fprintf(w, "%s%s  %s, %s\n", indent, name, TypeName(a.Type), Flags(a))
		if a.Description != "" {
			writeWrapped(w, indent+"    ", a.Description)
		}
	}
	for _, name := range b.BlockTypeNames() {
		nb := b.BlockTypes[name]
		fmt.Fprintf(w, "%s%s  block, %s\n", indent, name, NestingPhrase(nb))
		if nb.Block.Description != "" {
			writeWrapped(w, indent+"    ", nb.Block.Description)
		}
		writeBlockText(w, indent+"  ", &nb.Block)
	}
}

// TypeName is a type as a user reads it: "string", "list of string",
// "any value".
func TypeName(ty cty.Type) string {
	if ty == cty.DynamicPseudoType {
		return "any value"
	}
	return ty.FriendlyNameForConstraint()
}

// Flags lists what an attribute is: required, optional or computed,
// sensitive, write-only, forces replacement, its default.
func Flags(a *protocol.Attribute) string {
	var f []string
	switch {
	case a.Required:
		f = append(f, "required")
	case a.Optional && a.Computed:
		f = append(f, "optional, computed")
	case a.Optional:
		f = append(f, "optional")
	case a.Computed:
		f = append(f, "computed")
	}
	if a.Sensitive {
		f = append(f, "sensitive")
	}
	if a.WriteOnly {
		f = append(f, "write-only")
	}
	if a.ForceNew {
		f = append(f, "forces replacement")
	}
	if a.Default != cty.NilVal {
		if b, err := ctyjson.Marshal(a.Default, a.Type); err == nil {
			f = append(f, "default "+string(b))
		}
	}
	return strings.Join(f, ", ")
}

// NestingPhrase says how a nested block repeats and how many it takes.
func NestingPhrase(nb *protocol.NestedBlock) string {
	var s string
	switch nb.Nesting {
	case protocol.NestingSingle:
		s = "at most one"
		if nb.MinItems > 0 {
			s = "exactly one"
		}
		return s
	case protocol.NestingList:
		s = "any number, in order"
	case protocol.NestingSet:
		s = "any number, unordered"
	case protocol.NestingMap:
		s = "any number, each with a label"
	}
	if nb.MinItems > 0 {
		s += fmt.Sprintf(", at least %d", nb.MinItems)
	}
	if nb.MaxItems > 0 {
		s += fmt.Sprintf(", at most %d", nb.MaxItems)
	}
	return s
}

// writeWrapped writes text wrapped at 80 columns under indent.
func writeWrapped(w io.Writer, indent, text string) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > 80 {
			fmt.Fprintln(w, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		fmt.Fprintln(w, line)
	}
}
