package refdocs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/internal/schemadoc"
	"github.com/llmops/llmops/plugins/aws"
	"github.com/llmops/llmops/plugins/kubernetes"
	"github.com/llmops/llmops/plugins/local"
	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/plugins/slurm"
	"github.com/llmops/llmops/schema"
)

// Dir is where the pages go, relative to the repository root.
const Dir = "docs/reference"

// md is the extension of the pages (a constant, so that the repository's
// check of cited documents does not read a format string as one).
const md = ".md"

// ExamplesDir holds the hand-written example of each page.
const ExamplesDir = Dir + "/examples"

// Providers returns the schema of each provider of the repository.
func Providers(ctx context.Context) (map[string]*protocol.GetSchemaResponse, error) {
	out := map[string]*protocol.GetSchemaResponse{}
	for _, p := range []*sdk.Provider{aws.Provider(), kubernetes.Provider(), local.Provider(), null.Provider(), slurm.Provider()} {
		r := sdk.NewProtocolProvider(p).GetSchema(ctx, protocol.GetSchemaRequest{})
		if r.Diagnostics.HasErrors() {
			return nil, fmt.Errorf("provider %s: %w", p.Name, r.Diagnostics.Err())
		}
		out[p.Name] = &r
	}
	return out, nil
}

// Generate returns every page by its path relative to root (the
// repository), reading the examples from root.
func Generate(ctx context.Context, root string) (map[string][]byte, error) {
	provs, err := Providers(ctx)
	if err != nil {
		return nil, err
	}
	g := &gen{root: root, out: map[string][]byte{}}
	names := sortedKeys(provs)
	var index bytes.Buffer
	fmt.Fprintf(&index, "%s\n\n# Reference\n\nThe language of llmops, generated from the schemas: every attribute with its type, whether it is required, and what it means. `llmops providers schema` prints the same for the providers a configuration uses (`-json` for programs).\n\n## Lifecycle kinds\n\n", schemadoc.GeneratedNote)
	for _, kind := range schema.Kinds {
		var served []string
		var exts []schemadoc.Extension
		for _, p := range names {
			s, ok := provs[p].ResourceTypes[kind]
			if !ok {
				continue
			}
			served = append(served, fmt.Sprintf("[%s](../providers/%s"+md+")", p, p))
			exts = append(exts, schemadoc.Extension{Provider: p, Link: "../providers/" + p + md, Block: additions(schema.Block(kind), s.Block)})
		}
		intro := "A lifecycle kind: its core schema is the same with every provider, so moving an object to another provider is a change of `provider`, not a rewrite."
		if len(served) > 0 {
			intro += " Served by: " + strings.Join(served, ", ") + "."
		}
		if err := g.page("kinds/"+kind, &schemadoc.Page{Title: "`" + kind + "`", Intro: intro, Block: schema.Block(kind), Extensions: exts}); err != nil {
			return nil, err
		}
		fmt.Fprintf(&index, "- [`%s`](kinds/%s"+md+"): %s\n", kind, kind, firstSentence(schema.Block(kind).Description))
	}
	fmt.Fprintf(&index, "\n## Providers\n\n")
	var own []string
	for _, p := range names {
		r := provs[p]
		var kinds, types []string
		for _, rt := range sortedKeys(r.ResourceTypes) {
			if schema.IsKind(rt) {
				kinds = append(kinds, fmt.Sprintf("[`%s`](../kinds/%s"+md+")", rt, rt))
			} else {
				types = append(types, fmt.Sprintf("[`%s`](../resources/%s"+md+")", rt, rt))
				own = append(own, rt)
				if err := g.page("resources/"+rt, &schemadoc.Page{
					Title: "`" + rt + "`", Intro: fmt.Sprintf("A resource type of the [%s](../providers/%s"+md+") provider.", p, p), Block: r.ResourceTypes[rt].Block,
				}); err != nil {
					return nil, err
				}
			}
		}
		intro := fmt.Sprintf("Provider `%s`, version %s.", p, strings.TrimPrefix(r.ProviderVersion, "v"))
		if len(kinds) > 0 {
			intro += " Lifecycle kinds: " + strings.Join(kinds, ", ") + "."
		}
		if len(types) > 0 {
			intro += " Resource types: " + strings.Join(types, ", ") + "."
		}
		var data []string
		for _, ds := range sortedKeys(r.DataSources) {
			data = append(data, fmt.Sprintf("[`%s`](../%s"+md+")", ds, DataSourcePage(p, ds)))
		}
		if len(data) > 0 {
			intro += " Data sources: " + strings.Join(data, ", ") + "."
		}
		var pb *protocol.Block
		if r.Provider != nil {
			pb = r.Provider.Block
		}
		if pb != nil && len(pb.Attributes)+len(pb.BlockTypes) > 0 {
			intro += fmt.Sprintf(" The arguments below go in a `provider %q { ... }` block.", p)
		} else {
			intro += " It takes no configuration."
		}
		if err := g.page("providers/"+p, &schemadoc.Page{Title: "Provider `" + p + "`", Intro: intro, Block: pb}); err != nil {
			return nil, err
		}
		desc := "no configuration"
		if pb != nil && pb.Description != "" {
			desc = firstSentence(pb.Description)
		}
		fmt.Fprintf(&index, "- [`%s`](providers/%s"+md+"): %s\n", p, p, desc)
	}
	sort.Strings(own)
	fmt.Fprintf(&index, "\n## Provider resource types\n\n")
	for _, rt := range own {
		fmt.Fprintf(&index, "- [`%s`](resources/%s"+md+")\n", rt, rt)
	}
	if err := g.dataSources(provs, &index); err != nil {
		return nil, err
	}
	g.out[Dir+"/README"+md] = index.Bytes()
	return g.out, nil
}

