package discovery_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/llmops/llmops/engine/discovery"
	"github.com/llmops/llmops/plugins/null"
	"github.com/llmops/llmops/plugins/sdk/plugin"
)

// TestFindProbeLockVerify is what `llmops init` and a later run do: find
// the built null provider, ask its version, lock it, verify it.
func TestFindProbeLockVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the null provider")
	}
	cfg := t.TempDir()
	out := filepath.Join(cfg, discovery.PluginDir, discovery.BinaryName("null"))
	if b, err := exec.Command("go", "build", "-o", out, "github.com/llmops/llmops/cmd/llmops-provider-null").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := discovery.Find("null", discovery.SearchOptions{ConfigDir: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := discovery.ProbeVersion(context.Background(), bin, plugin.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if bin.Version != null.Version {
		t.Errorf("version %q, want %q", bin.Version, null.Version)
	}
	lf := &discovery.LockFile{}
	lf.Lock(bin)
	if err := lf.Write(cfg); err != nil {
		t.Fatal(err)
	}
	again, diags := discovery.ReadLockFile(cfg)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := discovery.Verify(again, bin); err != nil {
		t.Fatal(err)
	}
	if again.Providers["null"].Path != ".llmops/plugins/llmops-provider-null" {
		t.Errorf("path %q", again.Providers["null"].Path)
	}
}
