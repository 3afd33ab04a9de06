package local

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/serving"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// A local deployment is served by package serving; this provider's part
// (the backend) runs each replica as a detached process on this host.

// localSpec is the local part of a revision: the GPUs its replicas get.
type localSpec struct {
	GPUs string `json:"gpus"`
}

// localReplica is the local part of a replica's record: its process, port
// and log.
type localReplica struct {
	procRec
	Port int    `json:"port"`
	Log  string `json:"log"`
}

type (
	depRecord  = serving.Record[localSpec, localReplica]
	depSpec    = serving.Spec[localSpec]
	replicaRec = serving.Replica[localReplica]
)

var deployments = serving.Resource[localSpec, localReplica]{
	Backend: func(meta any) serving.Backend[localSpec, localReplica] { return deployBackend{metaOf(meta)} },
}

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
		Validate: validateDeployment,
		ModifyPlan: serving.Plan(serving.PlanOptions{
			RolloutAttrs: []string{"model", "resources"},
			Unknown: func(planned *sdk.Object, prior sdk.Object, rollout, _ bool) {
				if rollout || prior.GetString("status") != serving.StatusServing {
					planned.SetUnknown("model_digest")
				}
			},
		}),
		Create: deployments.Create,
		Read:   deployments.Read,
		Update: deployments.Update,
		Delete: deployments.Delete,
		Import: deployments.Import,
	}
}

func validateDeployment(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	cfg := req.Config
	d := serving.Validate("local", `["llama-server", "-m", "{model_path}", "--port", "{port}"]`, cfg)
	if res := cfg.Attr("resources"); res != cty.NilVal {
		if n, ok := nestedInt(res, "nodes"); ok && n > 1 {
			d.AttrErrorf(cty.GetAttrPath("resources").GetAttr("nodes"), "Multi-node serving needs a cluster", "The local provider runs on one host; nodes = %d needs a cluster provider.", n)
		}
	}
	return d
}

// deployBackend runs a deployment's replicas as processes of this host.
type deployBackend struct{ m *meta }

func (b deployBackend) Site() serving.Site {
	return serving.Site{
		Provider: "local", StoreRoot: b.m.store.Root(), Exe: b.m.runner.exe,
		// The gateway's environment is a job's: the retrieval step runs
		// the embedding command in it.
		GatewayEnv: jobs.Passthrough(os.Environ(), b.m.passthrough),
		Resolve:    b.m.store.Resolve, WorkDir: b.m.workDir,
	}
}

// Spec resolves what a revision runs from a planned state.
func (b deployBackend) Spec(ctx context.Context, st sdk.Object) (*depSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	m := b.m
	id := st.GetString("model")
	p, err := m.store.Resolve(id)
	if err != nil {
		d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as model.base.id or training_run.ft.output_model.", err)
		return nil, d
	}
	serve := st.Attr("serve")
	spec := &depSpec{SpecBase: serving.SpecBase{
		Model: id, ModelPath: p, Command: nestedStrings(serve, "command"), Env: nestedStringMap(serve, "env"),
		HealthPath: nestedString(serve, "health_path"), HealthTimeout: nestedString(serve, "health_timeout"), Replicas: 1,
	}, Ext: localSpec{GPUs: gpusUnmanaged}}
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
	spec.Ext.GPUs = gpus
	return spec, d
}

func (deployBackend) SameRevision(a, b localSpec) bool { return a == b }
func (deployBackend) Settle(*localSpec, localSpec)     {}

// ModelDigest hashes the model's files (cheap when unchanged: the store's
// digest cache is keyed by file metadata): replicas whose files changed
// are degraded (serving.Digester).
func (b deployBackend) ModelDigest(path string) string {
	dg, err := b.m.store.Digest(path)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return string(dg.ID)
}

func (b deployBackend) Start(_ context.Context, r *depRecord, spec *depSpec, rev int64, index int) (replicaRec, error) {
	return startReplica(r.Dir, b.m.workDir, r.ID, spec, b.m.passthrough, r.Secrets(), rev, index)
}

func (deployBackend) Wait(ctx context.Context, _ *depRecord, spec *depSpec, x *replicaRec) error {
	return waitHealthy(ctx, x, spec.HealthPathOrDefault(), spec.HealthTimeoutOrDefault())
}

func (deployBackend) Up(ctx context.Context, r *depRecord, x *replicaRec) bool {
	return x.Ext.alive() && serving.Healthy(ctx, x.URL+r.Spec.HealthPathOrDefault())
}

func (deployBackend) Stop(_ context.Context, _ *depRecord, reps []replicaRec, _ bool) {
	for _, x := range reps {
		stopProc(x.Ext.procRec, killGrace())
	}
}

func (deployBackend) LogTail(x *replicaRec) string {
	if x.Ext.Log == "" {
		return ""
	}
	return serving.LogTail(x.Ext.Log, "the replica's log")
}

func (deployBackend) State(st *sdk.Object, r *depRecord) { st.SetString("model_digest", r.ModelDigest) }
func (deployBackend) Import(*sdk.Object, *depRecord)     {}
func (deployBackend) Cleanup(*depRecord) error           { return nil }

// loadRecord reads a local deployment's record (for monitors).
func (m *meta) loadRecord(id string) (*depRecord, error) {
	return serving.Load[localSpec, localReplica](m.store.Root(), "local", id)
}

var scrapeClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}

// lockDir takes a directory's lock (waiting up to a minute), so that two
// providers never change one monitor at once.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			f.Close()
			return nil, fmt.Errorf("%s is being changed by another llmops", dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func removeDir(dir string) error { return serving.RemoveDir(dir) }
