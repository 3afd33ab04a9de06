package engine

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// DefaultArtifactDir is where the artifact store lives without an
// `artifacts` block, relative to the configuration directory.
const DefaultArtifactDir = ".llmops/artifacts"

// ArtifactDir resolves the artifact store path of a configuration: the
// `artifacts { path = ... }` block (which may use variables and locals),
// relative paths resolving against the configuration directory. With a
// remote store (url), it is the local cache.
func ArtifactDir(cfg *configs.Config, vars map[string]cty.Value) (string, hcl.Diagnostics) {
	if cfg.Artifacts == nil || cfg.Artifacts.Path == nil {
		return filepath.Join(cfg.Dir, DefaultArtifactDir), nil
	}
	p, diags := artifactsString(cfg, vars, cfg.Artifacts.Path, "path",
		fmt.Sprintf("artifacts.path must be a non-empty string known before planning (a literal or a variable). Default: %s.", DefaultArtifactDir))
	if diags.HasErrors() {
		return "", diags
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(cfg.Dir, p)
	}
	return filepath.Clean(p), nil
}

// ArtifactStore resolves the remote artifact store of a configuration
// (`artifacts { url = ... }`, with endpoint, path_style, region and
// profile), or the zero value without one. A url that is neither s3:// nor
// oci:// is a directory (a shared filesystem), resolved against the
// configuration directory.
func ArtifactStore(cfg *configs.Config, vars map[string]cty.Value) (protocol.ArtifactStore, hcl.Diagnostics) {
	var out protocol.ArtifactStore
	a := cfg.Artifacts
	if a == nil {
		return out, nil
	}
	var diags hcl.Diagnostics
	str := func(expr hcl.Expression, name, detail string) string {
		if expr == nil {
			return ""
		}
		v, ds := artifactsString(cfg, vars, expr, name, detail)
		diags = append(diags, ds...)
		return v
	}
	out.URL = str(a.URL, "url", "artifacts.url must be a non-empty string known before planning: s3://BUCKET/PREFIX, oci://REGISTRY/REPOSITORY or a directory.")
	out.Endpoint = str(a.Endpoint, "endpoint", "artifacts.endpoint must be the http(s) URL of an S3-compatible server, known before planning.")
	out.Region = str(a.Region, "region", "artifacts.region must be an AWS region name, known before planning.")
	out.Profile = str(a.Profile, "profile", "artifacts.profile must be the name of a profile of the AWS config, known before planning.")
	if a.PathStyle != nil {
		v, ds := evalArtifactsAttr(cfg, vars, a.PathStyle, cty.Bool)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			if !v.IsKnown() || v.IsNull() {
				diags = append(diags, artifactsDiag("path_style", "artifacts.path_style must be true or false, known before planning.", a.PathStyle))
			} else {
				out.PathStyle = v.True()
			}
		}
	}
	if diags.HasErrors() {
		return out, diags
	}
	if out.URL == "" {
		for name, expr := range map[string]hcl.Expression{"endpoint": a.Endpoint, "path_style": a.PathStyle, "region": a.Region, "profile": a.Profile} {
			if expr != nil {
				diags = append(diags, artifactsDiag(name, fmt.Sprintf("artifacts.%s configures a remote store, but the block has no url: add url = \"s3://BUCKET/PREFIX\" (or remove %s).", name, name), expr))
			}
		}
		return out, diags
	}
	if scheme, _, ok := strings.Cut(out.URL, "://"); ok && !remote.IsRemoteURL(out.URL) && scheme != "file" {
		diags = append(diags, artifactsDiag("url", fmt.Sprintf("%q is not a remote store: want s3://BUCKET[/PREFIX], oci://REGISTRY/REPOSITORY or a directory (a path, or file:///path).", out.URL), a.URL))
		return out, diags
	}
	if !remote.IsRemoteURL(out.URL) {
		p := strings.TrimPrefix(out.URL, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(cfg.Dir, p)
		}
		out.URL = filepath.Clean(p)
	}
	if err := remote.Config(out).Check(); err != nil {
		diags = append(diags, artifactsDiag("url", err.Error()+".", a.URL))
	}
	return out, diags
}

func artifactsString(cfg *configs.Config, vars map[string]cty.Value, expr hcl.Expression, name, detail string) (string, hcl.Diagnostics) {
	v, diags := evalArtifactsAttr(cfg, vars, expr, cty.String)
	if diags.HasErrors() {
		return "", diags
	}
	if !v.IsKnown() || v.IsNull() || v.AsString() == "" {
		return "", hcl.Diagnostics{artifactsDiag(name, detail, expr)}
	}
	return v.AsString(), nil
}

func evalArtifactsAttr(cfg *configs.Config, vars map[string]cty.Value, expr hcl.Expression, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	d := newEvalData(cfg, vars)
	for _, name := range sortedLocalNames(cfg) {
		d.setLocal(addrs.RootModuleInstance, name, cty.DynamicVal)
	}
	v, diags := d.rootScope().EvalExpr(expr, ty)
	v, _ = v.Unmark()
	return v, diags
}

func artifactsDiag(name, detail string, expr hcl.Expression) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid artifacts " + strings.ReplaceAll(name, "_", " "),
		Detail:   detail,
		Subject:  expr.Range().Ptr(),
	}
}

func sortedLocalNames(cfg *configs.Config) []string {
	out := make([]string, 0, len(cfg.Locals))
	for n := range cfg.Locals {
		out = append(out, n)
	}
	return out
}
