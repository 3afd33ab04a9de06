package local_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

func TestModelFromFile(t *testing.T) {
	dir := fixtures(t)
	h := newHarness(t, dir)
	cfg := h.fill("model", map[string]cty.Value{"source": str("file://base"), "license": str("apache-2.0")})
	a := h.apply("model", cty.NilVal, cfg)
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	want, _ := artifacts.HashPath(filepath.Join(dir, "base"), artifacts.HashOptions{})
	st := a.state
	if attrStr(st, "id") != string(want.ID) || attrStr(st, "digest") != string(want.ID) {
		t.Fatalf("id %s, want %s", attrStr(st, "id"), want.ID)
	}
	if p := attrStr(st, "path"); !strings.HasPrefix(p, h.store) {
		t.Fatalf("path %s is not in the store %s", p, h.store)
	} else if b, err := os.ReadFile(filepath.Join(p, "weights.bin")); err != nil || string(b) != "base weights" {
		t.Fatalf("stored model: %q %v", b, err)
	}
	if n, _ := st.GetAttr("size_bytes").AsBigFloat().Int64(); n != want.Size {
		t.Fatalf("size_bytes %d, want %d", n, want.Size)
	}
	if !st.GetAttr("version").IsNull() {
		t.Fatalf("version is the engine's; the provider must leave it null")
	}
	if r := h.read("model", st); r.Diagnostics.HasErrors() || !r.NewState.RawEquals(st) {
		t.Fatalf("read changed the model: %s", diagText(r.Diagnostics))
	}
	// No change, no diff.
	if pr := h.plan("model", st, cfg); pr.Diagnostics.HasErrors() || !pr.PlannedState.RawEquals(st) {
		t.Fatalf("an unchanged model plans a change: %s", diagText(pr.Diagnostics))
	}
	// A changed weight shows in the plan with the new id.
	must(t, os.WriteFile(filepath.Join(dir, "base", "weights.bin"), []byte("base weightz"), 0o644))
	pr := h.plan("model", st, cfg)
	newID, _ := artifacts.HashPath(filepath.Join(dir, "base"), artifacts.HashOptions{})
	if pr.Diagnostics.HasErrors() || attrStr(pr.PlannedState, "id") != string(newID.ID) || len(pr.RequiresReplace) != 0 {
		t.Fatalf("changed model: planned id %s (want %s), replace %v %s", attrStr(pr.PlannedState, "id"), newID.ID, pr.RequiresReplace, diagText(pr.Diagnostics))
	}
	// Wiping the store is drift: the model is gone and gets imported again.
	must(t, os.RemoveAll(filepath.Join(h.store, "objects")))
	if r := h.read("model", st); !r.NewState.IsNull() {
		t.Fatalf("a model missing from the store must read as gone")
	}
}

func TestModelPathsStayInsideAllowedRoots(t *testing.T) {
	dir := fixtures(t)
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret.bin"), []byte("x"), 0o644))
	must(t, os.Symlink(outside, filepath.Join(dir, "link")))
	must(t, os.Symlink(filepath.Join(outside, "secret.bin"), filepath.Join(dir, "base", "evil.bin")))
	h := newHarness(t, dir)
	for _, src := range []string{"file://../" + filepath.Base(outside) + "/secret.bin", "file://" + outside + "/secret.bin", "file://link/secret.bin", "file://base"} {
		a := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str(src)}))
		if !a.diags.HasErrors() || !strings.Contains(diagText(a.diags), "allowed_roots") || !strings.Contains(diagText(a.diags), "[source]") {
			t.Errorf("%s: want an error on source mentioning allowed_roots, got %s", src, diagText(a.diags))
		}
	}
	// With the root allowed, it works.
	h2 := newHarness(t, dir, outside)
	a := h2.apply("model", cty.NilVal, h2.fill("model", map[string]cty.Value{"source": str("file://link/secret.bin")}))
	if a.diags.HasErrors() {
		t.Fatalf("allowed root refused: %s", diagText(a.diags))
	}
}

func TestModelFromHuggingFaceCache(t *testing.T) {
	dir := fixtures(t)
	hf := t.TempDir()
	t.Setenv("HF_HOME", hf)
	t.Setenv("HF_HUB_CACHE", "")
	repo := filepath.Join(hf, "hub", "models--acme--tiny-llm")
	commit := strings.Repeat("c", 40)
	must(t, os.MkdirAll(filepath.Join(repo, "blobs"), 0o755))
	must(t, os.MkdirAll(filepath.Join(repo, "refs"), 0o755))
	must(t, os.MkdirAll(filepath.Join(repo, "snapshots", commit), 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "blobs", "aaa"), []byte("safetensors bytes"), 0o644))
	must(t, os.Symlink("../../blobs/aaa", filepath.Join(repo, "snapshots", commit, "model.safetensors")))
	must(t, os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit+"\n"), 0o644))
	h := newHarness(t, dir)
	for _, rev := range []cty.Value{cty.NullVal(cty.String), str("main"), str(commit)} {
		a := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("hf://acme/tiny-llm"), "revision": rev}))
		if a.diags.HasErrors() {
			t.Fatalf("revision %#v: %s", rev, diagText(a.diags))
		}
		b, err := os.ReadFile(filepath.Join(attrStr(a.state, "path"), "model.safetensors"))
		if err != nil || string(b) != "safetensors bytes" {
			t.Fatalf("stored snapshot: %q %v", b, err)
		}
	}
	for _, c := range []struct{ src, rev, want string }{
		{"hf://acme/other", "main", "huggingface-cli download acme/other --revision main"},
		{"hf://acme/tiny-llm", "v2", "huggingface-cli download acme/tiny-llm --revision v2"},
		{"hf://acme/tiny-llm", strings.Repeat("d", 40), "not in the local Hugging Face cache"},
		{"hf://not-a-name", "main", "not a Hugging Face model name"},
	} {
		a := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str(c.src), "revision": str(c.rev)}))
		if !a.diags.HasErrors() || !strings.Contains(diagText(a.diags), c.want) {
			t.Errorf("%s@%s: want an error containing %q, got %s", c.src, c.rev, c.want, diagText(a.diags))
		}
	}
}

func TestModelFromArtifactAndUnsupportedSources(t *testing.T) {
	dir := fixtures(t)
	h := newHarness(t, dir)
	base := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("file://base")}))
	id := attrStr(base.state, "id")
	a := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str(id)}))
	if a.diags.HasErrors() || attrStr(a.state, "id") != id {
		t.Fatalf("artifact source: %s", diagText(a.diags))
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	if a := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str(missing)})); !strings.Contains(diagText(a.diags), "not in the artifact store") {
		t.Fatalf("missing artifact: %s", diagText(a.diags))
	}
	if a := h.apply("model", cty.NilVal, h.fill("model", map[string]cty.Value{"source": str("s3://bucket/m")})); !strings.Contains(diagText(a.diags), "Unsupported model source") {
		t.Fatalf("s3: %s", diagText(a.diags))
	}
}
