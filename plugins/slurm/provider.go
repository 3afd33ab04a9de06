package slurm

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
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

// Version is the slurm provider's release version.
const Version = "0.1.0"

// defaultPassEnv are the variables of llmops' environment that jobs get
// unless pass_env says otherwise.
var defaultPassEnv = []string{"PATH", "LANG", "LC_ALL", "TZ"}

// Provider returns the slurm provider.
func Provider() *sdk.Provider {
	return &sdk.Provider{
		Name:    "slurm",
		Version: Version,
		Schema: sdk.Block{
			Description: "Runs training runs, evaluations and dataset transforms as Slurm batch jobs, and deployments as long-running serving jobs behind a gateway on the llmops host.",
			Attributes: sdk.Attributes{
				"url":         sdk.Attr(cty.String).Optional().Description("slurmrestd's base URL, e.g. `http://slurm-rest.example:6820` (mode = \"rest\")."),
				"mode":        sdk.Attr(cty.String).Optional().Description("`rest` (default): talk to slurmrestd; `cli`: run sbatch, squeue, scontrol and scancel on this host (a login node)."),
				"api_version": sdk.Attr(cty.String).Optional().Description("The slurmrestd API version to use (`v0.0.38`, `v0.0.39`); found from slurmrestd's OpenAPI document when unset."),
				"user":        sdk.Attr(cty.String).Optional().Description("The Slurm user jobs are submitted as (REST): the token's user. Default: $SLURM_USER, $USER, then the current user."),
				"token_file":  sdk.Attr(cty.String).Optional().Description("A file holding the user's JWT (read on every request, so it can be rotated). Default: the SLURM_JWT environment variable."),
				"partition":   sdk.Attr(cty.String).Optional().Description("The partition jobs go to (default: the cluster's default partition)."),
				"account":     sdk.Attr(cty.String).Optional().Description("The account jobs are charged to."),
				"qos":         sdk.Attr(cty.String).Optional().Description("The quality of service of jobs."),
				"shared_dir":  sdk.Attr(cty.String).Required().Description("An absolute directory that llmops and every compute node see at the same path: job scripts, logs, outputs and staged inputs live under <shared_dir>/llmops."),
				"working_dir": sdk.Attr(cty.String).Optional().Description("Where commands run on the nodes (default: the configuration directory, which must then be on shared storage)."),
				"artifacts_mounted": sdk.Attr(cty.Bool).Optional().
					Description("Whether the nodes see the artifact store at the same path. Default: when the store is inside shared_dir. When false, inputs are staged into shared_dir."),
				"env":             sdk.Attr(cty.Map(cty.String)).Optional().Description("Environment variables for every job (e.g. HOME, a cache directory)."),
				"pass_env":        sdk.Attr(cty.List(cty.String)).Optional().Description("Variables of llmops' environment passed to every job, replacing the default list (PATH, LANG, LC_ALL, TZ)."),
				"env_passthrough": sdk.Attr(cty.List(cty.String)).Optional().Description("Variables of llmops' environment passed to every job and serving replica besides the default list (or pass_env). `PREFIX_*` passes every variable with that prefix. LLMOPS_STATE_KEY, LLMOPS_STATE_KEY_FILE and LLMOPS_VAR_* are never passed."),
				"bin_dir":         sdk.Attr(cty.String).Optional().Description("Directory of sbatch, squeue, scontrol and scancel (mode = \"cli\"; default: PATH)."),
				"price_per_hour":  sdk.Attr(cty.Number).Optional().Description("What an hour of a job costs, for placement budgets (default 0: owned hardware)."),
			},
		},
		ValidateConfig: validateProviderConfig,
		Configure:      configure,
		Offers:         offers,
		Resources: map[string]*sdk.Resource{
			schema.TrainingRun: trainingRunResource(),
			schema.Evaluation:  evaluationResource(),
			schema.Dataset:     datasetResource(),
			schema.Deployment:  deploymentResource(),
		},
	}
}

