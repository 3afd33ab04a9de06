package slurm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/schema"
)

// A deployment lives in two directories:
//
//	<artifact store>/runs/slurm/deployment/<id>/     on the llmops host, private
//	  deployment.json   the provider's record (depRecord)
//	  gateway.json      the gateway's routes and key hashes (package gateway)
//	  gateway.log       the gateway's log
//	  lock              flock held while the provider changes the deployment
//	<shared_dir>/llmops/deployments/<id>/            seen by the nodes
//	  r<revision>-<replica>.<n>/                     one per replica job
//	    job.sh  job.id  job.log  endpoint.json  exit.json
const (
	deployRecordFile = "deployment.json"
	deployLockFile   = "lock"
)

// depSpec is what a revision runs.
type depSpec struct {
	Model     string            `json:"model"`
	ModelPath string            `json:"model_path"` // as the nodes see it
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"`
	// HealthPath, HealthTimeout and QueueTimeout are as configured ("" for
	// the default).
	HealthPath    string `json:"health_path,omitempty"`
	HealthTimeout string `json:"health_timeout,omitempty"`
	QueueTimeout  string `json:"queue_timeout,omitempty"`
	RenewBefore   string `json:"renew_before,omitempty"`
	Replicas      int    `json:"replicas"`
	ReplicasSet   bool   `json:"replicas_set,omitempty"`
	// Res is the request of each replica job (partition, gres, time...).
	Res resources `json:"resources"`
	// PortLow and PortHigh bound the port a replica picks on its node.
	PortLow  int `json:"port_low"`
	PortHigh int `json:"port_high"`
	// Config keeps the configured values import restores (configAttrs),
	// as JSON.
	Config json.RawMessage `json:"config,omitempty"`
}

func (s depSpec) healthPath() string {
	if s.HealthPath == "" {
		return "/health"
	}
	return s.HealthPath
}

func (s depSpec) healthTimeout() time.Duration { return durationOr(s.HealthTimeout, 60*time.Second) }
func (s depSpec) queueTimeout() time.Duration  { return durationOr(s.QueueTimeout, 30*time.Minute) }
func (s depSpec) renewBefore() time.Duration   { return durationOr(s.RenewBefore, 15*time.Minute) }

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

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := schema.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}

// rolloutKey is what makes a new revision: the timeouts do not.
func (s depSpec) rolloutKey() depSpec {
	s.HealthTimeout, s.QueueTimeout, s.RenewBefore, s.ReplicasSet, s.Config = "", "", "", false, nil
	s.HealthPath = s.healthPath()
	if len(s.Env) == 0 {
		s.Env = nil
	}
	return s
}

func sameSpec(a, b depSpec) bool { return reflect.DeepEqual(a.rolloutKey(), b.rolloutKey()) }

// depAccess is the gateway's access configuration (hashes only).
type depAccess = gateway.Access

// replicaRec is one replica: a Slurm job and, once it runs, its server.
type replicaRec struct {
	Index    int    `json:"index"`
	Revision int64  `json:"revision"`
	JobID    string `json:"job_id"`
	Dir      string `json:"dir"`
	// Host and Port are the server's address on its node (endpoint.json).
	Host      string    `json:"host,omitempty"`
	Port      int       `json:"port,omitempty"`
	Node      string    `json:"node,omitempty"`
	Submitted time.Time `json:"submitted"`
	// Routed says the gateway sends requests to it.
	Routed bool `json:"routed"`
	// Token is the replica's token (gateway.ReplicaTokenEnv), which the
	// gateway sends it with every request.
	Token string `json:"token,omitempty"`
}

func (x *replicaRec) hostPort() string { return net.JoinHostPort(x.Host, strconv.Itoa(x.Port)) }
func (x *replicaRec) url() string      { return "http://" + x.hostPort() }
func (x *replicaRec) logPath() string  { return filepath.Join(x.Dir, logFile) }

