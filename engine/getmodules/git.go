package getmodules

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git runs the git command with args in dir, without a shell and with an
// environment that carries none of llmops's secrets and never prompts.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return strings.TrimSpace(out.String()), nil
}

// gitEnv is the environment of git: the user's (for credentials, proxies
// and ssh), less llmops's state key and variable values, with prompts off
// and only the transports that fetch (no ext::, which runs a command).
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LLMOPS_STATE_KEY") || strings.HasPrefix(kv, "LLMOPS_VAR_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh")
}

// fetch checks out url at commit (or, when commit is empty, at what ref
// names: a tag, a branch, a commit, or the default branch when empty)
// into dest, replacing what was there, without the .git directory. It
// returns the commit checked out.
func fetch(ctx context.Context, url, ref, commit, dest string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := git(ctx, filepath.Dir(dest), "clone", "--quiet", "--no-checkout", "--", url, tmp); err != nil {
		return "", err
	}
	if commit == "" {
		if commit, err = resolve(ctx, tmp, ref); err != nil {
			return "", err
		}
	}
	if _, err := git(ctx, tmp, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit); err != nil {
		return "", fmt.Errorf("commit %s is not in %s (was it force-pushed away?): %w", commit, url, err)
	}
	head, err := git(ctx, tmp, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(filepath.Join(tmp, ".git")); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dest); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return "", err
	}
	return head, nil
}

// resolve finds the commit ref names in the clone at dir: a tag, a
// commit, the default branch (empty ref) or a branch of the remote.
func resolve(ctx context.Context, dir, ref string) (string, error) {
	if ref == "" {
		return git(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	}
	for _, cand := range []string{"refs/tags/" + ref, "refs/remotes/origin/" + ref, ref} {
		if c, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", cand+"^{commit}"); err == nil && c != "" {
			return c, nil
		}
	}
	return "", fmt.Errorf("ref %q is neither a tag, a branch nor a commit of the repository", ref)
}
