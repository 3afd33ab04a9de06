package slurm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// Deployment statuses.
const (
	deployServing  = "serving"
	deployDegraded = "degraded"
	deployStopped  = "stopped"
)

// GatewayArg is the hidden first argument with which the provider binary
// runs a deployment's gateway (`llmops-provider-slurm __llmops_gateway
// DIR`, package plugins/sdk/gateway); main calls Gateway when it sees it.
const GatewayArg = gateway.Arg

// Gateway runs a deployment's gateway process and returns its exit code.
func Gateway(args []string) int { return gateway.Main(args) }

func deploymentResource() *sdk.Resource {
	return &sdk.Resource{
		Schema: kindsdk.Block(schema.Deployment, sdk.Block{Attributes: sdk.Attributes{
			"partition": sdk.Attr(cty.String).Optional().Description("The partition of the replica jobs (default: the provider's)."),
			"account":   sdk.Attr(cty.String).Optional().Description("The account the replica jobs are charged to (default: the provider's)."),
			"qos":       sdk.Attr(cty.String).Optional().Description("The quality of service of the replica jobs (default: the provider's)."),
			"host": sdk.Attr(cty.String).Optional().Computed().ForceNew().UseStateForUnknown().
				Description("The address the gateway listens on, on the llmops host (default `127.0.0.1`). Anything but loopback exposes the endpoint to the network, over plain HTTP."),
			"port": sdk.Attr(cty.Number).Optional().Computed().ForceNew().UseStateForUnknown().
				Description("The gateway's port; by default a free port is chosen at creation. It stays the same across revisions."),
			"queue_timeout": sdk.Attr(cty.String).Optional().
				Description("How long a replica job may wait in Slurm's queue before the apply gives up and cancels it (default `30m`). serve.health_timeout counts from when the job runs."),
			"renew_before": sdk.Attr(cty.String).Optional().
				Description("How long before a replica job reaches its time limit (`resources.max_duration`, else the partition's) a refresh (plan, apply, `llmops watch`) reports it as expiring, so that apply submits its successor and switches to it blue/green, in the same revision, before Slurm ends it (default `15m`; at most half the time limit)."),
			"node_ports": sdk.Attr(cty.String).Optional().
				Description("The ports a replica may listen on, on its node, as `LOW-HIGH` (default `20000-32767`): the llmops host must reach them."),
			"backends": sdk.Attr(cty.List(cty.String)).Computed().
				Description("Where the gateway sends requests: each replica's server on its node (`http://NODE:PORT`)."),
			"job_ids": sdk.Attr(cty.List(cty.String)).Computed().
				Description("The Slurm job ids of the replicas serving the current revision."),
		}}),
		Validate:   validateDeployment,
		ModifyPlan: planDeployment,
		Create:     createDeployment,
		Read:       readDeployment,
		Update:     updateDeployment,
		Delete:     deleteDeployment,
		Import:     importDeployment,
	}
}

var portRangeRE = regexp.MustCompile(`^(\d{1,5})-(\d{1,5})$`)

func parsePortRange(s string) (int, int, error) {
	if s == "" {
		return defaultPortLow, defaultPortHigh, nil
	}
	m := portRangeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not a port range LOW-HIGH, such as \"20000-32767\"", s)
	}
	lo, _ := strconv.Atoi(m[1])
	hi, _ := strconv.Atoi(m[2])
	if lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q: the ports must satisfy 1024 <= LOW <= HIGH <= 65535", s)
	}
	return lo, hi, nil
}

