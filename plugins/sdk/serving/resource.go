package serving

import (
	"context"
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
	"github.com/llmops/llmops/plugins/sdk/traffic"
	"github.com/llmops/llmops/schema"
)

// Resource is a provider's deployment: the shared create, read, update,
// delete and import over the provider's backend.
type Resource[S, R any] struct {
	// Backend returns the backend of the configured provider (req.Meta).
	Backend func(meta any) Backend[S, R]
}

func (res Resource[S, R]) open(meta any) (*manager[S, R], Site) {
	b := res.Backend(meta)
	site := b.Site()
	return &manager[S, R]{b: b, site: site}, site
}

func (m *manager[S, R]) load(id string) (*Record[S, R], error) {
	return Load[S, R](m.site.StoreRoot, m.site.Provider, id)
}

// spec resolves what a revision runs from a planned state. An upstream
// deployment's comes from its upstream block alone: no replica runs, so
// nothing of the backend's (its Spec is not called, Ext stays zero).
// The retrieval block's part is resolved here too, for every backend.
func (m *manager[S, R]) spec(ctx context.Context, st sdk.Object) (*Spec[S], sdk.Diagnostics) {
	if up := st.Attr("upstream"); up != cty.NilVal && up.IsKnown() && !up.IsNull() {
		return m.withRetrieval(ctx, st, &Spec[S]{SpecBase: SpecBase{
			Upstream:    &UpstreamSpec{BaseURL: NestedString(up, "base_url"), Model: NestedString(up, "model")},
			UpstreamKey: NestedString(up, "api_key"),
		}}, nil)
	}
	spec, d := m.b.Spec(ctx, st)
	return m.withRetrieval(ctx, st, spec, d)
}

func (m *manager[S, R]) digest(spec *Spec[S]) string {
	if spec.ModelPath == "" { // an upstream: no files
		return ""
	}
	if dg, ok := m.b.(Digester); ok {
		return dg.ModelDigest(spec.ModelPath)
	}
	return ""
}

// StrategyOf is the configured strategy, blue_green by default.
func StrategyOf(st sdk.Object) string {
	if s := st.GetString("strategy"); s != "" {
		return s
	}
	return StrategyBlueGreen
}

// Done prepares a final state: `version` belongs to the engine.
func Done(st sdk.Object) sdk.Object {
	if !st.Known("version") {
		st.SetNull("version")
	}
	return st
}