// depRecord is deployment.json: everything the provider knows of a
// deployment, enough to refresh, change, delete or import it.
type depRecord struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	CreatedAt time.Time `json:"created_at"`
	// Revision is the revision the deployment serves; MaxRevision the
	// highest ever started (a failed rollout's number is not reused).
	Revision    int64           `json:"revision"`
	MaxRevision int64           `json:"max_revision"`
	Spec        depSpec         `json:"spec"`
	Strategy    string          `json:"strategy"`
	Access      depAccess       `json:"access"`
	Replicas    []replicaRec    `json:"replicas"`
	Gateway     gateway.Process `json:"gateway"`
	Generation  int64           `json:"generation"`
	// Seq numbers the replica directories.
	Seq int `json:"seq"`
	// Salt salts the digests that stand for sensitive values in Spec.
	Salt string `json:"salt,omitempty"`

	dir    string // the record's directory
	shared string // the replicas' directory on shared_dir
	root   string // the artifact store's root, where the gateway listing goes
	// secrets are the sensitive values of the call that changes the
	// deployment (sdk.Secrets): save writes Spec with each serve command
	// element and env value that holds one replaced by scrub.Digest.
	secrets *scrub.Set
}

// maskSpec returns s with its secrets replaced by salted digests.
func maskSpec(s depSpec, salt string, secrets *scrub.Set) depSpec {
	out := s
	out.Command = make([]string, len(s.Command))
	for i, a := range s.Command {
		out.Command[i] = secrets.DigestIfSecret(salt, a)
	}
	if s.Env != nil {
		out.Env = make(map[string]string, len(s.Env))
		for k, v := range s.Env {
			out.Env[k] = secrets.DigestIfSecret(salt, v)
		}
	}
	return out
}

// sameSpecMasked compares the recorded spec (masked when saved) with a new
// one, masked the same way.
func (r *depRecord) sameSpecMasked(s depSpec) bool {
	return sameSpec(maskSpec(r.Spec, r.Salt, r.secrets), maskSpec(s, r.Salt, r.secrets))
}

// unmask puts back, from a spec built from the configuration, the clear
// values whose digests the record holds, so replicas restarted in the
// same revision get them.
func (r *depRecord) unmask(from depSpec) {
	for i, a := range r.Spec.Command {
		if scrub.IsDigest(a) && i < len(from.Command) && scrub.Digest(r.Salt, from.Command[i]) == a {
			r.Spec.Command[i] = from.Command[i]
		}
	}
	for k, v := range r.Spec.Env {
		if nv, ok := from.Env[k]; ok && scrub.IsDigest(v) && scrub.Digest(r.Salt, nv) == v {
			r.Spec.Env[k] = nv
		}
	}
}

func (m *meta) deployRoot() string {
	return filepath.Join(m.store.Root(), "runs", "slurm", "deployment")
}
func (m *meta) deploySharedRoot() string {
	return filepath.Join(m.shared, "deployments")
}

func newDeployID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "dep-" + hex.EncodeToString(b[:]), nil
}

func validDeployID(id string) bool {
	rest, ok := strings.CutPrefix(id, "dep-")
	if !ok || len(rest) != 16 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

// loadRecord reads a deployment's record; os.ErrNotExist when there is
// none.
func (m *meta) loadRecord(id string) (*depRecord, error) {
	if !validDeployID(id) {
		return nil, fmt.Errorf("%q is not a deployment id of the slurm provider (dep-<16 hex digits>): %w", id, os.ErrNotExist)
	}
	dir := filepath.Join(m.deployRoot(), id)
	b, err := os.ReadFile(filepath.Join(dir, deployRecordFile))
	if err != nil {
		return nil, err
	}
	var r depRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, deployRecordFile), err)
	}
	r.dir, r.shared, r.root = dir, filepath.Join(m.deploySharedRoot(), id), m.store.Root()
	return &r, nil
}

func (r *depRecord) save() error {
	if r.Salt == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		r.Salt = hex.EncodeToString(b[:])
	}
	rec := *r
	rec.Spec = maskSpec(r.Spec, r.Salt, r.secrets)
	b, err := json.MarshalIndent(&rec, "", "  ")
	if err != nil {
		return err
	}
	if err := jobs.WriteFileAtomic(filepath.Join(r.dir, deployRecordFile), b, 0o600); err != nil {
		return err
	}
	// List the gateway where monitors of any provider find it.
	if r.root == "" {
		return nil
	}
	return gateway.Publish(r.root, gateway.Listing{Deployment: r.ID, Provider: "slurm", Endpoint: r.endpoint(), Revision: r.Revision})
}

// lockDir takes the deployment's lock (waiting up to a minute), so that two
// providers never change one deployment at once.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, deployLockFile), os.O_CREATE|os.O_RDWR, 0o600)
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
			return nil, fmt.Errorf("the deployment in %s is being changed by another llmops", dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *depRecord) endpoint() string { return gateway.EndpointURL(r.Host, r.Port) }