func validateDeployment(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Deployment, cfg.Value)
	if up := cfg.Attr("upstream"); up != cty.NilVal && (!up.IsKnown() || !up.IsNull()) {
		d.AttrErrorf(attr("upstream"), "Upstream deployments run on the llmops host", "A hosted API needs no cluster job: serve it with the local provider (provider = local...), whose gateway forwards to it.")
		return d
	}
	if cfg.Known("model") && cfg.IsSet("model") {
		if id := cfg.GetString("model"); !schema.IsArtifactID(id) {
			d.AttrErrorf(attr("model"), "Invalid model", "%q is not a model id: the slurm provider serves models from the artifact store, e.g. model = training_run.ft.output_model or model.base.id.", id)
		}
	}
	serve := cfg.Attr("serve")
	if serve.IsKnown() && serve.IsNull() {
		d.AttrErrorf(attr("serve"), "Missing serve block", "The slurm provider runs each replica as a Slurm job running serve { command = [...] }, e.g. [\"vllm\", \"serve\", \"{model_path}\", \"--host\", \"0.0.0.0\", \"--port\", \"{port}\"].")
	}
	sp := attr("serve")
	if env := nestedStringMap(serve, "env"); env != nil {
		if err := jobs.CheckExtra(env); err != nil {
			d.AttrErrorf(sp.GetAttr("env"), "Invalid env", "%v", err)
		} else if err := checkEnv(env); err != nil {
			d.AttrErrorf(sp.GetAttr("env"), "Invalid env", "%v", err)
		}
	}
	if c := nested(serve, "command"); c != cty.NilVal {
		for i, a := range nestedStrings(serve, "command") {
			if err := checkWord("the serve command", a); err != nil {
				d.AttrErrorf(sp.GetAttr("command").IndexInt(i), "Invalid command", "%v", err)
			}
		}
	}
	if cfg.Known("host") && cfg.IsSet("host") {
		if h := cfg.GetString("host"); h != "localhost" && net.ParseIP(h) == nil {
			d.AttrErrorf(attr("host"), "Invalid host", "%q is not an IP address (or localhost).", h)
		}
	}
	if cfg.Known("port") && cfg.IsSet("port") {
		d = append(d, schema.ValidateInteger(cfg.Attr("port"), attr("port"), 0, 65535)...)
	}
	for _, a := range []string{"queue_timeout", "renew_before"} {
		if cfg.Known(a) && cfg.IsSet(a) {
			d = append(d, schema.ValidateDuration(cfg.Attr(a), attr(a))...)
		}
	}
	if cfg.Known("node_ports") && cfg.IsSet("node_ports") {
		if _, _, err := parsePortRange(cfg.GetString("node_ports")); err != nil {
			d.AttrErrorf(attr("node_ports"), "Invalid port range", "%v", err)
		}
	}
	if res := cfg.Attr("resources"); res != cty.NilVal && res.IsKnown() && !res.IsNull() {
		rp := cty.GetAttrPath("resources")
		if n, ok := nestedInt(res, "nodes"); ok && n > 1 {
			d.AttrErrorf(rp.GetAttr("nodes"), "One node per replica", "A replica is one serving job on one node; nodes = %d is not supported. Use replicas for more capacity.", n)
		}
		if t := nestedString(res, "gpu_type"); t != "" && (strings.ContainsAny(t, ":, \t\n") || t != strings.TrimSpace(t)) {
			d.AttrErrorf(rp.GetAttr("gpu_type"), "Invalid GPU type", "%q cannot name a Slurm GRES type (no ':', ',' or spaces).", t)
		}
	}
	return d
}

// deploySpec resolves what a revision runs from a planned state.
func (m *meta) deploySpec(st sdk.Object) (*depSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	id := st.GetString("model")
	p, err := m.storePath(id)
	if err != nil {
		d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as model.base.id or training_run.ft.output_model.", err)
		return nil, d
	}
	serve := st.Attr("serve")
	spec := &depSpec{
		Model: id, ModelPath: p, Command: nestedStrings(serve, "command"), Env: nestedStringMap(serve, "env"),
		HealthPath: nestedString(serve, "health_path"), HealthTimeout: nestedString(serve, "health_timeout"),
		QueueTimeout: st.GetString("queue_timeout"), RenewBefore: st.GetString("renew_before"), Replicas: 1,
	}
	if len(spec.Command) == 0 {
		d.AttrErrorf(attr("serve"), "Missing serve command", "serve.command is empty.")
		return nil, d
	}
	if st.IsSet("replicas") {
		spec.Replicas, spec.ReplicasSet = int(st.GetInt("replicas")), true
	}
	for _, t := range []string{spec.HealthTimeout, spec.QueueTimeout, spec.RenewBefore} {
		if _, err := schema.ParseDuration(t); t != "" && err != nil {
			d.AttrErrorf(attr("serve"), "Invalid duration", "%v", err)
			return nil, d
		}
	}
	if spec.PortLow, spec.PortHigh, err = parsePortRange(st.GetString("node_ports")); err != nil {
		d.AttrErrorf(attr("node_ports"), "Invalid port range", "%v", err)
		return nil, d
	}
	res, rd := resourcesOf(m, st)
	d = append(d, rd...)
	res.Nodes = 1
	spec.Res = res
	keep := map[string]cty.Value{}
	for _, a := range configAttrs {
		keep[a] = st.Attr(a)
	}
	if b, err := ctyjson.Marshal(cty.ObjectVal(keep), cty.ObjectVal(keep).Type()); err == nil {
		spec.Config = b
	}
	return spec, d
}

