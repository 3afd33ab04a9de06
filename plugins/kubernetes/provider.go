package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

// Version is the kubernetes provider's release version.
const Version = "0.1.0"

// defaultRunner is where the runner (this binary) is in the job's image
// when runner_image is not set.
const defaultRunner = "/usr/local/bin/llmops-provider-kubernetes"

// Provider returns the kubernetes provider.
func Provider() *sdk.Provider {
	return &sdk.Provider{
		Name:    "kubernetes",
		Version: Version,
		Schema: sdk.Block{
			Description: "Runs training runs, evaluations, dataset transforms and embedding indexes as batch/v1 Jobs and deployments as Deployments on a Kubernetes cluster; inputs and outputs go through the remote artifact store.",
			Attributes: sdk.Attributes{
				"kubeconfig":   sdk.Attr(cty.String).Optional().Description("The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config; in a pod without either, the in-cluster configuration)."),
				"context":      sdk.Attr(cty.String).Optional().Description("The kubeconfig context to use (default: its current context)."),
				"namespace":    sdk.Attr(cty.String).Optional().Description("The namespace of everything llmops creates (default: the context's namespace, else `default`)."),
				"image":        sdk.Attr(cty.String).Optional().Description("The default container image of jobs (it must hold the user's command and, unless runner_image is set, the runner at runner_path)."),
				"runner_path":  sdk.Attr(cty.String).Optional().Description("Where the runner (llmops-provider-kubernetes) is inside the job's container. Default /usr/local/bin/llmops-provider-kubernetes, or /llmops/llmops-provider-kubernetes with runner_image."),
				"runner_image": sdk.Attr(cty.String).Optional().Description("An image holding the runner at /llmops-provider-kubernetes: an init container copies it into the pod, so the job's image needs only the user's command."),
				"gpu_types": sdk.Attr(cty.Map(cty.Map(cty.String))).Optional().
					Description("Maps a resources.gpu_type to the node labels that select it, overriding the built-in table, e.g. `{ H100 = { \"nvidia.com/gpu.product\" = \"NVIDIA-H100-80GB-HBM3\" } }`."),
				"env":             sdk.Attr(cty.Map(cty.String)).Optional().Description("Environment variables for every job."),
				"env_passthrough": sdk.Attr(cty.List(cty.String)).Optional().Description("Variables of llmops' environment passed to every job (`PREFIX_*` passes a prefix). LLMOPS_STATE_KEY, LLMOPS_STATE_KEY_FILE and LLMOPS_VAR_* are never passed."),
				"price_per_hour":  sdk.Attr(cty.Number).Optional().Description("What an hour of a job costs, for placement budgets (default 0: owned hardware)."),
			},
		},
		ValidateConfig: validateProviderConfig,
		Configure:      configure,
		Offers:         offers,
		Resources: map[string]*sdk.Resource{
			schema.TrainingRun:    trainingRunResource(),
			schema.Evaluation:     evaluationResource(),
			schema.Dataset:        datasetResource(),
			schema.EmbeddingIndex: embeddingIndexResource(),
			schema.Deployment:     deploymentResource(),
		},
	}
}

// meta is what Configure returns.
type meta struct {
	client      k8s.Interface
	namespace   string
	image       string
	runnerPath  string
	runnerImage string
	gpuTypes    map[string]map[string]string
	store       *artifacts.Store
	remote      remote.Config
	baseEnv     map[string]string
	workDir     string
	price       float64
}

func metaOf(v any) *meta {
	m, _ := v.(*meta)
	if m == nil {
		panic("the kubernetes provider was not configured")
	}
	return m
}

func attr(name string) cty.Path { return cty.GetAttrPath(name) }

func validateProviderConfig(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var d sdk.Diagnostics
	c := req.Config
	if c.Known("namespace") && c.IsSet("namespace") {
		if msg := checkDNSLabel(c.GetString("namespace")); msg != "" {
			d.AttrErrorf(attr("namespace"), "Invalid namespace", "%q is not a Kubernetes namespace name: %s.", c.GetString("namespace"), msg)
		}
	}
	if c.Known("env_passthrough") && c.IsSet("env_passthrough") {
		if err := jobs.CheckPassthrough(c.GetStrings("env_passthrough")); err != nil {
			d.AttrErrorf(attr("env_passthrough"), "Invalid env_passthrough", "%v.", err)
		}
	}
	if c.Known("runner_path") && c.IsSet("runner_path") && !strings.HasPrefix(c.GetString("runner_path"), "/") {
		d.AttrErrorf(attr("runner_path"), "Invalid runner_path", "runner_path must be an absolute path inside the container; %q is not.", c.GetString("runner_path"))
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
	rc := remote.Config(req.ArtifactStore)
	store, err := remote.OpenStore(ctx, ad, rc, remote.Options{Progress: remote.LogProgress(hclog.Default().Named("artifacts"), 5*time.Second)})
	if err != nil {
		d.FromError("Cannot open the artifact store", err)
		return nil, d
	}
	cfg, ns, err := restConfig(expandHome(c.GetString("kubeconfig")), c.GetString("context"))
	if err != nil {
		d.AttrErrorf(attr("kubeconfig"), "Cannot load the Kubernetes configuration", "%v. Set kubeconfig (and context) in the provider block, or $KUBECONFIG.", err)
		return nil, d
	}
	cl, err := k8s.NewForConfig(cfg)
	if err != nil {
		d.AttrErrorf(attr("kubeconfig"), "Cannot make a Kubernetes client", "%v", err)
		return nil, d
	}
	m := &meta{client: cl, namespace: firstNonEmpty(c.GetString("namespace"), ns, "default"), image: c.GetString("image"),
		runnerImage: c.GetString("runner_image"), store: store, remote: rc, workDir: wd, gpuTypes: gpuTable(c)}
	m.runnerPath = c.GetString("runner_path")
	if m.runnerPath == "" {
		m.runnerPath = defaultRunner
		if m.runnerImage != "" {
			m.runnerPath = runnerMount + "/" + runnerName
		}
	}
	if pv := c.Attr("price_per_hour"); pv != cty.NilVal && !pv.IsNull() && pv.IsKnown() {
		m.price, _ = pv.AsBigFloat().Float64()
	}
	m.baseEnv = map[string]string{}
	for _, kv := range jobs.Allowed(os.Environ(), slices.Clone(c.GetStrings("env_passthrough"))) {
		k, v, _ := strings.Cut(kv, "=")
		m.baseEnv[k] = v
	}
	for k, v := range c.GetStringMap("env") {
		m.baseEnv[k] = v
	}
	sdk.Logger(ctx).Debug("configured", "server", cfg.Host, "namespace", m.namespace)
	return m, d
}

// restConfig loads a kubeconfig (path, else $KUBECONFIG, else
// ~/.kube/config), or the in-cluster configuration when none exists in a
// pod. It returns the context's namespace too.
func restConfig(path, context string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if path == "" && context == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
			ic, ierr := rest.InClusterConfig()
			if ierr == nil {
				ns, _ := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
				return ic, strings.TrimSpace(string(ns)), nil
			}
		}
		return nil, "", err
	}
	ns, _, _ := cc.Namespace()
	return cfg, ns, nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// checkDNSLabel says what is wrong with a name that must be a DNS label
// ("" when nothing).
func checkDNSLabel(s string) string {
	if s == "" || len(s) > 63 {
		return "1 to 63 characters"
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(s)-1
		if !ok {
			return "lower-case letters, digits and '-' only, starting and ending with a letter or digit"
		}
	}
	return ""
}