// meta is what Configure returns: everything the resources need.
type meta struct {
	sched        scheduler
	store        *artifacts.Store
	workDir      string // the configuration directory
	jobDir       string // where commands run on the nodes
	shared       string // <shared_dir>/llmops
	storeMounted bool
	partition    string
	account      string
	qos          string
	baseEnv      map[string]string
	// owner: when llmops runs as root and jobs run as another user, the
	// directories jobs write to are given to that user.
	uid, gid int
	chown    bool
	// pricePerHour is the configured price of an hour of a job (placement).
	pricePerHour float64
	// exe is the provider binary, run again as a deployment's gateway.
	exe string
}

func (m *meta) runsRoot() string  { return filepath.Join(m.shared, "runs") }
func (m *meta) stageRoot() string { return filepath.Join(m.shared, "stage") }

func validateProviderConfig(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var d sdk.Diagnostics
	c := req.Config
	if c.Known("mode") && c.IsSet("mode") {
		d = append(d, schema.ValidateOneOf(c.Attr("mode"), attr("mode"), "mode", "rest", "cli")...)
	}
	if c.Known("api_version") && c.IsSet("api_version") {
		d = append(d, schema.ValidateOneOf(c.Attr("api_version"), attr("api_version"), "api_version", apiVersions...)...)
	}
	for _, a := range []string{"shared_dir", "working_dir", "token_file", "bin_dir"} {
		if c.Known(a) && c.IsSet(a) && !filepath.IsAbs(c.GetString(a)) {
			d.AttrErrorf(attr(a), "Invalid path", "%s must be an absolute path; %q is not.", a, c.GetString(a))
		}
	}
	mode := c.GetString("mode")
	if c.Known("mode") && (mode == "" || mode == "rest") && c.Known("url") {
		if !c.IsSet("url") {
			d.AttrErrorf(attr("url"), "Missing url", "mode = \"rest\" (the default) needs url: slurmrestd's base URL, e.g. \"http://slurm-rest.example:6820\". On a login node, mode = \"cli\" uses the Slurm commands instead.")
		} else {
			d = append(d, schema.ValidateURL(c.Attr("url"), attr("url"))...)
		}
	}
	for _, a := range []string{"pass_env", "env_passthrough"} {
		if c.Known(a) && c.IsSet(a) {
			if err := jobs.CheckPassthrough(c.GetStrings(a)); err != nil {
				d.AttrErrorf(attr(a), "Invalid "+a, "%v.", err)
			}
		}
	}
	if c.Known("env") {
		if err := checkEnv(c.GetStringMap("env")); err != nil {
			d.AttrErrorf(attr("env"), "Invalid env", "%v", err)
		}
	}
	return d
}