func strategyOf(st sdk.Object) string {
	if s := st.GetString("strategy"); s != "" {
		return s
	}
	return strategyBlueGreen
}

func createDeployment(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	spec, d := m.deploySpec(st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	access, err := gateway.AccessFor(req.Config.Attr("access"), st.Attr("access"))
	if err != nil {
		d.AttrErrorf(attr("access"), "Invalid access", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	id, err := newDeployID()
	if err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	dir := filepath.Join(m.deployRoot(), id)
	if err := os.MkdirAll(m.deployRoot(), 0o755); err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	host := st.GetString("host")
	if host == "" {
		host = "127.0.0.1"
	}
	r := &depRecord{ID: id, Host: host, Port: int(st.GetInt("port")), CreatedAt: time.Now().UTC(), Spec: *spec,
		Strategy: st.GetString("strategy"), Access: access, dir: dir, root: m.store.Root(), shared: filepath.Join(m.deploySharedRoot(), id),
		secrets: sdk.Secrets(ctx)}
	fail := func(summary string, err error) *sdk.Response {
		m.stopAll(context.WithoutCancel(ctx), r)
		_ = removeDir(r.shared)
		_ = removeDir(dir)
		_ = gateway.Withdraw(m.store.Root(), id)
		d.FromError(summary, err)
		return &sdk.Response{Diagnostics: d}
	}
	// The gateway first (with no replica yet), so a busy port fails at once.
	if err := m.applyRoutes(ctx, r); err != nil {
		return fail("Cannot start the deployment's gateway", err)
	}
	news, err := m.startReplicas(ctx, r, spec, 1, indices(spec.Replicas))
	if err != nil {
		return fail("The deployment did not become healthy", err)
	}
	r.setRouted(news, nil)
	r.Revision, r.MaxRevision = 1, 1
	if err := m.applyRoutes(ctx, r); err != nil {
		return fail("Cannot configure the deployment's gateway", err)
	}
	sdk.Logger(ctx).Info("deployment serving", "id", id, "endpoint", r.endpoint(), "replicas", spec.Replicas)
	stateFromRecord(&st, r, len(news))
	return &sdk.Response{State: done(st), Diagnostics: d}
}

// current returns the routed replicas of the current revision, by index.
func (r *depRecord) current() []replicaRec {
	var out []replicaRec
	for _, x := range r.Replicas {
		if x.Routed && x.Revision == r.Revision {
			out = append(out, x)
		}
	}
	return out
}

// stateFromRecord sets the computed attributes from the record.
func stateFromRecord(st *sdk.Object, r *depRecord, healthy int) {
	st.SetString("id", r.ID)
	st.SetString("endpoint", r.endpoint())
	st.SetString("host", r.Host)
	st.SetInt("port", int64(r.Port))
	st.SetInt("revision", r.Revision)
	st.SetInt("healthy_replicas", int64(healthy))
	st.Set("access", gateway.AccessState(st.Attr("access"), r.Access))
	var backends, ids []string
	for _, x := range r.current() {
		backends = append(backends, x.url())
		ids = append(ids, x.JobID)
	}
	st.Set("backends", strList(backends))
	st.Set("job_ids", strList(ids))
	status := deployServing
	switch {
	case healthy == 0 && !r.Gateway.Alive():
		status = deployStopped
	case healthy < r.Spec.Replicas || !r.Gateway.Alive():
		status = deployDegraded
	}
	st.SetString("status", status)
}

// countHealthy counts the replicas of the current revision whose job runs
// and whose server answers its health check on its node.
func (m *meta) countHealthy(ctx context.Context, r *depRecord) int {
	n := 0
	seen := map[int]bool{}
	for _, x := range r.current() {
		x := x
		if !seen[x.Index] && m.replicaUp(ctx, &x, &r.Spec) {
			seen[x.Index] = true
			n++
		}
	}
	return n
}

func readDeployment(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	r, err := m.loadRecord(req.State.GetString("id"))
	if errors.Is(err, os.ErrNotExist) {
		return sdk.Gone()
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	st := req.State
	stateFromRecord(&st, r, m.countHealthy(ctx, r))
	if st.Value.RawEquals(req.State.Value) {
		return nil
	}
	return &sdk.Response{State: st}
}

func updateDeployment(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	r, err := m.loadRecord(req.Prior.GetString("id"))
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", fmt.Errorf("%w; refresh (plan) to recreate it", err))
	}
	unlock, err := lockDir(ctx, r.dir)
	if err != nil {
		return sdk.ErrorResponse("Cannot change the deployment", err)
	}
	defer unlock()
	if r, err = m.loadRecord(r.ID); err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	r.secrets = sdk.Secrets(ctx)
	spec, d := m.deploySpec(st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	access, err := gateway.AccessFor(req.Config.Attr("access"), st.Attr("access"))
	if err != nil {
		d.AttrErrorf(attr("access"), "Invalid access", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	r.Access, r.Strategy = access, st.GetString("strategy")
	// A new revision only when the plan announced one (the revision is
	// unknown): what the plan cannot see, such as the provider block's
	// partition, takes effect at the next rollout.
	if !st.Known("revision") && !r.sameSpecMasked(*spec) {
		err = m.rollout(ctx, r, spec, strategyOf(st))
	} else {
		r.unmask(*spec)
		r.Spec.HealthTimeout, r.Spec.QueueTimeout, r.Spec.RenewBefore, r.Spec.ReplicasSet, r.Spec.Config = spec.HealthTimeout, spec.QueueTimeout, spec.RenewBefore, spec.ReplicasSet, spec.Config
		err = m.repair(ctx, r)
	}
	_ = r.save()
	if err != nil {
		// The prior object, as it now is.
		prior := req.Prior
		stateFromRecord(&prior, r, m.countHealthy(ctx, r))
		prior.Set("access", req.Prior.Attr("access"))
		d.Errorf("The deployment was not updated", "%s", err.Error())
		return &sdk.Response{State: done(prior), Diagnostics: d}
	}
	stateFromRecord(&st, r, m.countHealthy(ctx, r))
	return &sdk.Response{State: done(st), Diagnostics: d}
}

func deleteDeployment(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m := metaOf(req.Meta)
	r, err := m.loadRecord(req.Prior.GetString("id"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	unlock, err := lockDir(ctx, r.dir)
	if err != nil {
		return sdk.ErrorResponse("Cannot delete the deployment", err)
	}
	m.stopAll(ctx, r)
	unlock()
	if err := removeDir(r.shared); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's replica directories", err)
	}
	if err := removeDir(r.dir); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's directory", err)
	}
	if err := gateway.Withdraw(m.store.Root(), r.ID); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's gateway listing", err)
	}
	return nil
}

// stopAll stops the gateway (so no request starts) and cancels every
// replica job.
func (m *meta) stopAll(ctx context.Context, r *depRecord) {
	r.Gateway.Stop(12 * time.Second)
	m.cancelReplicas(ctx, r.Replicas, false)
}

func removeDir(dir string) error {
	trash := filepath.Join(filepath.Dir(dir), fmt.Sprintf(".trash-%d", time.Now().UnixNano()))
	if err := os.Rename(dir, trash); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}

func importDeployment(ctx context.Context, req *sdk.ImportRequest) *sdk.Response {
	m := metaOf(req.Meta)
	r, err := m.loadRecord(req.ID)
	if err != nil {
		return sdk.ErrorResponse("Cannot import the deployment", fmt.Errorf("%w; import a Slurm deployment by its id (dep-..., in %s)", err, m.deployRoot()))
	}
	st := req.State
	st.SetString("model", r.Spec.Model)
	if r.Spec.ReplicasSet {
		st.SetInt("replicas", int64(r.Spec.Replicas))
	}
	if r.Strategy != "" {
		st.SetString("strategy", r.Strategy)
	}
	serve := map[string]cty.Value{
		"command":        strList(r.Spec.Command),
		"env":            cty.NullVal(cty.Map(cty.String)),
		"health_path":    optString(r.Spec.HealthPath),
		"health_timeout": optString(r.Spec.HealthTimeout),
	}
	if len(r.Spec.Env) > 0 {
		env := map[string]cty.Value{}
		for k, v := range r.Spec.Env {
			env[k] = cty.StringVal(v)
		}
		serve["env"] = cty.MapVal(env)
	}
	st.Set("serve", cty.ObjectVal(serve))
	if len(r.Spec.Config) > 0 {
		ty := map[string]cty.Type{}
		for _, a := range configAttrs {
			ty[a] = st.Attr(a).Type()
		}
		if v, err := ctyjson.Unmarshal(r.Spec.Config, cty.Object(ty)); err == nil {
			for a := range ty {
				st.Set(a, v.GetAttr(a))
			}
		}
	}
	stateFromRecord(&st, r, m.countHealthy(ctx, r))
	return &sdk.Response{State: st}
}
