package configs

import (
	"strings"
	"testing"
)

func TestParseModuleSource(t *testing.T) {
	cases := []struct {
		in                string
		local, url, sub   string
		ref, errSubstring string
	}{
		{in: "./modules/finetune", local: "./modules/finetune"},
		{in: "../shared", local: "../shared"},
		{in: "git::https://git.example.com/ml/llm-modules.git//finetune?ref=v1.4.0", url: "https://git.example.com/ml/llm-modules.git", sub: "finetune", ref: "v1.4.0"},
		{in: "git::file:///tmp/repo", url: "file:///tmp/repo"},
		{in: "git::file:///tmp/repo//a/b/?ref=main", url: "file:///tmp/repo", sub: "a/b", ref: "main"},
		{in: "git::ssh://git@host/x.git?ref=0123abc", url: "ssh://git@host/x.git", ref: "0123abc"},
		{in: "git::https://h/x.git//../up", errSubstring: "leaves the repository"},
		{in: "git::-oProxyCommand=x", errSubstring: "may not start with '-'"},
		{in: "git::https://h/x.git?depth=1", errSubstring: "unknown git source argument"},
		{in: "git::", errSubstring: "needs a URL"},
		{in: "modules/finetune", errSubstring: "neither a local path"},
		{in: "hashicorp/consul/aws", errSubstring: "neither a local path"},
	}
	for _, c := range cases {
		s, err := ParseModuleSource(c.in)
		if c.errSubstring != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSubstring) {
				t.Errorf("%q: want error with %q, got %v", c.in, c.errSubstring, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if s.Local != c.local {
			t.Errorf("%q: local %q, want %q", c.in, s.Local, c.local)
		}
		if c.url != "" {
			if s.Git == nil || s.Git.URL != c.url || s.Git.Subdir != c.sub || s.Git.Ref != c.ref {
				t.Errorf("%q: got %+v, want url=%q sub=%q ref=%q", c.in, s.Git, c.url, c.sub, c.ref)
			}
		}
	}
}
