package discovery_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/engine/discovery"
)

// place writes an executable fake provider into dir and returns its path.
func place(t *testing.T, dir, typ, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, discovery.BinaryName(typ))
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestFindOrder(t *testing.T) {
	root := t.TempDir()
	cfg := filepath.Join(root, "cfg")
	plugins := filepath.Join(cfg, ".llmops", "plugins")
	pp1, pp2 := filepath.Join(root, "pp1"), filepath.Join(root, "pp2")
	exe := filepath.Join(root, "bin")
	path := filepath.Join(root, "path")
	opts := discovery.SearchOptions{ConfigDir: cfg, PluginPath: pp1 + string(os.PathListSeparator) + pp2, ExecutableDir: exe, PATH: path}
	tests := []struct {
		name    string
		present []string // directories holding a binary, named by variable
		want    string
	}{
		{"plugin dir first", []string{"plugins", "pp1", "exe", "path"}, "plugins"},
		{"plugin path in order", []string{"pp2", "pp1", "path"}, "pp1"},
		{"second plugin path", []string{"pp2", "exe"}, "pp2"},
		{"beside llmops", []string{"exe", "path"}, "exe"},
		{"PATH last", []string{"path"}, "path"},
	}
	dirs := map[string]string{"plugins": plugins, "pp1": pp1, "pp2": pp2, "exe": exe, "path": path}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range dirs {
				os.RemoveAll(d)
			}
			for _, name := range tt.present {
				place(t, dirs[name], "echo", "binary in "+name, 0o755)
			}
			b, err := discovery.Find("echo", opts)
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dirs[tt.want], discovery.BinaryName("echo"))
			if b.Path != want || b.Type != "echo" || b.SHA256 != sum("binary in "+tt.want) {
				t.Errorf("got %+v, want %s", b, want)
			}
		})
	}
}

func TestFindRelativePluginPath(t *testing.T) {
	cfg := t.TempDir()
	place(t, filepath.Join(cfg, "tools"), "echo", "x", 0o755)
	b, err := discovery.Find("echo", discovery.SearchOptions{ConfigDir: cfg, PluginPath: "tools"})
	if err != nil || b.Path != filepath.Join(cfg, "tools", discovery.BinaryName("echo")) {
		t.Fatalf("%+v %v", b, err)
	}
}

func TestNotFound(t *testing.T) {
	root := t.TempDir()
	cfg := filepath.Join(root, "cfg")
	place(t, filepath.Join(root, "noexec"), "echo", "x", 0o644)
	os.MkdirAll(filepath.Join(root, "isdir", discovery.BinaryName("echo")), 0o755)
	opts := discovery.SearchOptions{
		ConfigDir: cfg, PluginPath: filepath.Join(root, "noexec") + ":" + filepath.Join(root, "isdir"),
		ExecutableDir: filepath.Join(root, "bin"), PATH: filepath.Join(root, "p1") + "::" + filepath.Join(root, "bin"),
	}
	_, err := discovery.Find("echo", opts)
	var nf *discovery.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`provider "echo" not found`,
		filepath.Join(cfg, ".llmops", "plugins") + " (configuration plugin directory)",
		filepath.Join(root, "noexec") + " ($LLMOPS_PLUGIN_PATH)",
		filepath.Join(root, "bin") + " (beside llmops)",
		filepath.Join(root, "p1") + " ($PATH)",
		"not executable (chmod +x it)",
		"not a regular file",
		"copy it to " + filepath.Join(cfg, ".llmops", "plugins") + " as llmops-provider-echo",
		"llmops init",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, filepath.Join(root, "bin")+" (") != 1 {
		t.Errorf("a directory is listed twice:\n%s", msg)
	}
	if _, err := discovery.Find("../evil", opts); err == nil {
		t.Error("a type with a path separator was accepted")
	}
}

func TestHashFileStreams(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	content := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	os.WriteFile(p, []byte(content), 0o644)
	got, err := discovery.HashFile(p)
	if err != nil || got != sum(content) {
		t.Fatalf("%s %v", got, err)
	}
	if _, err := discovery.HashFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("no error for a missing file")
	}
}
