package local

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
)

// Files of a deployment directory <store>/runs/local/deployment/<id>.
const (
	deployRecordFile = "deployment.json" // the provider's record (depRecord)
	deployLockFile   = "lock"            // flock held by the provider while it changes the deployment
)

// depSpec is what a revision runs.
type depSpec struct {
	Model     string            `json:"model"`
	ModelPath string            `json:"model_path"`
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"`
	// HealthPath and HealthTimeout are as configured ("" for the default).
	HealthPath    string `json:"health_path,omitempty"`
	HealthTimeout string `json:"health_timeout,omitempty"`
	Replicas      int    `json:"replicas"`
	// ReplicasSet says the configuration set replicas (for import).
	ReplicasSet bool   `json:"replicas_set,omitempty"`
	GPUs        string `json:"gpus"`
	// Upstream is a hosted API served instead of replicas (Replicas 0).
	Upstream *upstreamSpec `json:"upstream,omitempty"`
	// UpstreamKey is the upstream's key: in the record only as a salted
	// digest (maskSpec), so a new key is a new revision.
	UpstreamKey string `json:"upstream_key,omitempty"`
}

// upstreamSpec is a deployment's upstream block but its key.
type upstreamSpec struct {
	BaseURL string `json:"base_url"`
	Model   string `json:"model"`
}

func (s depSpec) healthPath() string {
	if s.HealthPath == "" {
		return "/health"
	}
	return s.HealthPath
}

// rolloutKey is what makes a new revision: the health timeout does not.
func (s depSpec) rolloutKey() depSpec {
	s.HealthTimeout, s.ReplicasSet = "", false
	s.HealthPath = s.healthPath()
	if len(s.Env) == 0 {
		s.Env = nil
	}
	return s
}

func (s depSpec) healthTimeout() time.Duration {
	if s.HealthTimeout != "" {
		if d, err := time.ParseDuration(s.HealthTimeout); err == nil && d > 0 {
			return d
		}
	}
	return defaultHealthTimeout
}

const defaultHealthTimeout = 60 * time.Second

// depAccess is the gateway's access configuration (hashes only).
type depAccess = gateway.Access

// depRecord is deployment.json: everything the provider knows of a
// deployment, enough to refresh, change, delete or import it.
type depRecord struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	CreatedAt time.Time `json:"created_at"`
	// Revision is the revision the deployment serves (or rolls out to).
	Revision int64   `json:"revision"`
	Spec     depSpec `json:"spec"`
	// ModelDigest is the digest of the model's files when the replicas of
	// Revision were started.
	ModelDigest string       `json:"model_digest"`
	Strategy    string       `json:"strategy"`
	Access      depAccess    `json:"access"`
	Replicas    []replicaRec `json:"replicas"`
	Gateway     procRec      `json:"gateway"`
	Generation  int64        `json:"generation"`
	// MaxRevision is the highest revision ever started (a failed rollout's
	// number is not reused).
	MaxRevision int64 `json:"max_revision"`
	// Salt salts the digests that stand for sensitive values in Spec.
	Salt string `json:"salt,omitempty"`
	// GatewaySecrets is the salted digest of the upstream key the running
	// gateway holds ("" for none).
	GatewaySecrets string `json:"gateway_secrets,omitempty"`

	dir  string
	root string // the artifact store's root, where the gateway listing goes
	// secrets are the sensitive values of the call that changes the
	// deployment (sdk.Secrets): save writes Spec with each serve command
	// element and env value that holds one replaced by a salted digest.
	secrets *scrub.Set
	// upstreamKey is the configured upstream key, in memory only (from
	// the call that changes the deployment).
	upstreamKey string
}

func (m *meta) deployRoot() string {
	return filepath.Join(m.store.Root(), "runs", "local", "deployment")
}

// deployDir returns a deployment's directory, refusing ids that are not
// ours.
func (m *meta) deployDir(id string) (string, error) {
	if !validDeployID(id) {
		return "", fmt.Errorf("%q is not a local deployment id (dep-<16 hex digits>)", id)
	}
	return filepath.Join(m.deployRoot(), id), nil
}

func validDeployID(id string) bool {
	rest, ok := strings.CutPrefix(id, "dep-")
	if !ok || len(rest) != 16 {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// loadRecord reads a deployment's record; os.ErrNotExist when there is
// none.
func (m *meta) loadRecord(id string) (*depRecord, error) {
	dir, err := m.deployDir(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, deployRecordFile))
	if err != nil {
		return nil, err
	}
	var r depRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, deployRecordFile), err)
	}
	r.dir, r.root = dir, m.store.Root()
	return &r, nil
}

// maskSpec returns s with every command element and env value that holds
// a secret replaced by "(sensitive) sha256:<salted digest>" (scrub.Digest):
// the record never holds a secret, and two specs with the same secrets
// still compare equal (sameSpec) once both are masked with the same salt.
func maskSpec(s depSpec, salt string, secrets *scrub.Set) depSpec {
	mask := func(v string) string { return secrets.DigestIfSecret(salt, v) }
	out := s
	if s.UpstreamKey != "" && !scrub.IsDigest(s.UpstreamKey) {
		out.UpstreamKey = scrub.Digest(salt, s.UpstreamKey)
	}
	out.Command = make([]string, len(s.Command))
	for i, a := range s.Command {
		out.Command[i] = mask(a)
	}
	if s.Env != nil {
		out.Env = make(map[string]string, len(s.Env))
		for k, v := range s.Env {
			out.Env[k] = mask(v)
		}
	}
	return out
}