// Create starts a deployment: its gateway first (so a busy port fails at
// once), then revision 1's replicas, then the routes to them.
func (res Resource[S, R]) Create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m, site := res.open(req.Meta)
	st := req.Planned
	spec, d := m.spec(ctx, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	access, err := gateway.AccessFor(req.Config.Attr("access"), st.Attr("access"))
	if err != nil {
		d.AttrErrorf(cty.GetAttrPath("access"), "Invalid access", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	id, err := NewID()
	if err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	root := Root(site.StoreRoot, site.Provider)
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return sdk.ErrorResponse("Cannot create the deployment", err)
	}
	host := st.GetString("host")
	if host == "" {
		host = "127.0.0.1"
	}
	r := &Record[S, R]{ID: id, Host: host, Port: int(st.GetInt("port")), CreatedAt: time.Now().UTC(), Spec: *spec,
		Strategy: st.GetString("strategy"), Access: access, Dir: dir, provider: site.Provider, storeRoot: site.StoreRoot, secrets: sdk.Secrets(ctx),
		upstreamKey: spec.UpstreamKey, Capture: CaptureOf(st)}
	fail := func(summary string, err error) *sdk.Response {
		m.stopAll(context.WithoutCancel(ctx), r)
		_ = m.b.Cleanup(r)
		_ = RemoveDir(dir)
		_ = gateway.Withdraw(site.StoreRoot, id)
		d.FromError(summary, err)
		return &sdk.Response{Diagnostics: d}
	}
	if err := m.applyRoutes(ctx, r); err != nil {
		return fail("Cannot start the deployment's gateway", err)
	}
	digest := m.digest(spec)
	news, err := m.startReplicas(ctx, r, spec, 1, indices(spec.Replicas))
	if err != nil {
		return fail("The deployment did not become healthy", err)
	}
	r.setRouted(news, nil)
	r.Revision, r.MaxRevision, r.ModelDigest = 1, 1, digest
	if err := m.applyRoutes(ctx, r); err != nil {
		return fail("Cannot configure the deployment's gateway", err)
	}
	sdk.Logger(ctx).Info("deployment serving", "id", id, "endpoint", r.Endpoint(), "replicas", spec.Replicas)
	m.state(&st, r, len(news))
	return &sdk.Response{State: Done(st), Diagnostics: d}
}

// state sets the computed attributes from the record.
func (m *manager[S, R]) state(st *sdk.Object, r *Record[S, R], healthy int) {
	st.SetString("id", r.ID)
	st.SetString("endpoint", r.Endpoint())
	st.SetString("host", r.Host)
	st.SetInt("port", int64(r.Port))
	st.SetInt("revision", r.Revision)
	st.SetInt("healthy_replicas", int64(healthy))
	st.SetString("traffic", traffic.Source(r.ID))
	st.Set("access", gateway.AccessState(st.Attr("access"), r.Access))
	status := StatusServing
	switch {
	case healthy == 0 && !r.Gateway.Alive():
		status = StatusStopped
	case healthy < r.Spec.Replicas || !r.Gateway.Alive():
		status = StatusDegraded
	}
	st.SetString("status", status)
	m.b.State(st, r)
}

// Read refreshes a deployment: its replicas' health, its gateway, and
// (for a Digester) the model's files.
func (res Resource[S, R]) Read(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m, _ := res.open(req.Meta)
	r, err := m.load(req.State.GetString("id"))
	if errors.Is(err, os.ErrNotExist) {
		return sdk.Gone()
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	st := req.State
	m.state(&st, r, m.countHealthy(ctx, r))
	if _, ok := m.b.(Digester); ok && st.Attr("model_digest") != cty.NilVal {
		if dg := m.digest(&r.Spec); dg != r.ModelDigest {
			// The stored model's files changed under the running replicas.
			st.SetString("status", StatusDegraded)
			st.SetString("model_digest", dg)
		}
	}
	if st.Value.RawEquals(req.State.Value) {
		return nil
	}
	return &sdk.Response{State: st}
}

// Update rolls out a new revision when the plan announced one (its
// revision unknown) and the spec differs; otherwise it repairs the
// revision being served (what the plan cannot see, such as a provider
// setting, takes effect at the next rollout).
func (res Resource[S, R]) Update(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
	m, _ := res.open(req.Meta)
	st := req.Planned
	r, err := m.load(req.Prior.GetString("id"))
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", fmt.Errorf("%w; refresh (plan) to recreate it", err))
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return sdk.ErrorResponse("Cannot change the deployment", err)
	}
	defer unlock()
	if r, err = m.load(r.ID); err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	r.secrets = sdk.Secrets(ctx)
	spec, d := m.spec(ctx, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	access, err := gateway.AccessFor(req.Config.Attr("access"), st.Attr("access"))
	if err != nil {
		d.AttrErrorf(cty.GetAttrPath("access"), "Invalid access", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	r.Access, r.Strategy, r.upstreamKey, r.Capture = access, st.GetString("strategy"), spec.UpstreamKey, CaptureOf(st)
	digest := m.digest(spec)
	if !st.Known("revision") && !r.sameSpec(*spec, m.b.SameRevision) {
		err = m.rollout(ctx, r, spec, StrategyOf(st), digest)
	} else {
		// The same revision: the configuration's spec has the clear values
		// the record only holds digests of, for replicas to restart.
		r.unmask(spec.SpecBase)
		r.Spec.HealthTimeout, r.Spec.ReplicasSet = spec.HealthTimeout, spec.ReplicasSet
		m.b.Settle(&r.Spec.Ext, spec.Ext)
		if _, ok := m.b.(Digester); !ok {
			digest = r.ModelDigest
		}
		err = m.repair(ctx, r, digest)
	}
	_ = r.Save()
	if err != nil {
		// The prior object, as it now is.
		prior := req.Prior
		m.state(&prior, r, m.countHealthy(ctx, r))
		prior.Set("access", req.Prior.Attr("access"))
		d.Errorf("The deployment was not updated", "%s", err.Error())
		return &sdk.Response{State: Done(prior), Diagnostics: d}
	}
	m.state(&st, r, m.countHealthy(ctx, r))
	return &sdk.Response{State: Done(st), Diagnostics: d}
}

// Delete stops the gateway, then the replicas, and removes the
// deployment's files and its gateway listing.
func (res Resource[S, R]) Delete(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
	m, site := res.open(req.Meta)
	r, err := m.load(req.Prior.GetString("id"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return sdk.ErrorResponse("Cannot read the deployment", err)
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return sdk.ErrorResponse("Cannot delete the deployment", err)
	}
	m.stopAll(ctx, r)
	unlock()
	if err := m.b.Cleanup(r); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's replicas", err)
	}
	if err := RemoveDir(r.Dir); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's directory", err)
	}
	if err := gateway.Withdraw(site.StoreRoot, r.ID); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's gateway listing", err)
	}
	// The captured traffic goes with the deployment (dataset versions
	// made from it are artifacts of their own).
	if err := traffic.Remove(site.StoreRoot, r.ID); err != nil {
		return sdk.ErrorResponse("Cannot remove the deployment's captured traffic", err)
	}
	return nil
}

// CaptureOf reads a planned state's capture block (nil without one):
// redact defaults to every built-in detector. LLMOPS_CAPTURE_SEAL_AFTER
// (a Go duration) in the provider's environment overrides how long a
// segment stays open (traffic.DefaultSealAfter).
func CaptureOf(st sdk.Object) *gateway.CaptureConfig {
	v := st.Attr("capture")
	if v == cty.NilVal || !v.IsWhollyKnown() || v.IsNull() {
		return nil
	}
	c := &gateway.CaptureConfig{Redact: traffic.DefaultRedact, RedactPatterns: NestedStrings(v, "redact_patterns"), SealAfter: os.Getenv("LLMOPS_CAPTURE_SEAL_AFTER")}
	if s := nested(v, "sample"); s != cty.NilVal {
		c.Sample, _ = s.AsBigFloat().Float64()
	}
	if r := nested(v, "redact"); r != cty.NilVal {
		c.Redact = append([]string{}, NestedStrings(v, "redact")...)
	}
	if m := nested(v, "max_rows"); m != cty.NilVal {
		c.MaxRows, _ = m.AsBigFloat().Int64()
	}
	return c
}

// Import adopts a deployment of this provider by its id.
func (res Resource[S, R]) Import(ctx context.Context, req *sdk.ImportRequest) *sdk.Response {
	m, site := res.open(req.Meta)
	r, err := m.load(req.ID)
	if err != nil {
		return sdk.ErrorResponse("Cannot import the deployment", fmt.Errorf("%w; import a deployment of the %s provider by its id (dep-..., in %s)", err, site.Provider, Root(site.StoreRoot, site.Provider)))
	}
	st := req.State
	if up := r.Spec.Upstream; up != nil {
		// The key is not in the record (a digest): the configuration's
		// api_key plans it in, a new revision.
		st.Set("upstream", cty.ObjectVal(map[string]cty.Value{
			"base_url": cty.StringVal(up.BaseURL), "model": cty.StringVal(up.Model), "api_key": cty.NullVal(cty.String),
		}))
		m.state(&st, r, 0)
		return &sdk.Response{State: st}
	}
	st.SetString("model", r.Spec.Model)
	if r.Spec.ReplicasSet {
		st.SetInt("replicas", int64(r.Spec.Replicas))
	}
	if r.Strategy != "" {
		st.SetString("strategy", r.Strategy)
	}
	serve := map[string]cty.Value{
		"command":        StringList(r.Spec.Command),
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
	m.b.Import(&st, r)
	m.state(&st, r, m.countHealthy(ctx, r))
	return &sdk.Response{State: st}
}

// StringList is a cty list of strings (an empty list for none).
func StringList(l []string) cty.Value {
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

// Validate is the check of a deployment every serving provider makes: the
// core schema's (model or upstream), a model id, a serve block (unless an
// upstream) (example names a serve
// command that suits the provider), an env that sets no contract
// variable, the gateway's host and port.
func Validate(provider, example string, cfg sdk.Object) sdk.Diagnostics {
	d := schema.Validate(schema.Deployment, cfg.Value)
	attr := cty.GetAttrPath
	if cfg.Known("model") && cfg.IsSet("model") {
		if id := cfg.GetString("model"); !schema.IsArtifactID(id) {
			d.AttrErrorf(attr("model"), "Invalid model", "%q is not a model id: the %s provider serves models from the artifact store, e.g. model = training_run.ft.output_model or model.base.id.", id, provider)
		}
	}
	serve := cfg.Attr("serve")
	up := cfg.Attr("upstream")
	if serve.IsKnown() && serve.IsNull() && (up == cty.NilVal || up.IsKnown() && up.IsNull()) {
		d.AttrErrorf(attr("serve"), "Missing serve block", "The %s provider runs each replica with serve { command = [...] }, e.g. %s.", provider, example)
	}
	if env := NestedStringMap(serve, "env"); env != nil {
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
	return d
}
