package cliconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	exe := func(rel string) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	echoBin := exe("echo/llmops-provider-echo")
	nullBin := exe("elsewhere/my-null")
	os.WriteFile(filepath.Join(dir, "notexec"), []byte("x"), 0o644)

	for _, c := range []struct {
		name    string
		file    string // the CLI configuration file's content ("" for none)
		env     string // LLMOPS_DEV_OVERRIDES
		want    map[string]string
		wantErr string
	}{
		{name: "none", want: map[string]string{}},
		{name: "terraform form, a directory",
			file: "provider_installation {\n  dev_overrides {\n    \"echo\" = \"" + filepath.Join(dir, "echo") + "\"\n  }\n}\n",
			want: map[string]string{"echo": echoBin}},
		{name: "identifier key, the binary, relative to the file",
			file: "provider_installation {\n  dev_overrides {\n    null = \"elsewhere/my-null\"\n  }\n}\n",
			want: map[string]string{"null": nullBin}},
		{name: "environment", env: "echo=" + echoBin + ", null=" + nullBin,
			want: map[string]string{"echo": echoBin, "null": nullBin}},
		{name: "environment wins over the file",
			file: "provider_installation {\n  dev_overrides {\n    \"null\" = \"" + echoBin + "\"\n  }\n}\n",
			env:  "null=" + nullBin, want: map[string]string{"null": nullBin}},
		{name: "missing binary", file: "provider_installation {\n  dev_overrides {\n    \"echo\" = \"/nonexistent\"\n  }\n}\n",
			wantErr: "/nonexistent, which does not exist"},
		{name: "not executable", env: "echo=" + filepath.Join(dir, "notexec"), wantErr: "is not an executable file"},
		{name: "bad environment", env: "echo", wantErr: "is not TYPE=PATH"},
		{name: "not a string", file: "provider_installation {\n  dev_overrides {\n    echo = 3\n  }\n}\n", wantErr: "must be a path"},
		{name: "syntax error", file: "provider_installation {\n", wantErr: "Unclosed configuration block"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{EnvDevOverrides: c.env}
			home := t.TempDir()
			if c.file != "" {
				env[EnvFile] = filepath.Join(dir, "rc.hcl")
				if err := os.WriteFile(env[EnvFile], []byte(c.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg, diags := Load(func(k string) string { return env[k] }, home)
			if c.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), c.wantErr) {
					t.Fatalf("want an error containing %q, got %v", c.wantErr, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			got := map[string]string{}
			for typ, o := range cfg.DevOverrides {
				got[typ] = o.Path
			}
			if len(got) != len(c.want) {
				t.Fatalf("overrides = %v, want %v", got, c.want)
			}
			for typ, p := range c.want {
				if got[typ] != p {
					t.Errorf("override of %s = %q, want %q", typ, got[typ], p)
				}
			}
			if w := cfg.Warning(); (w != nil) != (len(c.want) > 0) {
				t.Errorf("warning = %v with %d overrides", w, len(c.want))
			}
		})
	}
}

// The file named by LLMOPS_CLI_CONFIG_FILE must exist; ~/.llmopsrc is read
// when it exists.
func TestLoadFiles(t *testing.T) {
	_, diags := Load(func(k string) string {
		if k == EnvFile {
			return "/nonexistent/rc"
		}
		return ""
	}, "")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), EnvFile) {
		t.Errorf("a missing named file: %v", diags)
	}
	home := t.TempDir()
	bin := filepath.Join(home, "llmops-provider-echo")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(home, DefaultFile), []byte("provider_installation {\n  dev_overrides {\n    \"echo\" = \"~/\"\n  }\n}\n"), 0o644)
	t.Setenv("HOME", home)
	cfg, diags := Load(func(string) string { return "" }, home)
	if diags.HasErrors() || cfg.File != filepath.Join(home, DefaultFile) || cfg.DevOverrides["echo"] == nil || cfg.DevOverrides["echo"].Path != bin {
		t.Errorf("~/.llmopsrc: %+v %v", cfg, diags)
	}
	if w := cfg.Warning(); w == nil || !strings.Contains(w.Detail, "echo in "+bin) || !strings.Contains(w.Detail, DefaultFile) {
		t.Errorf("warning: %+v", w)
	}
}
