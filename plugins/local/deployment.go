package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/zclconf/go-cty/cty"

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

func deploymentResource() *sdk.Resource {
	return &sdk.Resource{
		Schema: kindsdk.Block(schema.Deployment, sdk.Block{Attributes: sdk.Attributes{
			"host": sdk.Attr(cty.String).Optional().Computed().ForceNew().UseStateForUnknown().
				Description("The address the gateway listens on (default `127.0.0.1`). Anything but loopback exposes the endpoint to the network, over plain HTTP."),
			"port": sdk.Attr(cty.Number).Optional().Computed().ForceNew().UseStateForUnknown().
				Description("The gateway's port; by default a free port is chosen at creation. It stays the same across revisions."),
			"model_digest": sdk.Attr(cty.String).Computed().UseStateForUnknown().
				Description("Digest of the model's files when the replicas started: it differs from `model` if the stored files were modified."),
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

func validateDeployment(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := schema.Validate(schema.Deployment, cfg.Value)
	up := cfg.Attr("upstream")
	if cfg.Known("model") && cfg.IsSet("model") {
		if id := cfg.GetString("model"); !schema.IsArtifactID(id) {
			d.AttrErrorf(attr("model"), "Invalid model", "%q is not a model id: the local provider serves models from the artifact store, e.g. model = training_run.ft.output_model or model.base.id.", id)
		}
	}
	serve := cfg.Attr("serve")
	if serve.IsKnown() && serve.IsNull() && (up == cty.NilVal || up.IsKnown() && up.IsNull()) {
		d.AttrErrorf(attr("serve"), "Missing serve block", "The local provider runs each replica with serve { command = [...] }, e.g. [\"llama-server\", \"-m\", \"{model_path}\", \"--port\", \"{port}\"].")
	}
	if env := nestedStringMap(serve, "env"); env != nil {
		if err := jobs.CheckExtra(env); err != nil {
			d.AttrErrorf(attr("serve").GetAttr("env"), "Invalid env", "%v", err)
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
	if res := cfg.Attr("resources"); res != cty.NilVal {
		if n, ok := nestedInt(res, "nodes"); ok && n > 1 {
			d.AttrErrorf(cty.GetAttrPath("resources").GetAttr("nodes"), "Multi-node serving needs a cluster", "The local provider runs on one host; nodes = %d needs a cluster provider.", n)
		}
	}
	return d
}

// deploySpec resolves what a revision runs from a planned state.
func (m *meta) deploySpec(ctx context.Context, st sdk.Object) (*depSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	if up := st.Attr("upstream"); up != cty.NilVal && !up.IsNull() {
		return &depSpec{Upstream: &upstreamSpec{BaseURL: nestedString(up, "base_url"), Model: nestedString(up, "model")},
			UpstreamKey: nestedString(up, "api_key"), GPUs: gpusUnmanaged}, d
	}
	id := st.GetString("model")
	p, err := m.store.Resolve(id)
	if err != nil {
		d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as model.base.id or training_run.ft.output_model.", err)
		return nil, d
	}
	serve := st.Attr("serve")
	spec := &depSpec{
		Model: id, ModelPath: p, Command: nestedStrings(serve, "command"), Env: nestedStringMap(serve, "env"),
		HealthPath: nestedString(serve, "health_path"), HealthTimeout: nestedString(serve, "health_timeout"),
		Replicas: 1, GPUs: gpusUnmanaged,
	}
	if len(spec.Command) == 0 {
		d.AttrErrorf(attr("serve"), "Missing serve command", "serve.command is empty.")
		return nil, d
	}
	if st.IsSet("replicas") {
		spec.Replicas, spec.ReplicasSet = int(st.GetInt("replicas")), true
	}
	if spec.HealthTimeout != "" {
		dur, err := schema.ParseDuration(spec.HealthTimeout)
		if err != nil {
			d.AttrErrorf(attr("serve").GetAttr("health_timeout"), "Invalid duration", "%v", err)
			return nil, d
		}
		spec.HealthTimeout = dur.String()
	}
	gpus, gd := m.gpusFor(ctx, st.Attr("resources"))
	d = append(d, gd...)
	spec.GPUs = gpus
	return spec, d
}

// modelDigest hashes the model's files (cheap when unchanged: the store's
// digest cache is keyed by file metadata).
func (m *meta) modelDigest(path string) string {
	if path == "" { // an upstream: no files
		return ""
	}
	dg, err := m.store.Digest(path)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return string(dg.ID)
}

func newDeployID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "dep-" + hex.EncodeToString(b[:]), nil
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
	spec, d := m.deploySpec(ctx, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	access, err := gateway.AccessFor(req.Config.Attr("access"), st.Attr("access"))
	if err != nil {
		return errResp(attr("access"), "Invalid access", err)
	}
	id, err := newDeployID()
	if err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	dir, _ := m.deployDir(id)
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
		Strategy: st.GetString("strategy"), Access: access, dir: dir, root: m.store.Root(), secrets: sdk.Secrets(ctx), upstreamKey: spec.UpstreamKey}
	fail := func(summary string, err error) *sdk.Response {
		stopAll(r)
		_ = removeDir(dir)
		_ = gateway.Withdraw(m.store.Root(), id)
		return sdk.ErrorResponse(summary, err)
	}
	// The gateway first (with no replica yet), so a busy port fails at once.
	if err := m.applyRoutes(ctx, r); err != nil {
		return fail("Cannot start the deployment's gateway", err)
	}
	digest := m.modelDigest(spec.ModelPath)
	news, err := m.startReplicas(ctx, r, spec, 1, indices(spec.Replicas))
	if err != nil {
		return fail("The deployment did not become healthy", err)
	}
	r.setRouted(news, nil)
	r.Revision, r.MaxRevision, r.ModelDigest = 1, 1, digest
	if err := m.applyRoutes(ctx, r); err != nil {
		return fail("Cannot configure the deployment's gateway", err)
	}
	sdk.Logger(ctx).Info("deployment serving", "id", id, "endpoint", r.endpoint(), "replicas", spec.Replicas)
	stateFromRecord(&st, r, len(news))
	return &sdk.Response{State: done(st), Diagnostics: d}
}

// stateFromRecord sets the computed attributes from the record.
func stateFromRecord(st *sdk.Object, r *depRecord, healthy int) {
	st.SetString("id", r.ID)
	st.SetString("endpoint", r.endpoint())
	st.SetString("host", r.Host)
	st.SetInt("port", int64(r.Port))
	st.SetInt("revision", r.Revision)
	st.SetInt("healthy_replicas", int64(healthy))
	st.SetString("model_digest", r.ModelDigest)
	st.Set("access", gateway.AccessState(st.Attr("access"), r.Access))
	status := deployServing
	switch {
	case healthy == 0 && !r.Gateway.alive():
		status = deployStopped
	case healthy < r.Spec.Replicas || !r.Gateway.alive():
		status = deployDegraded
	}
	st.SetString("status", status)
}

// countHealthy counts the routed replicas of the current revision that
// live and answer their health check.
func countHealthy(ctx context.Context, r *depRecord) int {
	n := 0
	seen := map[int]bool{}
	for _, x := range r.Replicas {
		x := x
		if x.Routed && x.Revision == r.Revision && !seen[x.Index] && x.alive() && healthy(ctx, &x, r.Spec.healthPath()) {
			seen[x.Index] = true
			n++
		}
	}
	return n
}

func readDeployment(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	id := req.State.GetString("id")
	r, err := m.loadRecord(id)
	if errors.Is(err, os.ErrNotExist) || (err != nil && !validDeployID(id)) {
		return sdk.Gone()
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	st := req.State
	healthy := countHealthy(ctx, r)
	stateFromRecord(&st, r, healthy)
	if dg := m.modelDigest(r.Spec.ModelPath); dg != r.ModelDigest {
		// The stored model's files changed under the running replicas.
		st.SetString("status", deployDegraded)
		st.SetString("model_digest", dg)
	}
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
	spec, d := m.deploySpec(ctx, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	access, err := gateway.AccessFor(req.Config.Attr("access"), st.Attr("access"))
	if err != nil {
		return errResp(attr("access"), "Invalid access", err)
	}
	r.Access, r.Strategy, r.upstreamKey = access, st.GetString("strategy"), spec.UpstreamKey
	digest := m.modelDigest(spec.ModelPath)
	if !r.sameSpecMasked(*spec) {
		err = m.rollout(ctx, r, spec, strategyOf(st), digest)
	} else {
		// The same spec: the configuration's has the clear values the
		// record only holds digests of, for replicas to restart.
		r.Spec = *spec
		err = m.repair(ctx, r, digest)
	}
	_ = r.save()
	if err != nil {
		// The prior object, as it now is.
		prior := req.Prior
		stateFromRecord(&prior, r, countHealthy(ctx, r))
		prior.Set("access", req.Prior.Attr("access"))
		d.Errorf("The deployment was not updated", "%s", err.Error())
		return &sdk.Response{State: done(prior), Diagnostics: d}
	}
	stateFromRecord(&st, r, countHealthy(ctx, r))
	return &sdk.Response{State: done(st), Diagnostics: d}
}

func deleteDeployment(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m := metaOf(req.Meta)
	r, err := m.loadRecord(req.Prior.GetString("id"))
	if errors.Is(err, os.ErrNotExist) || (err != nil && !validDeployID(req.Prior.GetString("id"))) {
		return nil
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	unlock, err := lockDir(ctx, r.dir)
	if err != nil {
		return sdk.ErrorResponse("Cannot delete the deployment", err)
	}
	stopAll(r)
	unlock()
	if err := removeDir(r.dir); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's directory", err)
	}
	if err := gateway.Withdraw(m.store.Root(), r.ID); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's gateway listing", err)
	}
	return nil
}

// stopAll stops the gateway (so no request starts) and every replica.
func stopAll(r *depRecord) {
	stopProc(r.Gateway, 12*time.Second)
	for _, x := range r.Replicas {
		stopProc(x.procRec, killGrace())
	}
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
		return sdk.ErrorResponse("Cannot import the deployment", fmt.Errorf("%w; import a local deployment by its id (dep-..., in %s)", err, m.deployRoot()))
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
	stateFromRecord(&st, r, countHealthy(ctx, r))
	return &sdk.Response{State: st}
}

func strList(l []string) cty.Value {
	if len(l) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(l))
	for i, s := range l {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func optString(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}