// gatewayBase is where the provider reaches the gateway.
func (r *depRecord) gatewayBase() string { return strings.TrimSuffix(r.endpoint(), "/v1") }

// routed returns the replicas the gateway sends requests to.
func (r *depRecord) routed() []replicaRec {
	var out []replicaRec
	for _, x := range r.Replicas {
		if x.Routed {
			out = append(out, x)
		}
	}
	return out
}

func (r *depRecord) gatewayConfig() *gateway.Config {
	c := &gateway.Config{
		Generation: r.Generation, Deployment: r.ID, Revision: r.Revision,
		Public: r.Access.Public, KeyHashes: r.Access.KeyHashes, RequestsPerMinute: r.Access.RequestsPerMinute,
		RequestTimeout: os.Getenv("LLMOPS_GATEWAY_REQUEST_TIMEOUT"),
	}
	for _, x := range r.routed() {
		c.Backends = append(c.Backends, gateway.Backend{URL: x.url(), Revision: x.Revision, Replica: x.Index, Token: x.Token})
	}
	return c
}

// setRouted routes the replicas (by job id) in on and unroutes those in off.
func (r *depRecord) setRouted(on, off []replicaRec) {
	for i := range r.Replicas {
		x := &r.Replicas[i]
		for _, y := range on {
			if x.JobID == y.JobID {
				x.Routed = true
			}
		}
		for _, y := range off {
			if x.JobID == y.JobID {
				x.Routed = false
			}
		}
	}
}

// forget removes replicas (by job id) from the record.
func (r *depRecord) forget(reps []replicaRec) {
	keep := r.Replicas[:0]
	for _, x := range r.Replicas {
		gone := false
		for _, y := range reps {
			gone = gone || x.JobID == y.JobID
		}
		if !gone {
			keep = append(keep, x)
		}
	}
	r.Replicas = keep
}

var localClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}

// applyRoutes writes the gateway's configuration (a new generation) and
// waits until the gateway has it in force; a dead gateway is restarted.
func (m *meta) applyRoutes(ctx context.Context, r *depRecord) error {
	r.Generation++
	if err := gateway.WriteConfig(r.dir, r.gatewayConfig()); err != nil {
		return err
	}
	if err := r.save(); err != nil {
		return err
	}
	if err := r.Gateway.Reload(); err != nil {
		return m.restartGateway(ctx, r)
	}
	if err := gateway.WaitGeneration(ctx, localClient, r.gatewayBase(), r.Generation, r.Gateway, 10*time.Second); err != nil {
		if !r.Gateway.Alive() {
			return m.restartGateway(ctx, r)
		}
		return fmt.Errorf("%w; see %s", err, filepath.Join(r.dir, gateway.LogFile))
	}
	return nil
}

// restartGateway starts the gateway on the deployment's address (after
// the configuration was written) and waits until it serves it.
func (m *meta) restartGateway(ctx context.Context, r *depRecord) error {
	r.Gateway.Stop(5 * time.Second)
	if m.exe == "" {
		return fmt.Errorf("cannot find the provider's executable, which runs the gateway")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
	if err != nil {
		return fmt.Errorf("the gateway's port: %w", err)
	}
	defer ln.Close()
	r.Port = ln.Addr().(*net.TCPAddr).Port
	p, err := gateway.Launch(m.exe, r.dir, ln.(*net.TCPListener), gatewayEnv())
	if err != nil {
		return err
	}
	r.Gateway = p
	if err := r.save(); err != nil {
		return err
	}
	if err := gateway.WaitGeneration(ctx, localClient, r.gatewayBase(), r.Generation, p, 15*time.Second); err != nil {
		return fmt.Errorf("the gateway did not start: %v%s", err, logTail(filepath.Join(r.dir, gateway.LogFile)))
	}
	return nil
}

// gatewayEnv is the gateway's environment: the default allow-list of the
// provider's (the gateway needs nothing of llmops').
func gatewayEnv() []string {
	return jobs.Passthrough(os.Environ(), nil)
}

// drain waits (up to a minute) until the gateway has no request in flight
// on any of the replicas.
func (r *depRecord) drain(ctx context.Context, reps []replicaRec) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil && r.Gateway.Alive() {
		s, err := gateway.Scrape(ctx, localClient, r.gatewayBase())
		if err != nil {
			return
		}
		busy := false
		for _, x := range reps {
			busy = busy || gateway.Inflight(s, x.hostPort()) > 0
		}
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
