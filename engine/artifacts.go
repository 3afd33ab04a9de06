package engine

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
)

// DefaultArtifactDir is where the artifact store lives without an
// `artifacts` block, relative to the configuration directory.
const DefaultArtifactDir = ".llmops/artifacts"

// ArtifactDir resolves the artifact store path of a configuration: the
// `artifacts { path = ... }` block (which may use variables and locals),
// relative paths resolving against the configuration directory.
func ArtifactDir(cfg *configs.Config, vars map[string]cty.Value) (string, hcl.Diagnostics) {
	if cfg.Artifacts == nil {
		return filepath.Join(cfg.Dir, DefaultArtifactDir), nil
	}
	d := newEvalData(cfg, vars)
	for _, name := range sortedLocalNames(cfg) {
		d.setLocal(addrs.RootModuleInstance, name, cty.DynamicVal)
	}
	v, diags := d.rootScope().EvalExpr(cfg.Artifacts.Path, cty.String)
	if diags.HasErrors() {
		return "", diags
	}
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() || v.AsString() == "" {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid artifacts path",
			Detail:   fmt.Sprintf("artifacts.path must be a non-empty string known before planning (a literal or a variable). Default: %s.", DefaultArtifactDir),
			Subject:  cfg.Artifacts.Path.Range().Ptr(),
		}}
	}
	p := v.AsString()
	if !filepath.IsAbs(p) {
		p = filepath.Join(cfg.Dir, p)
	}
	return filepath.Clean(p), nil
}

func sortedLocalNames(cfg *configs.Config) []string {
	out := make([]string, 0, len(cfg.Locals))
	for n := range cfg.Locals {
		out = append(out, n)
	}
	return out
}
