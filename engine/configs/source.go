package configs

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/addrs"
)

// ModulesDir is where `llmops init` installs the modules fetched from git,
// relative to the root configuration directory: one directory per module
// call path (ModuleInstallDir).
const ModulesDir = ".llmops/modules"

// ModuleSource is where a module's files come from: a local directory
// (relative to the calling module) or a git repository.
type ModuleSource struct {
	// Local is the path of a local module ("./modules/finetune"), empty
	// for a git source.
	Local string
	// Git is set for a git source.
	Git *GitSource
}

// GitSource is `git::URL//SUBDIR?ref=REF`: any URL the git command can
// fetch (https, ssh, file://), an optional subdirectory of the repository,
// and an optional ref (a tag, a branch or a commit; the default branch
// when empty).
type GitSource struct {
	URL    string
	Subdir string
	Ref    string
}

func (s ModuleSource) String() string {
	if s.Git == nil {
		return s.Local
	}
	out := "git::" + s.Git.URL
	if s.Git.Subdir != "" {
		out += "//" + s.Git.Subdir
	}
	if s.Git.Ref != "" {
		out += "?ref=" + s.Git.Ref
	}
	return out
}

// WithoutRef is the git source without its ref: what the lock file
// compares to tell a changed ref from a new module.
func (g GitSource) WithoutRef() string {
	out := "git::" + g.URL
	if g.Subdir != "" {
		out += "//" + g.Subdir
	}
	return out
}

// ParseModuleSource reads a module block's source. Local paths start with
// ./ or ../; git sources with git::.
func ParseModuleSource(s string) (ModuleSource, error) {
	switch {
	case strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || s == "." || s == "..":
		return ModuleSource{Local: s}, nil
	case strings.HasPrefix(s, "git::"):
		g, err := parseGitSource(strings.TrimPrefix(s, "git::"))
		if err != nil {
			return ModuleSource{}, err
		}
		return ModuleSource{Git: g}, nil
	}
	return ModuleSource{}, fmt.Errorf("%q is neither a local path (starting with ./ or ../) nor a git source (git::URL//SUBDIR?ref=REF)", s)
}

func parseGitSource(s string) (*GitSource, error) {
	g := &GitSource{}
	if i := strings.LastIndex(s, "?"); i >= 0 {
		q, err := url.ParseQuery(s[i+1:])
		if err != nil {
			return nil, fmt.Errorf("invalid query in git source: %s", err)
		}
		for k := range q {
			if k != "ref" {
				return nil, fmt.Errorf("unknown git source argument %q: only ref=TAG|BRANCH|COMMIT is supported", k)
			}
		}
		g.Ref = q.Get("ref")
		s = s[:i]
	}
	// The subdirectory follows a "//" that is not the scheme's.
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	if i := strings.Index(s[start:], "//"); i >= 0 {
		g.Subdir = strings.Trim(s[start+i+2:], "/")
		s = s[:start+i]
	}
	if s == "" {
		return nil, fmt.Errorf("a git source needs a URL after git::")
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(g.Ref, "-") {
		return nil, fmt.Errorf("a git URL or ref may not start with '-'")
	}
	if g.Subdir != "" {
		clean := path.Clean(g.Subdir)
		if clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return nil, fmt.Errorf("the subdirectory %q leaves the repository", g.Subdir)
		}
		g.Subdir = clean
	}
	g.URL = s
	return g, nil
}

// ModuleInstallDir is the directory `llmops init` fetches the git module
// called at path into, under the root configuration directory root.
func ModuleInstallDir(root string, p addrs.Module) string {
	return filepath.Join(root, filepath.FromSlash(ModulesDir), ModuleKey(p))
}

// ModuleKey names a module call path in the lock file and under
// ModulesDir: the call names joined with dots ("support_bot",
// "support_bot.inner").
func ModuleKey(p addrs.Module) string { return strings.Join(p.Names(), ".") }
