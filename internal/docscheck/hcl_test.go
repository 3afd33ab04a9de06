package docscheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/llmops/llmops/internal/schemadoc/refdocs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

// example is a fenced ```hcl block of a document.
type example struct {
	file string
	line int // of the first line of the example
	src  string
}

// hclExamples extracts every ```hcl block of the Markdown file.
func hclExamples(t *testing.T, path, rel string) []example {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	var cur *example
	var buf strings.Builder
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case cur == nil && (trim == "```hcl" || trim == "```terraform"):
			cur = &example{file: rel, line: n + 1}
			buf.Reset()
		case cur != nil && trim == "```":
			cur.src = buf.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			buf.WriteString(line + "\n")
		}
	}
	return out
}

// Every HCL example of README.md and docs/ parses: a reader who copies one
// gets a valid configuration (the README once had
// `resources { gpus = 0, max_duration = "10m" }`, where a one-line block
// holds one argument). An example may leave values out with `...`, which
// is read as a placeholder expression.
func TestHCLExamplesParse(t *testing.T) {
	root := repoRoot(t)
	files := []string{filepath.Join(root, "README.md")}
	filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	// What a kind's block may hold: its core schema, any provider's
	// additions and the meta-arguments.
	provs, err := refdocs.Providers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]map[string]bool{}
	for _, kind := range schema.Kinds {
		extra[kind] = map[string]bool{}
		for n := range metaArguments {
			extra[kind][n] = true
		}
		for _, r := range provs {
			if s, ok := r.ResourceTypes[kind]; ok {
				for n := range s.Block.Attributes {
					extra[kind][n] = true
				}
				for n := range s.Block.BlockTypes {
					extra[kind][n] = true
				}
			}
		}
	}
	total := 0
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		for _, ex := range hclExamples(t, p, rel) {
			total++
			src := placeholders(ex.src)
			f, diags := hclsyntax.ParseConfig([]byte(src), ex.file, hcl.Pos{Line: ex.line, Column: 1, Byte: 0})
			if diags.HasErrors() {
				t.Errorf("%s:%d: the HCL example does not parse: %s\n%s", ex.file, ex.line, diagText(diags), ex.src)
				continue
			}
			for _, blk := range f.Body.(*hclsyntax.Body).Blocks {
				if !schema.IsKind(blk.Type) {
					continue
				}
				for _, bad := range checkNames(blk.Body, schema.Block(blk.Type), extra[blk.Type], ex.file+": "+blk.Type) {
					t.Errorf("%s (the example names what the schema has not)", bad)
				}
			}
		}
	}
	if total < 20 {
		t.Errorf("found only %d HCL examples; the extraction is broken", total)
	}
}

// placeholders turns the `...` an example writes for "and so on" into
// something HCL parses: a whole line of it is dropped, a value of it is a
// string.
func placeholders(src string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(src, "\n") {
		trim := strings.TrimSpace(line)
		if trim == "..." || trim == "# ..." {
			continue
		}
		line = strings.ReplaceAll(line, "{ ... }", "{}")
		line = strings.ReplaceAll(line, "= ...", `= "..."`)
		b.WriteString(line + "\n")
	}
	return b.String()
}

func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		s := d.Summary
		if d.Subject != nil {
			s = fmt.Sprintf("line %d: %s: %s", d.Subject.Start.Line, d.Summary, d.Detail)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// metaArguments are what every resource block may set besides its schema.
var metaArguments = map[string]bool{"count": true, "for_each": true, "depends_on": true, "provider": true, "lifecycle": true, "placement": true, "retry": true}

// checkNames reports the attributes and blocks of a lifecycle kind's block
// that neither the core schema nor any provider's additions define, and
// does the same inside nested blocks.
func checkNames(body *hclsyntax.Body, b *protocol.Block, extra map[string]bool, where string) []string {
	var out []string
	for name, a := range body.Attributes {
		if _, ok := b.Attributes[name]; !ok && !extra[name] {
			out = append(out, fmt.Sprintf("%s: line %d: no attribute %q", where, a.SrcRange.Start.Line, name))
		}
	}
	for _, blk := range body.Blocks {
		nb, ok := b.BlockTypes[blk.Type]
		if !ok {
			if !extra[blk.Type] {
				out = append(out, fmt.Sprintf("%s: line %d: no block type %q", where, blk.TypeRange.Start.Line, blk.Type))
			}
			continue
		}
		out = append(out, checkNames(blk.Body, &nb.Block, nil, where+"."+blk.Type)...)
	}
	return out
}

func TestCheckNamesFindsMisspellings(t *testing.T) {
	src := "training_run \"x\" {\n  base_modle = 1\n  depends_on = []\n  resources {\n    gpu = 1\n  }\n  resource {}\n}\n"
	f, diags := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	blk := f.Body.(*hclsyntax.Body).Blocks[0]
	got := checkNames(blk.Body, schema.Block(schema.TrainingRun), metaArguments, "t")
	want := []string{`t: line 2: no attribute "base_modle"`, `t.resources: line 5: no attribute "gpu"`, `t: line 7: no block type "resource"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checkNames = %q, want %q", got, want)
	}
}
