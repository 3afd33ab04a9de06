package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/llmops/llmops/engine/discovery"
	"github.com/llmops/llmops/engine/getmodules"
)

// repoURLs replaces @REPO_<name>@ in a configuration with the file://
// URL of the scenario's git repository name.
func (h *harness) repoURLs(b []byte) []byte {
	return repoRE.ReplaceAllFunc(b, func(m []byte) []byte {
		name := string(repoRE.FindSubmatch(m)[1])
		return []byte("file://" + filepath.Join(h.dir, ".repos", name))
	})
}

var repoRE = regexp.MustCompile(`@REPO_([A-Za-z0-9_]+)@`)

// gitCommit makes the content of src the next commit of the repository
// repo, tagged tag.
func (h *harness) gitCommit(t *testing.T, repo, src, tag string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: install it (apt-get install git) to run the git module scenarios")
	}
	dir := filepath.Join(h.dir, ".repos", repo)
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+h.dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		run("init", "-q", "-b", "main")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != ".git" {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	run("add", "-A")
	run("commit", "-q", "-m", tag)
	run("tag", tag)
}

// initModules fetches the git modules as `llmops init` (-upgrade) does,
// keeping the lock file in the working directory, and writes what it
// did. It reports false when init failed.
func (h *harness) initModules(t *testing.T, out *strings.Builder, upgrade bool) bool {
	old, diags := discovery.ReadLockFile(h.dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var progress strings.Builder
	mods, diags := getmodules.Install(context.Background(), getmodules.Options{Root: h.dir, Locked: old.Modules, Upgrade: upgrade, Progress: &progress})
	out.WriteString("init:\n")
	for _, l := range strings.Split(strings.TrimSpace(progress.String()), "\n") {
		if l != "" {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	if diags.HasErrors() {
		writeDiags(out, diags)
		return false
	}
	lf := &discovery.LockFile{Modules: mods}
	if err := lf.Write(h.dir); err != nil {
		t.Fatal(err)
	}
	return true
}

var commitRE = regexp.MustCompile(`\b[0-9a-f]{40}\b|\b[0-9a-f]{12}\b`)

// normalizeCommits names commit ids COMMIT1, COMMIT2... in order of first
// appearance (a 12-digit short id names the same commit as its full id).
func normalizeCommits(s string) string {
	names := map[string]string{}
	return commitRE.ReplaceAllStringFunc(s, func(c string) string {
		key := c[:12]
		if n, ok := names[key]; ok {
			return n
		}
		names[key] = fmt.Sprintf("COMMIT%d", len(names)+1)
		return names[key]
	})
}
