package discovery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// SearchOptions say where to look for provider executables.
type SearchOptions struct {
	// ConfigDir is the configuration directory; its .llmops/plugins is
	// searched first.
	ConfigDir string
	// PluginPath is $LLMOPS_PLUGIN_PATH: directories separated by the
	// system's list separator (":" on Unix). Relative entries are relative
	// to ConfigDir.
	PluginPath string
	// ExecutableDir is the directory of the running llmops binary.
	ExecutableDir string
	// PATH is $PATH.
	PATH string
}

// DefaultSearchOptions returns the options for configDir from the
// environment ($LLMOPS_PLUGIN_PATH, $PATH) and the running executable.
func DefaultSearchOptions(configDir string) SearchOptions {
	opts := SearchOptions{ConfigDir: configDir, PluginPath: os.Getenv("LLMOPS_PLUGIN_PATH"), PATH: os.Getenv("PATH")}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		opts.ExecutableDir = filepath.Dir(exe)
	}
	return opts
}

// Binary is a provider executable that was found.
type Binary struct {
	// Type is the provider type, e.g. "null".
	Type string
	// Path is the executable's absolute path.
	Path string
	// SHA256 is the hex SHA-256 of the executable's contents (of the bytes
	// copied into the cache, once Cache ran).
	SHA256 string
	// Exec is the copy of the executable that Cache made, named by its
	// hash: what llmops runs. Empty until Cache.
	Exec string
	// Version is the provider's own version; empty until ProbeVersion (or
	// the caller) sets it.
	Version string
}

// PluginDir is the configuration's own plugin directory, searched first.
const PluginDir = ".llmops/plugins"

// BinaryName is the executable name of a provider type.
func BinaryName(typ string) string {
	name := "llmops-provider-" + typ
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return name
}

// SearchDir is one directory Find looks in, and why.
type SearchDir struct {
	Dir    string
	Source string // "configuration plugin directory", "$LLMOPS_PLUGIN_PATH", "beside llmops", "$PATH"
}

// SearchDirs lists the directories Find searches, in order, without
// duplicates or empty entries.
func SearchDirs(opts SearchOptions) []SearchDir {
	var out []SearchDir
	seen := map[string]bool{}
	add := func(dir, source string) {
		if dir == "" {
			return
		}
		if !filepath.IsAbs(dir) && opts.ConfigDir != "" {
			dir = filepath.Join(opts.ConfigDir, dir)
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		if seen[dir] {
			return
		}
		seen[dir] = true
		out = append(out, SearchDir{Dir: dir, Source: source})
	}
	if opts.ConfigDir != "" {
		add(filepath.Join(opts.ConfigDir, PluginDir), "configuration plugin directory")
	}
	for _, d := range filepath.SplitList(opts.PluginPath) {
		add(d, "$LLMOPS_PLUGIN_PATH")
	}
	add(opts.ExecutableDir, "beside llmops")
	for _, d := range filepath.SplitList(opts.PATH) {
		add(d, "$PATH")
	}
	return out
}

// NotFoundError says a provider executable is in none of the directories
// searched.
type NotFoundError struct {
	Type     string
	Searched []SearchDir
	// Skipped lists files with the right name that are not usable
	// executables, with the reason.
	Skipped []string
	// PluginDir is where the user should put the provider.
	PluginDir string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provider %q not found: there is no executable %s in any of these directories:\n", e.Type, BinaryName(e.Type))
	for _, d := range e.Searched {
		fmt.Fprintf(&b, "  %s (%s)\n", d.Dir, d.Source)
	}
	for _, s := range e.Skipped {
		fmt.Fprintf(&b, "  skipped %s\n", s)
	}
	dir := e.PluginDir
	if dir == "" {
		dir = PluginDir
	}
	fmt.Fprintf(&b, "To fix this, build or download the provider and copy it to %s as %s (or add its directory to $LLMOPS_PLUGIN_PATH), then run `llmops init`.",
		dir, BinaryName(e.Type))
	return b.String()
}

// Find finds the executable of provider typ (see SearchDirs for the order)
// and hashes it. The first match wins.
func Find(typ string, opts SearchOptions) (*Binary, error) {
	b, err := Locate(typ, opts)
	if err != nil {
		return nil, err
	}
	if b.SHA256, err = HashFile(b.Path); err != nil {
		return nil, fmt.Errorf("provider %q: %w", typ, err)
	}
	return b, nil
}

// Locate is Find without the hash: the Binary's SHA256 is empty (Cache and
// CacheLocked set it).
func Locate(typ string, opts SearchOptions) (*Binary, error) {
	if typ == "" || strings.ContainsAny(typ, `/\`) {
		return nil, fmt.Errorf("invalid provider type %q", typ)
	}
	name := BinaryName(typ)
	dirs := SearchDirs(opts)
	nf := &NotFoundError{Type: typ, Searched: dirs}
	if opts.ConfigDir != "" {
		nf.PluginDir = filepath.Join(opts.ConfigDir, PluginDir)
	}
	for _, d := range dirs {
		path := filepath.Join(d.Dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if !fi.Mode().IsRegular() {
			nf.Skipped = append(nf.Skipped, path+": not a regular file")
			continue
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
			nf.Skipped = append(nf.Skipped, path+": not executable (chmod +x it)")
			continue
		}
		return &Binary{Type: typ, Path: path}, nil
	}
	return nil, nf
}

// HashFile returns the hex SHA-256 of a file's contents, read as a stream.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Executable is what to run for b: the cached copy when there is one.
func (b *Binary) Executable() string {
	if b.Exec != "" {
		return b.Exec
	}
	return b.Path
}

// ProbeVersion starts the provider, asks its version through GetSchema
// and stops it, setting b.Version.
func ProbeVersion(ctx context.Context, b *Binary, opts plugin.StartOptions) error {
	opts.Path, opts.Type = b.Executable(), b.Type
	p, err := plugin.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer p.Close()
	resp := p.GetSchema(ctx, protocol.GetSchemaRequest{})
	if err := resp.Diagnostics.Err(); err != nil {
		return fmt.Errorf("provider %q: %w", b.Type, err)
	}
	b.Version = resp.ProviderVersion
	return nil
}
