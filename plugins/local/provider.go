package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

// Version is the local provider's release version.
const Version = "0.1.0"

// Provider returns the local provider.
func Provider() *sdk.Provider {
	return &sdk.Provider{
		Name:    "local",
		Version: Version,
		Schema: sdk.Block{
			Description: "Runs the lifecycle on this host.",
			Attributes: sdk.Attributes{
				"allowed_roots": sdk.Attr(cty.List(cty.String)).Optional().
					Description("Absolute directories that file:// sources may use besides the configuration directory."),
				"price_per_hour": sdk.Attr(cty.Number).Optional().
					Description("What an hour of work on this host costs, for placement budgets (default 0: owned hardware)."),
				"env_passthrough": sdk.Attr(cty.List(cty.String)).Optional().
					Description("Variables of llmops' environment that jobs and serving replicas get besides the default allow-list (PATH, HOME, locale, proxy, CUDA, HF, ...; docs/job-contract.md). `PREFIX_*` passes every variable with that prefix."),
			},
		},
		ValidateConfig: validateProviderConfig,
		Configure:      configure,
		Offers:         offers,
		Resources: map[string]*sdk.Resource{
			schema.Model:          modelResource(),
			schema.Dataset:        datasetResource(),
			schema.Prompt:         promptResource(),
			schema.TrainingRun:    trainingRunResource(),
			schema.Evaluation:     evaluationResource(),
			schema.EmbeddingIndex: embeddingIndexResource(),
			schema.Deployment:     deploymentResource(),
			schema.Monitor:        monitorResource(),
		},
		DataSources: dataSources(),
	}
}

// meta is what Configure returns: everything the resources need.
type meta struct {
	workDir string
	roots   []string // resolved allowed roots, the configuration directory first
	store   *artifacts.Store
	// remote is the remote store the artifact store caches (zero: none).
	remote remote.Config
	runner *runner
	// pricePerHour is the configured price of an hour here (placement).
	pricePerHour float64
	// passthrough is env_passthrough: what jobs and replicas get of the
	// provider's environment besides jobs.DefaultPassthrough.
	passthrough []string
}

func validateProviderConfig(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var d sdk.Diagnostics
	if pv := req.Config.Attr("env_passthrough"); pv != cty.NilVal && pv.IsWhollyKnown() && !pv.IsNull() {
		if err := jobs.CheckPassthrough(req.Config.GetStrings("env_passthrough")); err != nil {
			d.AttrErrorf(cty.GetAttrPath("env_passthrough"), "Invalid env_passthrough", "%v.", err)
		}
	}
	v := req.Config.Attr("allowed_roots")
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return d
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsKnown() && !e.IsNull() && !filepath.IsAbs(e.AsString()) {
			d.AttrErrorf(cty.GetAttrPath("allowed_roots").Index(k), "Invalid allowed root",
				"%q is not an absolute path; allowed_roots takes absolute directories.", e.AsString())
		}
	}
	return d
}

func configure(ctx context.Context, req *sdk.ConfigureRequest) (any, sdk.Diagnostics) {
	var d sdk.Diagnostics
	wd := req.WorkingDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			d.FromError("Cannot configure the local provider", err)
			return nil, d
		}
	}
	ad := req.ArtifactDir
	if ad == "" {
		ad = filepath.Join(wd, ".llmops", "artifacts")
	}
	rc := remote.Config(req.ArtifactStore)
	store, err := remote.OpenStore(ctx, ad, rc, remote.Options{Progress: remote.LogProgress(hclog.Default().Named("artifacts"), 5*time.Second)})
	if err != nil {
		d.FromError("Cannot open the artifact store", err)
		return nil, d
	}
	m := &meta{workDir: wd, store: store, remote: rc, passthrough: req.Config.GetStrings("env_passthrough")}
	if pv := req.Config.Attr("price_per_hour"); pv != cty.NilVal && pv.IsKnown() && !pv.IsNull() {
		m.pricePerHour, _ = pv.AsBigFloat().Float64()
	}
	for _, r := range append([]string{wd}, req.Config.GetStrings("allowed_roots")...) {
		real, err := filepath.EvalSymlinks(r)
		if err != nil {
			if r != wd {
				d.Warnf("Allowed root not found", "allowed_roots: %s: %v; it is ignored.", r, err)
				continue
			}
			real = r
		}
		m.roots = append(m.roots, filepath.Clean(real))
	}
	exe, err := os.Executable()
	if err != nil {
		d.FromError("Cannot find the provider's executable (needed to supervise jobs)", err)
		return nil, d
	}
	m.runner = &runner{root: filepath.Join(store.Root(), "runs", "local"), exe: exe, store: store}
	return m, d
}

func metaOf(v any) *meta {
	m, _ := v.(*meta)
	if m == nil {
		panic("the local provider was not configured")
	}
	return m
}

// resolveFile turns a file:// source (relative to the configuration
// directory, or absolute as file:///abs) into a real path inside the
// allowed roots.
func (m *meta) resolveFile(src string) (string, error) {
	rest, ok := strings.CutPrefix(src, "file://")
	if !ok {
		return "", fmt.Errorf("%q is not a file:// source", src)
	}
	if rest == "" {
		return "", fmt.Errorf("%q names no file", src)
	}
	p := rest
	if !filepath.IsAbs(p) {
		p = filepath.Join(m.workDir, p)
	}
	return m.checkPath(filepath.Clean(p), src)
}

// resolveRel resolves a plain path relative to the configuration
// directory (template_file), within the allowed roots.
func (m *meta) resolveRel(p string) (string, error) {
	q := p
	if !filepath.IsAbs(q) {
		q = filepath.Join(m.workDir, q)
	}
	return m.checkPath(filepath.Clean(q), p)
}

func (m *meta) checkPath(p, shown string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("%s: %s does not exist", shown, p)
		}
		return "", fmt.Errorf("%s: %w", shown, err)
	}
	if !m.allowed(real) {
		return "", fmt.Errorf("%s resolves to %s, which is outside the configuration directory %s%s. To allow it, add its directory to allowed_roots in the provider \"local\" block", shown, real, m.workDir, m.otherRoots())
	}
	return real, nil
}

func (m *meta) allowed(real string) bool {
	for _, r := range m.roots {
		if real == r || strings.HasPrefix(real, r+string(filepath.Separator)) || r == "/" {
			return true
		}
	}
	return false
}

func (m *meta) otherRoots() string {
	if len(m.roots) <= 1 {
		return ""
	}
	return " and the allowed roots " + strings.Join(m.roots[1:], ", ")
}

// checkLink refuses symbolic links inside a tree that lead outside the
// allowed roots.
func (m *meta) checkLink(link, target string) error {
	if m.allowed(target) {
		return nil
	}
	return fmt.Errorf("%s is a symbolic link to %s, outside the configuration directory %s%s; add that directory to allowed_roots to allow it", link, target, m.workDir, m.otherRoots())
}
