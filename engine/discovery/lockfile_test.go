package discovery_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/engine/discovery"
)

func TestLockFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	nullPath := place(t, filepath.Join(dir, ".llmops", "plugins"), "null", "null binary", 0o755)
	lf := &discovery.LockFile{}
	lf.Lock(&discovery.Binary{Type: "null", Path: nullPath, SHA256: sum("null binary"), Version: "0.1.0"})
	lf.Lock(&discovery.Binary{Type: "echo", Path: "/opt/llmops/llmops-provider-echo", SHA256: sum("echo"), Version: "1.2.3"})
	commit := strings.Repeat("ab", 20)
	lf.Modules = map[string]*discovery.LockedModule{"bot.inner": {Source: "git::file:///m//sub?ref=v1", Commit: commit}}
	if err := lf.Write(dir); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(filepath.Join(dir, discovery.LockFileName))
	text := string(src)
	for _, want := range []string{
		"# This file is maintained by `llmops init`",
		`provider "echo" {`,
		`  version = "1.2.3"`,
		`  hashes  = ["` + discovery.Platform() + `:sha256:` + sum("echo") + `"]`,
		`  path    = ".llmops/plugins/llmops-provider-null"`,
		`module "bot.inner" {`,
		`  source = "git::file:///m//sub?ref=v1"`,
		`  commit = "` + commit + `"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lock file lacks %q:\n%s", want, text)
		}
	}
	// A committed lock file records no machine's absolute paths.
	if strings.Contains(text, "/opt/llmops") || strings.Contains(text, dir) {
		t.Errorf("the lock file records an absolute path:\n%s", text)
	}
	if strings.Index(text, `"echo"`) > strings.Index(text, `"null"`) {
		t.Errorf("providers not sorted:\n%s", text)
	}
	got, diags := discovery.ReadLockFile(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	n := got.Providers["null"]
	if h, _ := n.Hash(); n == nil || n.Version != "0.1.0" || h != sum("null binary") || n.Type != "null" || n.Path != ".llmops/plugins/llmops-provider-null" {
		t.Errorf("null entry: %+v", n)
	}
	if len(got.Providers) != 2 {
		t.Errorf("providers: %v", got.Providers)
	}
	if m := got.Modules["bot.inner"]; m == nil || m.Commit != commit || m.Source != "git::file:///m//sub?ref=v1" {
		t.Errorf("module entry: %+v", m)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestReadLockFileMissing(t *testing.T) {
	lf, diags := discovery.ReadLockFile(t.TempDir())
	if diags.HasErrors() || lf == nil || len(lf.Providers) != 0 {
		t.Fatalf("%+v %v", lf, diags)
	}
}

func TestReadLockFileErrors(t *testing.T) {
	good := `"sha256:` + strings.Repeat("a", 64) + `"`
	tests := []struct {
		name, src, want string
	}{
		{"syntax", `provider "null" {`, "Unclosed configuration block"},
		{"bad hash", `provider "null" { hash = "md5:abc" }`, "Invalid hash"},
		{"upper-case hash", `provider "null" { hash = "sha256:` + strings.Repeat("A", 64) + `" }`, "Invalid hash"},
		{"missing hash", `provider "null" { version = "1" }`, `Missing hashes`},
		{"bad platform hash", `provider "null" { hashes = ["linux:sha256:` + strings.Repeat("a", 64) + `"] }`, "Invalid hash"},
		{"duplicate", "provider \"null\" { hash = " + good + " }\nprovider \"null\" { hash = " + good + " }", "Duplicate provider"},
		{"stray attribute", "x = 1\nprovider \"null\" { hash = " + good + " }", "Unsupported argument"},
		{"unknown block", `modul "x" {}`, "Unsupported block type"},
		{"module without commit", `module "x" { source = "git::file:///r" }`, "Missing required argument"},
		{"module bad commit", `module "x" {
  source = "git::file:///r"
  commit = "v1.0"
}`, "Invalid commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, discovery.LockFileName), []byte(tt.src), 0o644)
			_, diags := discovery.ReadLockFile(dir)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
				t.Fatalf("diags = %v, want %q", diags, tt.want)
			}
			if !strings.Contains(diags.Error(), discovery.LockFileName) {
				t.Errorf("diagnostics should name the file: %v", diags)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	lf := &discovery.LockFile{}
	lf.Lock(&discovery.Binary{Type: "null", SHA256: sum("v1")})
	if err := discovery.Verify(lf, &discovery.Binary{Type: "null", SHA256: sum("v1")}); err != nil {
		t.Errorf("matching binary refused: %v", err)
	}
	lf.Providers["null"].Hashes[discovery.Platform()] = "sha256:" + sum("v1") // either spelling is accepted
	if err := discovery.Verify(lf, &discovery.Binary{Type: "null", SHA256: sum("v1")}); err != nil {
		t.Errorf("prefixed hash refused: %v", err)
	}
	err := discovery.Verify(lf, &discovery.Binary{Type: "null", Path: "/x/llmops-provider-null", SHA256: sum("v2")})
	var me *discovery.MismatchError
	if !errors.As(err, &me) || me.Locked != sum("v1") || me.Actual != sum("v2") {
		t.Fatalf("err = %#v", err)
	}
	for _, want := range []string{`provider "null"`, "/x/llmops-provider-null", "sha256:" + sum("v1"), "sha256:" + sum("v2"), "llmops init -upgrade"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	var nl *discovery.NotLockedError
	if err := discovery.Verify(lf, &discovery.Binary{Type: "echo"}); !errors.As(err, &nl) || !strings.Contains(err.Error(), "llmops init") {
		t.Errorf("unlocked provider: %v", err)
	}
	if err := discovery.Verify(nil, &discovery.Binary{Type: "echo"}); !errors.As(err, &nl) {
		t.Errorf("nil lock file: %v", err)
	}
	// Locked on another platform only: refused, saying how to add this one.
	other := &discovery.LockFile{Providers: map[string]*discovery.LockedProvider{"null": {Type: "null", Hashes: map[string]string{"plan9_mips": sum("v1")}}}}
	if err := discovery.Verify(other, &discovery.Binary{Type: "null", SHA256: sum("v1")}); !errors.As(err, &nl) || !strings.Contains(err.Error(), "plan9_mips") || !strings.Contains(err.Error(), "llmops providers lock") {
		t.Errorf("a platform not locked: %v", err)
	}
}

// One entry holds a hash per platform; an older file's single hash is read
// as this platform's; locking this platform again keeps the others unless
// its binary changed.
func TestLockFileHashesPerPlatform(t *testing.T) {
	dir := t.TempDir()
	old := `provider "null" {
  version = "0.1.0"
  hash    = "sha256:` + sum("v1") + `"
  path    = "/home/someone/llmops-provider-null"
}
`
	os.WriteFile(filepath.Join(dir, discovery.LockFileName), []byte(old), 0o644)
	lf, diags := discovery.ReadLockFile(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := discovery.Verify(lf, &discovery.Binary{Type: "null", SHA256: sum("v1")}); err != nil {
		t.Fatalf("an old single hash is this platform's: %v", err)
	}
	lf.Providers["null"].Hashes["darwin_arm64"] = sum("mac")
	lf.Lock(&discovery.Binary{Type: "null", Version: "0.1.0", SHA256: sum("v1")})
	if got := lf.Providers["null"].Hashes["darwin_arm64"]; got != sum("mac") {
		t.Errorf("the same binary again dropped another platform's hash")
	}
	if err := lf.Write(dir); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(filepath.Join(dir, discovery.LockFileName))
	want := `hashes  = ["darwin_arm64:sha256:` + sum("mac") + `", "` + discovery.Platform() + `:sha256:` + sum("v1") + `"]`
	if discovery.Platform() < "darwin_arm64" {
		want = `hashes  = ["` + discovery.Platform() + `:sha256:` + sum("v1") + `", "darwin_arm64:sha256:` + sum("mac") + `"]`
	}
	if !strings.Contains(string(src), want) || strings.Contains(string(src), "hash    =") || strings.Contains(string(src), "/home/someone") {
		t.Errorf("lock file:\n%s\nwant %s", src, want)
	}
	back, diags := discovery.ReadLockFile(dir)
	if diags.HasErrors() || len(back.Providers["null"].Hashes) != 2 {
		t.Fatalf("read back: %+v %v", back.Providers["null"], diags)
	}
	// An upgrade on this platform drops the others (they are stale).
	lf.Lock(&discovery.Binary{Type: "null", Version: "0.2.0", SHA256: sum("v2")})
	if len(lf.Providers["null"].Hashes) != 1 {
		t.Errorf("after an upgrade: %v", lf.Providers["null"].Hashes)
	}
}