// dataSources writes a page per data source of each provider and of the
// built-in provider (llmops_state), and lists them in the index.
func (g *gen) dataSources(provs map[string]*protocol.GetSchemaResponse, index *bytes.Buffer) error {
	all := map[string]*protocol.GetSchemaResponse{engine.BuiltinProviderType: ptr(engine.BuiltinSchema())}
	for p, r := range provs {
		all[p] = r
	}
	fmt.Fprintf(index, "\n## Data sources\n\nRead with `data \"TYPE\" \"NAME\" { ... }` and referred to as `data.TYPE.NAME.ATTRIBUTE`: read on every plan, never created, changed or recorded.\n\n")
	for _, p := range sortedKeys(all) {
		for _, ds := range sortedKeys(all[p].DataSources) {
			page := DataSourcePage(p, ds)
			who := fmt.Sprintf("the [%s](../providers/%s"+md+") provider", p, p)
			if p == engine.BuiltinProviderType {
				who = "llmops itself (the built-in provider `llmops`: no binary, no lock entry)"
			}
			b := all[p].DataSources[ds].Block
			if err := g.page(page, &schemadoc.Page{
				Title: "Data source `" + ds + "`", Intro: fmt.Sprintf("A data source served by %s.", who), Block: b,
			}); err != nil {
				return err
			}
			fmt.Fprintf(index, "- [`%s`](%s"+md+") (%s): %s\n", ds, page, p, firstSentence(b.Description))
		}
	}
	return nil
}

// DataSourcePage is the page of a provider's data source, relative to
// Dir: data-sources/NAME when the name starts with the provider's
// (llmops_state), else data-sources/PROVIDER-NAME (local-model).
func DataSourcePage(provider, name string) string {
	if strings.HasPrefix(name, provider+"_") {
		return "data-sources/" + name
	}
	return "data-sources/" + provider + "-" + name
}

func ptr[T any](v T) *T { return &v }

type gen struct {
	root string
	out  map[string][]byte
}

// page renders one page, with its example from ExamplesDir/<name>.llmops.hcl
// (name with "/" as "-": kinds-model.llmops.hcl is the model page's).
func (g *gen) page(name string, p *schemadoc.Page) error {
	ex := ExampleFile(name)
	b, err := os.ReadFile(filepath.Join(g.root, ex))
	if err != nil {
		return fmt.Errorf("page %s has no example: write %s (%w)", name, ex, err)
	}
	p.Example = string(b)
	var buf bytes.Buffer
	schemadoc.WriteMarkdown(&buf, p)
	g.out[Dir+"/"+name+md] = buf.Bytes()
	return nil
}

// ExampleFile is the example of a page, relative to the repository root.
func ExampleFile(page string) string {
	return ExamplesDir + "/" + strings.ReplaceAll(page, "/", "-") + ".llmops.hcl"
}

// additions is what a provider's block has that the core block has not.
func additions(core, full *protocol.Block) *protocol.Block {
	out := &protocol.Block{Attributes: map[string]*protocol.Attribute{}, BlockTypes: map[string]*protocol.NestedBlock{}}
	if full == nil {
		return out
	}
	for n, a := range full.Attributes {
		if _, ok := core.Attributes[n]; !ok {
			out.Attributes[n] = a
		}
	}
	for n, nb := range full.BlockTypes {
		if _, ok := core.BlockTypes[n]; !ok {
			out.BlockTypes[n] = nb
		}
	}
	return out
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Write writes the pages under root and removes generated pages (.md
// files under Dir, outside ExamplesDir) that are no longer generated.
func Write(root string, pages map[string][]byte) error {
	for _, stale := range Stale(root, pages) {
		if err := os.Remove(filepath.Join(root, stale)); err != nil {
			return err
		}
	}
	for p, b := range pages {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Stale lists the .md files under Dir that pages does not hold.
func Stale(root string, pages map[string][]byte) []string {
	var out []string
	filepath.WalkDir(filepath.Join(root, Dir), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".md") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if _, ok := pages[rel]; !ok {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