func configure(ctx context.Context, req *sdk.ConfigureRequest) (any, sdk.Diagnostics) {
	var d sdk.Diagnostics
	c := req.Config
	wd := req.WorkingDir
	if wd == "" {
		wd, _ = os.Getwd()
	}
	ad := req.ArtifactDir
	if ad == "" {
		ad = filepath.Join(wd, ".llmops", "artifacts")
	}
	// With a remote store (artifacts { url = ... }), the local store is its
	// cache: what is stored is pushed, what is missing is fetched.
	store, err := remote.OpenStore(ctx, ad, remote.Config(req.ArtifactStore), remote.Options{Progress: remote.LogProgress(hclog.Default().Named("artifacts"), 5*time.Second)})
	if err != nil {
		d.FromError("Cannot open the artifact store", err)
		return nil, d
	}
	m := &meta{store: store, workDir: wd, jobDir: wd, partition: c.GetString("partition"), account: c.GetString("account"), qos: c.GetString("qos")}
	m.exe, _ = os.Executable() // checked when a gateway starts
	if pv := c.Attr("price_per_hour"); pv != cty.NilVal && !pv.IsNull() && pv.IsKnown() {
		m.pricePerHour, _ = pv.AsBigFloat().Float64()
	}
	if s := c.GetString("working_dir"); s != "" {
		m.jobDir = s
	}
	shared := filepath.Clean(c.GetString("shared_dir"))
	if fi, err := os.Stat(shared); err != nil || !fi.IsDir() {
		d.AttrErrorf(attr("shared_dir"), "Invalid shared_dir", "%s is not a directory on this host (%v). shared_dir must be a directory that llmops and the compute nodes see at the same path.", shared, err)
		return nil, d
	}
	m.shared = filepath.Join(shared, "llmops")
	for _, dir := range []string{m.runsRoot(), m.stageRoot()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			d.AttrErrorf(attr("shared_dir"), "Invalid shared_dir", "Cannot create %s: %v.", dir, err)
			return nil, d
		}
	}
	m.baseEnv = jobBaseEnv(c.GetStrings("pass_env"), c.IsSet("pass_env"), c.GetStrings("env_passthrough"), c.GetStringMap("env"))

	userName := c.GetString("user")
	if userName == "" {
		userName = firstNonEmpty(os.Getenv("SLURM_USER"), os.Getenv("USER"), os.Getenv("LOGNAME"))
	}
	if userName == "" {
		if u, err := user.Current(); err == nil {
			userName = u.Username
		}
	}
	switch c.GetString("mode") {
	case "cli":
		cl := &cliClient{binDir: c.GetString("bin_dir"), env: os.Environ()}
		if err := cl.check(); err != nil {
			d.AttrErrorf(attr("mode"), "Slurm commands not found", "%v", err)
			return nil, d
		}
		m.sched = cl
		userName = "" // jobs run as whoever runs llmops
	default:
		if userName == "" {
			d.AttrErrorf(attr("user"), "Missing user", "Set user in the provider block (the Slurm user the token belongs to).")
			return nil, d
		}
		rc, err := newRESTClient(ctx, c.GetString("url"), c.GetString("api_version"), userName, tokenSource(c.GetString("token_file"), os.Getenv("SLURM_JWT")))
		if err != nil {
			d.AttrErrorf(attr("url"), "Cannot connect to Slurm", "%v", err)
			return nil, d
		}
		m.sched = rc
	}
	if userName != "" && os.Geteuid() == 0 {
		if u, err := user.Lookup(userName); err == nil {
			m.uid, _ = strconv.Atoi(u.Uid)
			m.gid, _ = strconv.Atoi(u.Gid)
			m.chown = m.uid != 0
		}
	}
	if c.IsSet("artifacts_mounted") {
		m.storeMounted = c.GetBool("artifacts_mounted")
	} else {
		// Inside shared_dir, and readable by the job user (a store under a
		// private .llmops directory is not, when jobs run as another user).
		root, sh := realPath(store.Root()), realPath(shared)
		m.storeMounted = within(root, sh) && (!m.chown || othersCanTraverse(root, sh))
	}
	sdk.Logger(ctx).Debug("configured", "scheduler", m.sched.String(), "shared", m.shared, "artifacts_mounted", m.storeMounted)
	return m, d
}

// jobBaseEnv is the environment every job starts from: the variables of
// llmops' environment that pass_env (or the default list) and
// env_passthrough allow, and the provider's env.
func jobBaseEnv(pass []string, passSet bool, passthrough []string, extra map[string]string) map[string]string {
	if !passSet {
		pass = defaultPassEnv
	}
	env := map[string]string{}
	for _, kv := range jobs.Allowed(os.Environ(), slices.Concat(pass, passthrough)) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	if env["PATH"] == "" {
		env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
	}
	return env
}

func metaOf(v any) *meta {
	m, _ := v.(*meta)
	if m == nil {
		panic("the slurm provider was not configured")
	}
	return m
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func attr(name string) cty.Path { return cty.GetAttrPath(name) }

// owned gives a directory jobs write to to the job user (when llmops runs
// as root) and makes it private to that user otherwise.
func (m *meta) owned(dir string) error {
	if m.chown {
		if err := os.Chown(dir, m.uid, m.gid); err != nil {
			return fmt.Errorf("giving %s to the job user: %w", dir, err)
		}
	}
	return nil
}

// othersCanTraverse reports whether every directory from top down to dir
// lets other users through.
func othersCanTraverse(dir, top string) bool {
	for p := dir; within(p, top); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if p == top {
			break
		}
	}
	return true
}
