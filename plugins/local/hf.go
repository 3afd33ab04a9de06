package local

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var hfNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// hfCacheDir is the Hugging Face hub cache: $HF_HUB_CACHE, $HF_HOME/hub,
// $XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub.
func hfCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// resolveHF finds the snapshot directory of hf://org/name at revision (a
// branch or tag recorded under refs/, or a commit hash) in the local
// cache, laid out as models--org--name/{refs/<rev>,snapshots/<commit>/}.
func resolveHF(src, revision string) (dir, commit string, err error) {
	name := strings.TrimPrefix(src, "hf://")
	if !hfNameRE.MatchString(name) {
		return "", "", fmt.Errorf("%q is not a Hugging Face model name: write hf://org/name", src)
	}
	if revision == "" {
		revision = "main"
	}
	cache := hfCacheDir()
	repo := filepath.Join(cache, "models--"+strings.ReplaceAll(name, "/", "--"))
	howto := fmt.Sprintf("Download it first, e.g. `huggingface-cli download %s --revision %s` (or `hf download %s --revision %s`), or set HF_HOME to the cache that holds it.", name, revision, name, revision)
	if _, err := os.Stat(repo); err != nil {
		return "", "", fmt.Errorf("the model %s is not in the local Hugging Face cache (%s). %s", name, cache, howto)
	}
	commit = revision
	if !commitRE.MatchString(revision) {
		if strings.Contains(revision, "..") {
			return "", "", fmt.Errorf("invalid revision %q", revision)
		}
		b, err := os.ReadFile(filepath.Join(repo, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return "", "", fmt.Errorf("the model %s is cached (%s) but not at revision %q. %s", name, repo, revision, howto)
		}
		commit = strings.TrimSpace(string(b))
	}
	dir = filepath.Join(repo, "snapshots", commit)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("the model %s at revision %s (commit %s) is not in the local Hugging Face cache (%s). %s", name, revision, commit, repo, howto)
	}
	return dir, commit, nil
}
