package refdocs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/internal/schemadoc"
)

func repoRoot(t *testing.T) string {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s", self)
	}
	return root
}

// docs/reference/ is what the schemas generate today: CI fails when a
// schema or an example changed without `make docs`.
func TestReferenceUpToDate(t *testing.T) {
	root := repoRoot(t)
	pages, err := Generate(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range pages {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%s is missing: run `make docs`", p)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `make docs` (the schemas or docs/reference/examples changed)", p)
		}
	}
	for _, p := range Stale(root, pages) {
		t.Errorf("%s is no longer generated: run `make docs` to remove it", p)
	}
	for _, want := range []string{Dir + "/README.md", Dir + "/kinds/model.md", Dir + "/kinds/monitor.md", Dir + "/providers/slurm.md", Dir + "/resources/null_value.md", Dir + "/data-sources/local-model.md", Dir + "/data-sources/llmops_state.md"} {
		if _, ok := pages[want]; !ok {
			t.Errorf("no page %s", want)
		}
	}
}

// Every attribute and nested block of every kind and provider says what
// it is: the reference and `llmops providers schema` show nothing else.
func TestEveryAttributeDescribed(t *testing.T) {
	provs, err := Providers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := engine.BuiltinSchema()
	provs[engine.BuiltinProviderType] = &b
	if missing := schemadoc.Undescribed(provs); len(missing) > 0 {
		t.Errorf("%d attributes or blocks have no description (add .Description(...)):\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
}

// A page whose example is missing is an error naming the file to write.
func TestGenerateNeedsExamples(t *testing.T) {
	_, err := Generate(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "docs/reference/examples/kinds-model.llmops.hcl") {
		t.Fatalf("want an error naming the missing example, got %v", err)
	}
}
