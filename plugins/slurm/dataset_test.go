package slurm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// A malformed row fails the dataset's plan, naming file:line, before the
// apply could replace anything (planning a dataset needs no cluster).
func TestDatasetBadRowFailsPlan(t *testing.T) {
	dir := t.TempDir()
	store, err := artifacts.Open(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	m := &meta{store: store, workDir: dir}
	s := sdk.NewProtocolProvider(Provider()).GetSchema(context.Background(), protocol.GetSchemaRequest{})
	ty := s.ResourceTypes["dataset"].Block.ImpliedType()
	plan := func(src string) sdk.Diagnostics {
		cfg := objectOf(ty, toCty(ty, map[string]any{"source": src}))
		planned := cfg
		return planDataset(context.Background(), &sdk.ModifyPlanRequest{TypeName: "dataset", Config: cfg, Prior: sdk.NullObject(ty), Planned: cfg, Meta: m}, &planned)
	}
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	for _, c := range []struct{ file, data, want string }{
		{"data/good.jsonl", "{\"q\": 1}\n\n{\"q\": 2}\n", ""},
		{"data/bad.jsonl", "{\"q\": 1}\n\n{\"q\": \n", "data/bad.jsonl:3: not valid JSON"},
		{"t.csv", "q,a\n1,2\n3\n", "t.csv:3: not a valid CSV record: wrong number of fields"},
	} {
		if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		d := plan("file://" + c.file)
		got := diagText(d)
		switch {
		case c.want == "" && d.HasErrors():
			t.Errorf("%s: %s", c.file, got)
		case c.want != "" && (!d.HasErrors() || !strings.Contains(got, c.want) || !strings.Contains(got, "fix or remove the row")):
			t.Errorf("%s: the plan must fail naming %q, got %s", c.file, c.want, got)
		}
	}
}