func (r *depRecord) save() error {
	if r.Salt == "" {
		r.Salt = randomSalt()
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
	return gateway.Publish(r.root, gateway.Listing{Deployment: r.ID, Provider: "local", Endpoint: r.endpoint(), Revision: r.Revision})
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

// gatewayBase is where the provider reaches the gateway (loopback when it
// listens on every address).
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
	if up := r.Spec.Upstream; up != nil && r.Revision > 0 {
		c.Models = []string{up.Model}
		c.Backends = append(c.Backends, gateway.Backend{URL: up.BaseURL, Revision: r.Revision, Upstream: true, Model: up.Model, KeyRef: upstreamKeyRef})
	}
	return c
}

// upstreamKeyRef names the upstream key among the gateway's secrets.
const upstreamKeyRef = "upstream"

// gatewaySecrets are the secrets the gateway process gets through a pipe
// at its start: the upstream's key, when there is one.
func (r *depRecord) gatewaySecrets() map[string]string {
	if r.upstreamKey == "" {
		return nil
	}
	return map[string]string{upstreamKeyRef: r.upstreamKey}
}

// secretsChanged reports whether the running gateway holds another
// upstream key than the one configured (it then has to be restarted).
func (r *depRecord) secretsChanged() bool {
	want := ""
	if r.upstreamKey != "" {
		want = scrub.Digest(r.Salt, r.upstreamKey)
	}
	return want != r.GatewaySecrets
}

var scrapeClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}

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
	if !r.Gateway.alive() || r.secretsChanged() {
		return m.restartGateway(ctx, r)
	}
	_ = syscall.Kill(r.Gateway.PID, syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := gateway.Scrape(ctx, scrapeClient, r.gatewayBase())
		if err == nil && gateway.Generation(s) >= r.Generation {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway (pid %d) did not take configuration generation %d within 10s (last: %v); see %s", r.Gateway.PID, r.Generation, errOr(err, "an older generation"), filepath.Join(r.dir, "gateway.log"))
		}
		if !r.Gateway.alive() {
			return m.restartGateway(ctx, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// restartGateway starts the gateway on the deployment's port (after the
// configuration was written) and waits for its /health.
func (m *meta) restartGateway(ctx context.Context, r *depRecord) error {
	stopProc(r.Gateway, 5*time.Second)
	ln, err := net.Listen("tcp", net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
	if err != nil {
		return fmt.Errorf("the gateway's port: %w", err)
	}
	defer ln.Close()
	r.Port = ln.Addr().(*net.TCPAddr).Port
	p, err := startGateway(m.runner.exe, r.dir, ln.(*net.TCPListener), r.gatewaySecrets())
	if err != nil {
		return err
	}
	r.Gateway = p
	if r.Salt == "" {
		r.Salt = randomSalt()
	}
	r.GatewaySecrets = ""
	if r.upstreamKey != "" {
		r.GatewaySecrets = scrub.Digest(r.Salt, r.upstreamKey)
	}
	if err := r.save(); err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := gateway.Scrape(ctx, scrapeClient, r.gatewayBase())
		if err == nil && gateway.Generation(s) >= r.Generation {
			return nil
		}
		if !p.alive() || time.Now().After(deadline) {
			return fmt.Errorf("the gateway did not start: %v%s", errOr(err, "no answer"), logTail(filepath.Join(r.dir, "gateway.log")))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drain waits (up to a minute) until the gateway has no request in flight
// on any of the replicas.
func (r *depRecord) drain(ctx context.Context, reps []replicaRec) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil && r.Gateway.alive() {
		s, err := gateway.Scrape(ctx, scrapeClient, r.gatewayBase())
		if err != nil {
			return
		}
		busy := false
		for _, x := range reps {
			busy = busy || gateway.Inflight(s, x.host()) > 0
		}
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopReplicas stops replicas and removes them from the record.
func (r *depRecord) stopReplicas(reps []replicaRec) {
	for _, x := range reps {
		stopProc(x.procRec, killGrace())
	}
	keep := r.Replicas[:0]
	for _, x := range r.Replicas {
		gone := false
		for _, y := range reps {
			gone = gone || (x.PID == y.PID && x.PStart == y.PStart)
		}
		if !gone {
			keep = append(keep, x)
		}
	}
	r.Replicas = keep
}

func sameSpec(a, b depSpec) bool { return reflect.DeepEqual(a.rolloutKey(), b.rolloutKey()) }

// sameSpecMasked compares the recorded spec (masked when saved) with a new
// one, masked the same way.
func (r *depRecord) sameSpecMasked(s depSpec) bool {
	return sameSpec(maskSpec(r.Spec, r.Salt, r.secrets), maskSpec(s, r.Salt, r.secrets))
}

func randomSalt() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
