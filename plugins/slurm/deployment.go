package slurm

import (
	"context"
	"encoding/json"
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
	"github.com/llmops/llmops/plugins/sdk/serving"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
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
		Validate: validateDeployment,
		// What the replica jobs run (model, serve block, replica count,
		// resources, where they are submitted) plans a new revision; new
		// jobs run on nodes and ports known once they run.
		ModifyPlan: serving.Plan(serving.PlanOptions{
			RolloutAttrs: []string{"model", "resources", "partition", "account", "qos", "node_ports"},
			Unknown: func(planned *sdk.Object, _ sdk.Object, rollout, repair bool) {
				if rollout || repair {
					planned.SetUnknown("backends")
					planned.SetUnknown("job_ids")
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
	d := serving.Validate("slurm", `["vllm", "serve", "{model_path}", "--host", "0.0.0.0", "--port", "{port}"] (each replica is a Slurm job)`, cfg)
	if up := cfg.Attr("upstream"); up != cty.NilVal && (!up.IsKnown() || !up.IsNull()) {
		d.AttrErrorf(attr("upstream"), "Upstream deployments run on the llmops host", "A hosted API needs no cluster job: serve it with the local provider (provider = local...), whose gateway forwards to it.")
		return d
	}
	serve := cfg.Attr("serve")
	sp := attr("serve")
	if env := nestedStringMap(serve, "env"); env != nil && jobs.CheckExtra(env) == nil {
		if err := checkEnv(env); err != nil {
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

// A Slurm deployment is served by package serving; this provider's part
// (the backend) runs each replica as a serving job. Its record and the
// gateway's configuration live in the artifact store
// (<store>/runs/slurm/deployment/<id>); the replicas' scripts and logs on
// shared_dir:
//
//	<shared_dir>/llmops/deployments/<id>/            seen by the nodes
//	  r<revision>-<replica>.<n>/                     one per replica job
//	    job.sh  job.id  job.log  endpoint.json  exit.json

// deployRecordFile is the record's name in its directory.
const deployRecordFile = serving.RecordFile

// slurmSpec is the Slurm part of a revision.
type slurmSpec struct {
	// QueueTimeout and RenewBefore are as configured ("" for the default).
	QueueTimeout string `json:"queue_timeout,omitempty"`
	RenewBefore  string `json:"renew_before,omitempty"`
	// Res is the request of each replica job (partition, gres, time...).
	Res resources `json:"resources"`
	// PortLow and PortHigh bound the port a replica picks on its node.
	PortLow  int `json:"port_low"`
	PortHigh int `json:"port_high"`
	// Config keeps the configured values import restores (configAttrs),
	// as JSON.
	Config json.RawMessage `json:"config,omitempty"`
}

func (s slurmSpec) queueTimeout() time.Duration {
	return serving.DurationOr(s.QueueTimeout, 30*time.Minute)
}
func (s slurmSpec) renewBefore() time.Duration {
	return serving.DurationOr(s.RenewBefore, 15*time.Minute)
}

// replicaRec is the Slurm part of a replica: its job and, once it runs,
// where its server listens.
type replicaRec struct {
	JobID string `json:"job_id"`
	Dir   string `json:"dir"`
	// Host and Port are the server's address on its node (endpoint.json).
	Host      string    `json:"host,omitempty"`
	Port      int       `json:"port,omitempty"`
	Node      string    `json:"node,omitempty"`
	Submitted time.Time `json:"submitted"`
}

func (x *replicaRec) hostPort() string { return net.JoinHostPort(x.Host, strconv.Itoa(x.Port)) }
func (x *replicaRec) logPath() string  { return filepath.Join(x.Dir, logFile) }

type (
	depRecord = serving.Record[slurmSpec, replicaRec]
	depSpec   = serving.Spec[slurmSpec]
	replica   = serving.Replica[replicaRec]
)

var deployments = serving.Resource[slurmSpec, replicaRec]{
	Backend: func(meta any) serving.Backend[slurmSpec, replicaRec] { return deployBackend{metaOf(meta)} },
}

// configAttrs are the configured attributes a record keeps for import,
// beyond the serve block and access.
var configAttrs = []string{"resources", "partition", "account", "qos", "node_ports", "queue_timeout", "renew_before"}

// expiring says whether a running replica job is within its renewal window
// of its time limit: renewBefore, but at most half the limit, so that a
// short limit does not renew a replica as soon as it starts.
func expiring(ji *jobInfo, renewBefore time.Duration, now time.Time) bool {
	if ji == nil || ji.Deadline.IsZero() || ji.Start.IsZero() || !ji.Deadline.After(ji.Start) {
		return false
	}
	window := min(renewBefore, ji.Deadline.Sub(ji.Start)/2)
	return ji.Deadline.Sub(now) <= window
}

// deployBackend runs a deployment's replicas as Slurm jobs.
type deployBackend struct{ m *meta }

func (b deployBackend) Site() serving.Site {
	return serving.Site{Provider: "slurm", StoreRoot: b.m.store.Root(), Exe: b.m.exe, GatewayEnv: jobs.Passthrough(os.Environ(), nil)}
}

func (m *meta) deploySharedRoot() string { return filepath.Join(m.shared, "deployments") }

// sharedDir is a deployment's directory on shared_dir.
func (m *meta) sharedDir(id string) string { return filepath.Join(m.deploySharedRoot(), id) }

// Spec resolves what a revision runs from a planned state.
func (b deployBackend) Spec(_ context.Context, st sdk.Object) (*depSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	m := b.m
	id := st.GetString("model")
	p, err := m.storePath(id)
	if err != nil {
		d.AttrErrorf(attr("model"), "Model not found", "%v. model takes a model id, such as model.base.id or training_run.ft.output_model.", err)
		return nil, d
	}
	serve := st.Attr("serve")
	spec := &depSpec{SpecBase: serving.SpecBase{
		Model: id, ModelPath: p, Command: nestedStrings(serve, "command"), Env: nestedStringMap(serve, "env"),
		HealthPath: nestedString(serve, "health_path"), HealthTimeout: nestedString(serve, "health_timeout"), Replicas: 1,
	}, Ext: slurmSpec{QueueTimeout: st.GetString("queue_timeout"), RenewBefore: st.GetString("renew_before")}}
	if len(spec.Command) == 0 {
		d.AttrErrorf(attr("serve"), "Missing serve command", "serve.command is empty.")
		return nil, d
	}
	if st.IsSet("replicas") {
		spec.Replicas, spec.ReplicasSet = int(st.GetInt("replicas")), true
	}
	for _, t := range []string{spec.HealthTimeout, spec.Ext.QueueTimeout, spec.Ext.RenewBefore} {
		if _, err := schema.ParseDuration(t); t != "" && err != nil {
			d.AttrErrorf(attr("serve"), "Invalid duration", "%v", err)
			return nil, d
		}
	}
	if spec.Ext.PortLow, spec.Ext.PortHigh, err = parsePortRange(st.GetString("node_ports")); err != nil {
		d.AttrErrorf(attr("node_ports"), "Invalid port range", "%v", err)
		return nil, d
	}
	res, rd := resourcesOf(m, st)
	d = append(d, rd...)
	res.Nodes = 1
	spec.Ext.Res = res
	keep := map[string]cty.Value{}
	for _, a := range configAttrs {
		keep[a] = st.Attr(a)
	}
	if b, err := ctyjson.Marshal(cty.ObjectVal(keep), cty.ObjectVal(keep).Type()); err == nil {
		spec.Ext.Config = b
	}
	return spec, d
}

// SameRevision: the job's request and the port range make a revision;
// the timeouts and the kept configuration do not.
func (deployBackend) SameRevision(a, b slurmSpec) bool {
	return a.Res == b.Res && a.PortLow == b.PortLow && a.PortHigh == b.PortHigh
}

func (deployBackend) Settle(dst *slurmSpec, src slurmSpec) {
	dst.QueueTimeout, dst.RenewBefore, dst.Config = src.QueueTimeout, src.RenewBefore, src.Config
}

func (b deployBackend) Start(ctx context.Context, r *depRecord, spec *depSpec, rev int64, index int) (replica, error) {
	x, err := b.m.submitReplica(ctx, r, spec, rev, index)
	if err == nil {
		sdk.Logger(ctx).Info("replica job submitted", "deployment", r.ID, "revision", rev, "replica", index, "slurm_job", x.Ext.JobID)
	}
	return x, err
}

func (b deployBackend) Wait(ctx context.Context, _ *depRecord, spec *depSpec, x *replica) error {
	return b.m.waitReplica(ctx, x, spec)
}

func (b deployBackend) Up(ctx context.Context, r *depRecord, x *replica) bool {
	return b.m.replicaUp(ctx, x, &r.Spec)
}

func (b deployBackend) Stop(ctx context.Context, _ *depRecord, reps []replica, remove bool) {
	b.m.cancelReplicas(ctx, reps, remove)
}

func (deployBackend) LogTail(x *replica) string {
	if _, err := os.Stat(x.Ext.logPath()); err != nil {
		return "" // a job that never ran has no log
	}
	return logTail(x.Ext.logPath())
}

// State sets where the gateway sends requests (backends) and the Slurm
// jobs of the current revision.
func (deployBackend) State(st *sdk.Object, r *depRecord) {
	var backends, ids []string
	for _, x := range r.Current() {
		backends = append(backends, x.URL)
		ids = append(ids, x.Ext.JobID)
	}
	st.Set("backends", serving.StringList(backends))
	st.Set("job_ids", serving.StringList(ids))
}

// Import restores the configured attributes the record keeps.
func (deployBackend) Import(st *sdk.Object, r *depRecord) {
	if len(r.Spec.Ext.Config) == 0 {
		return
	}
	ty := map[string]cty.Type{}
	for _, a := range configAttrs {
		ty[a] = st.Attr(a).Type()
	}
	if v, err := ctyjson.Unmarshal(r.Spec.Ext.Config, cty.Object(ty)); err == nil {
		for a := range ty {
			st.Set(a, v.GetAttr(a))
		}
	}
}

// Cleanup removes the replicas' directories on shared_dir.
func (b deployBackend) Cleanup(r *depRecord) error {
	return serving.RemoveDir(b.m.sharedDir(r.ID))
}
