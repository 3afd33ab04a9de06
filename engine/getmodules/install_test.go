package getmodules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/discovery"
)

// repo makes a git repository with one commit per content, each tagged,
// and returns its directory and the commits.
func repo(t *testing.T, versions ...string) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: install it (apt-get install git) to run these tests")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	var commits []string
	for _, v := range versions {
		os.MkdirAll(filepath.Join(dir, "mod"), 0o755)
		os.WriteFile(filepath.Join(dir, "mod", "main.llmops.hcl"), []byte(`output "v" { value = "`+v+`" }`+"\n"), 0o644)
		run("add", "-A")
		run("commit", "-q", "-m", v)
		run("tag", v)
		commits = append(commits, run("rev-parse", "HEAD"))
	}
	return dir, commits
}

func configure(t *testing.T, root, source string) {
	t.Helper()
	src := `module "m" { source = "` + source + `" }` + "\n"
	if err := os.WriteFile(filepath.Join(root, "main.llmops.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func installed(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".llmops", "modules", "m", "mod", "main.llmops.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallRefs(t *testing.T) {
	r, commits := repo(t, "v1", "v2")
	url := "git::file://" + r + "//mod"
	cases := []struct {
		ref, want, commit string
	}{
		{"v1", "v1", commits[0]},
		{"v2", "v2", commits[1]},
		{commits[0], "v1", commits[0]},
		{"main", "v2", commits[1]},
		{"", "v2", commits[1]},
	}
	for _, c := range cases {
		root := t.TempDir()
		src := url
		if c.ref != "" {
			src += "?ref=" + c.ref
		}
		configure(t, root, src)
		mods, diags := Install(context.Background(), Options{Root: root})
		if diags.HasErrors() {
			t.Fatalf("ref %q: %v", c.ref, diags)
		}
		if got := mods["m"]; got == nil || got.Commit != c.commit || got.Source != src {
			t.Errorf("ref %q: locked %+v, want commit %s", c.ref, got, c.commit)
		}
		if !strings.Contains(installed(t, root), c.want) {
			t.Errorf("ref %q: installed %q, want %s", c.ref, installed(t, root), c.want)
		}
		if _, err := os.Stat(filepath.Join(root, ".llmops", "modules", "m", ".git")); err == nil {
			t.Errorf("ref %q: the .git directory was kept", c.ref)
		}
		cfg, ds := configs.LoadDir(root)
		if ds.HasErrors() || cfg.Children["m"] == nil {
			t.Errorf("ref %q: the configuration does not load after init: %v", c.ref, ds)
		}
	}
}

func TestInstallErrors(t *testing.T) {
	r, commits := repo(t, "v1")
	root := t.TempDir()
	configure(t, root, "git::file://"+r+"//mod?ref=nope")
	if _, diags := Install(context.Background(), Options{Root: root}); !diags.HasErrors() || !strings.Contains(diags.Error(), `ref "nope" is neither a tag, a branch nor a commit`) {
		t.Errorf("unknown ref: %v", diags)
	}
	configure(t, root, "git::file://"+r+"//mod?ref=v1")
	gone := strings.Repeat("0", 40)
	locked := map[string]*discovery.LockedModule{"m": {Name: "m", Source: "git::file://" + r + "//mod?ref=v1", Commit: gone}}
	if _, diags := Install(context.Background(), Options{Root: root, Locked: locked}); !diags.HasErrors() || !strings.Contains(diags.Error(), "is not in") {
		t.Errorf("locked commit missing: %v", diags)
	}
	configure(t, root, "git::ext::sh -c touch% "+filepath.Join(root, "pwned"))
	if _, diags := Install(context.Background(), Options{Root: root}); !diags.HasErrors() {
		t.Errorf("an ext:: source was fetched")
	}
	if _, err := os.Stat(filepath.Join(root, "pwned")); err == nil {
		t.Fatalf("an ext:: source ran a command")
	}
	configure(t, root, "git::file://"+t.TempDir()+"/none//mod")
	if _, diags := Install(context.Background(), Options{Root: root}); !diags.HasErrors() || !strings.Contains(diags.Error(), "Cannot fetch module.m") {
		t.Errorf("missing repository: %v", diags)
	}
	// A module no longer called is removed with its files.
	configure(t, root, "git::file://"+r+"//mod?ref="+commits[0])
	if _, diags := Install(context.Background(), Options{Root: root}); diags.HasErrors() {
		t.Fatal(diags)
	}
	os.WriteFile(filepath.Join(root, "main.llmops.hcl"), []byte("\n"), 0o644)
	if _, diags := Install(context.Background(), Options{Root: root}); diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := os.Stat(filepath.Join(root, ".llmops", "modules", "m")); !os.IsNotExist(err) {
		t.Errorf("the module of a removed call is still installed: %v", err)
	}
}
