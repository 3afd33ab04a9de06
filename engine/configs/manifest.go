package configs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ModuleManifest records what `llmops init` installed under ModulesDir:
// for each git module call path (ModuleKey), the source it was fetched
// from and the commit checked out. The loader reads it to find a module
// and to refuse one whose source changed since (init must run again).
type ModuleManifest struct {
	Modules map[string]InstalledModule `json:"modules"`
}

// InstalledModule is one installed git module.
type InstalledModule struct {
	Source string `json:"source"`
	Commit string `json:"commit"`
}

// manifestPath is the manifest of the configuration in root.
func manifestPath(root string) string {
	return filepath.Join(root, filepath.FromSlash(ModulesDir), "modules.json")
}

// ReadModuleManifest reads the manifest of the configuration in root; an
// absent one is empty.
func ReadModuleManifest(root string) (*ModuleManifest, error) {
	m := &ModuleManifest{Modules: map[string]InstalledModule{}}
	b, err := os.ReadFile(manifestPath(root))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%s is damaged (%s): delete it and run `llmops init`", manifestPath(root), err)
	}
	if m.Modules == nil {
		m.Modules = map[string]InstalledModule{}
	}
	return m, nil
}

// WriteModuleManifest replaces the manifest of the configuration in root.
func WriteModuleManifest(root string, m *ModuleManifest) error {
	p := manifestPath(root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
