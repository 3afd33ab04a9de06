package serving

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/schema"
)

// Files of a deployment's directory.
const (
	RecordFile = "deployment.json"
	lockFile   = "lock"
)

// DefaultHealthTimeout is how long a new replica may take to answer its
// health check when serve.health_timeout is unset.
const DefaultHealthTimeout = 60 * time.Second

// SpecBase is what every backend's revision runs.
type SpecBase struct {
	Model     string            `json:"model"`
	ModelPath string            `json:"model_path"`
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"`
	// HealthPath and HealthTimeout are as configured ("" for the default).
	HealthPath    string `json:"health_path,omitempty"`
	HealthTimeout string `json:"health_timeout,omitempty"`
	Replicas      int    `json:"replicas"`
	// ReplicasSet says the configuration set replicas (for import).
	ReplicasSet bool `json:"replicas_set,omitempty"`
	// Upstream is a hosted API served instead of replicas (Replicas 0,
	// no backend part: the gateway forwards to it).
	Upstream *UpstreamSpec `json:"upstream,omitempty"`
	// UpstreamKey is the upstream's key: in the record only as a salted
	// digest (maskSpec), so a new key is a new revision.
	UpstreamKey string `json:"upstream_key,omitempty"`
	// Retrieval is the deployment's retrieval step, run by the gateway.
	Retrieval *RetrievalSpec `json:"retrieval,omitempty"`
}

// UpstreamSpec is a deployment's upstream block but its key.
type UpstreamSpec struct {
	BaseURL string `json:"base_url"`
	Model   string `json:"model"`
}

// HealthPathOrDefault is the health path, /health by default.
func (s SpecBase) HealthPathOrDefault() string {
	if s.HealthPath == "" {
		return "/health"
	}
	return s.HealthPath
}

// HealthTimeoutOrDefault is the health timeout, DefaultHealthTimeout by
// default.
func (s SpecBase) HealthTimeoutOrDefault() time.Duration {
	return DurationOr(s.HealthTimeout, DefaultHealthTimeout)
}

// DurationOr parses a configured duration, def when unset or invalid.
func DurationOr(s string, def time.Duration) time.Duration {
	if d, err := schema.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}

// rolloutKey is what of the common part makes a new revision: the health
// timeout does not.
func (s SpecBase) rolloutKey() SpecBase {
	s.HealthTimeout, s.ReplicasSet = "", false
	s.HealthPath = s.HealthPathOrDefault()
	if len(s.Env) == 0 {
		s.Env = nil
	}
	return s
}

// Spec is a revision: the common part and the backend's own (Ext, written
// beside the common fields in deployment.json).
type Spec[S any] struct {
	SpecBase
	Ext S
}

// MarshalJSON writes the backend's fields beside the common ones.
func (s Spec[S]) MarshalJSON() ([]byte, error) { return flatMarshal(s.SpecBase, s.Ext) }

// UnmarshalJSON reads both parts from one object.
func (s *Spec[S]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &s.SpecBase); err != nil {
		return err
	}
	return json.Unmarshal(b, &s.Ext)
}

// ReplicaBase is what every backend records of a replica.
type ReplicaBase struct {
	Index    int   `json:"index"`
	Revision int64 `json:"revision"`
	// ID identifies the replica to its backend, unique in the deployment
	// (a process and its start time, a Slurm job id, a Kubernetes object).
	ID string `json:"id"`
	// URL is where the gateway reaches the replica (http://host:port), ""
	// until it is known.
	URL     string    `json:"url,omitempty"`
	Started time.Time `json:"started"`
	// Routed says the gateway sends requests to it.
	Routed bool `json:"routed"`
	// Token is the replica's token (gateway.ReplicaTokenEnv), which the
	// gateway sends it with every request.
	Token string `json:"token,omitempty"`
}

// HostPort is the replica's address as the gateway's metrics label it.
func (x ReplicaBase) HostPort() string {
	return strings.TrimPrefix(strings.TrimPrefix(x.URL, "http://"), "https://")
}

// Replica is one replica: the common part and the backend's (Ext, written
// beside the common fields).
type Replica[R any] struct {
	ReplicaBase
	Ext R
}

// MarshalJSON writes the backend's fields beside the common ones.
func (x Replica[R]) MarshalJSON() ([]byte, error) { return flatMarshal(x.ReplicaBase, x.Ext) }

// UnmarshalJSON reads both parts from one object.
func (x *Replica[R]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &x.ReplicaBase); err != nil {
		return err
	}
	return json.Unmarshal(b, &x.Ext)
}

// flatMarshal writes the fields of base and ext as one object (base wins
// a name both have).
func flatMarshal(base, ext any) ([]byte, error) {
	b1, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	b2, err := json.Marshal(ext)
	if err != nil {
		return nil, err
	}
	var m1, m2 map[string]json.RawMessage
	if err := json.Unmarshal(b1, &m1); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b2, &m2); err != nil {
		// Not an object (a struct{} marshals as {}): nothing to add.
		return b1, nil //nolint:nilerr
	}
	for k, v := range m2 {
		if _, ok := m1[k]; !ok {
			m1[k] = v
		}
	}
	return json.Marshal(m1)
}

// Record is deployment.json: everything the provider knows of a
// deployment, enough to refresh, change, delete or import it.
type Record[S, R any] struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	CreatedAt time.Time `json:"created_at"`
	// Revision is the revision the deployment serves (or rolls out to);
	// MaxRevision the highest ever started (a failed rollout's number is not
	// reused).
	Revision    int64   `json:"revision"`
	MaxRevision int64   `json:"max_revision"`
	Spec        Spec[S] `json:"spec"`
	// ModelDigest is the digest of the model's files when the replicas of
	// Revision started (backends that check it, see Digester).
	ModelDigest string          `json:"model_digest,omitempty"`
	Strategy    string          `json:"strategy"`
	Access      gateway.Access  `json:"access"`
	Replicas    []Replica[R]    `json:"replicas"`
	Gateway     gateway.Process `json:"gateway"`
	Generation  int64           `json:"generation"`
	// Seq numbers what backends create for replicas (directories, names).
	Seq int `json:"seq,omitempty"`
	// Salt salts the digests that stand for sensitive values in Spec.
	Salt string `json:"salt,omitempty"`
	// GatewaySecrets is the salted digest of the upstream key the running
	// gateway holds ("" for none).
	GatewaySecrets string `json:"gateway_secrets,omitempty"`
	// Capture is the deployment's capture block (nil: nothing captured);
	// not part of a revision: a change reconfigures the gateway only.
	Capture *gateway.CaptureConfig `json:"capture,omitempty"`

	// Dir is the record's directory.
	Dir       string `json:"-"`
	provider  string
	storeRoot string
	// secrets are the sensitive values of the call that changes the
	// deployment (sdk.Secrets): save writes Spec with each serve command
	// element and env value that holds one replaced by a salted digest.
	secrets *scrub.Set
	// upstreamKey is the configured upstream key, in memory only (from
	// the call that changes the deployment).
	upstreamKey string
}

// NewID returns a new deployment id, dep-<16 hex digits>.
func NewID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "dep-" + hex.EncodeToString(b[:]), nil
}

// ValidID reports whether id is a deployment id.
func ValidID(id string) bool {
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

// Root is where a provider's deployment records live in the artifact store.
func Root(storeRoot, provider string) string {
	return filepath.Join(storeRoot, "runs", provider, "deployment")
}

// Load reads a deployment's record; an error wrapping os.ErrNotExist when
// there is none (or id is not a deployment id).
func Load[S, R any](storeRoot, provider, id string) (*Record[S, R], error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%q is not a deployment id of the %s provider (dep-<16 hex digits>): %w", id, provider, os.ErrNotExist)
	}
	dir := filepath.Join(Root(storeRoot, provider), id)
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return nil, err
	}
	var r Record[S, R]
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RecordFile), err)
	}
	r.Dir, r.provider, r.storeRoot = dir, provider, storeRoot
	return &r, nil
}

// Endpoint is the deployment's stable endpoint, http://HOST:PORT/v1.
func (r *Record[S, R]) Endpoint() string { return gateway.EndpointURL(r.Host, r.Port) }

// gatewayBase is where the provider reaches the gateway (loopback when it
// listens on every address).
func (r *Record[S, R]) gatewayBase() string { return strings.TrimSuffix(r.Endpoint(), "/v1") }

// SetSecrets gives the record the call's sensitive values (sdk.Secrets).
func (r *Record[S, R]) SetSecrets(s *scrub.Set) { r.secrets = s }

// Secrets are the call's sensitive values.
func (r *Record[S, R]) Secrets() *scrub.Set { return r.secrets }

// maskSpec returns s with every command element and env value that holds
// a secret replaced by "(sensitive) sha256:<salted digest>" (scrub.Digest).
func maskSpec[S any](s Spec[S], salt string, secrets *scrub.Set) Spec[S] {
	out := s
	if s.UpstreamKey != "" && !scrub.IsDigest(s.UpstreamKey) {
		out.UpstreamKey = scrub.Digest(salt, s.UpstreamKey)
	}
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

// unmask puts back, from a spec built from the configuration, the clear
// values whose digests the record holds, so replicas restarted in the
// same revision get them.
func (r *Record[S, R]) unmask(from SpecBase) {
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

// sameSpec compares the recorded spec (masked when saved) with a new one,
// masked the same way: the common part and, through same, the backend's.
func (r *Record[S, R]) sameSpec(s Spec[S], same func(a, b S) bool) bool {
	a, b := maskSpec(r.Spec, r.Salt, r.secrets), maskSpec(s, r.Salt, r.secrets)
	return reflect.DeepEqual(a.rolloutKey(), b.rolloutKey()) && same(a.Ext, b.Ext)
}

// ensureSalt gives the record its salt (once).
func (r *Record[S, R]) ensureSalt() {
	if r.Salt == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		r.Salt = hex.EncodeToString(b[:])
	}
}

// Save writes the record (atomically, mode 0600) and lists the gateway
// where monitors of any provider find it.
func (r *Record[S, R]) Save() error {
	r.ensureSalt()
	rec := *r
	rec.Spec = maskSpec(r.Spec, r.Salt, r.secrets)
	b, err := json.MarshalIndent(&rec, "", "  ")
	if err != nil {
		return err
	}
	if err := jobs.WriteFileAtomic(filepath.Join(r.Dir, RecordFile), b, 0o600); err != nil {
		return err
	}
	if r.storeRoot == "" {
		return nil
	}
	return gateway.Publish(r.storeRoot, gateway.Listing{Deployment: r.ID, Provider: r.provider, Endpoint: r.Endpoint(), Revision: r.Revision})
}

// lock takes the deployment's lock (waiting up to a minute), so that two
// providers never change one deployment at once.
func (r *Record[S, R]) lock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(filepath.Join(r.Dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
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
			return nil, fmt.Errorf("the deployment in %s is being changed by another llmops", r.Dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Current returns the routed replicas of the current revision.
func (r *Record[S, R]) Current() []Replica[R] {
	var out []Replica[R]
	for _, x := range r.Replicas {
		if x.Routed && x.Revision == r.Revision {
			out = append(out, x)
		}
	}
	return out
}

// routed returns the replicas the gateway sends requests to.
func (r *Record[S, R]) routed() []Replica[R] {
	var out []Replica[R]
	for _, x := range r.Replicas {
		if x.Routed {
			out = append(out, x)
		}
	}
	return out
}

// setRouted routes the replicas (by id) in on and unroutes those in off.
func (r *Record[S, R]) setRouted(on, off []Replica[R]) {
	for i := range r.Replicas {
		x := &r.Replicas[i]
		for _, y := range on {
			if x.ID == y.ID {
				x.Routed = true
			}
		}
		for _, y := range off {
			if x.ID == y.ID {
				x.Routed = false
			}
		}
	}
}

// forget removes replicas (by id) from the record.
func (r *Record[S, R]) forget(reps []Replica[R]) {
	keep := r.Replicas[:0]
	for _, x := range r.Replicas {
		gone := false
		for _, y := range reps {
			gone = gone || x.ID == y.ID
		}
		if !gone {
			keep = append(keep, x)
		}
	}
	r.Replicas = keep
}

// update replaces the recorded replicas that have the ids of reps.
func (r *Record[S, R]) update(reps []Replica[R]) {
	for _, x := range reps {
		for j := range r.Replicas {
			if r.Replicas[j].ID == x.ID {
				r.Replicas[j] = x
			}
		}
	}
}

// RemoveDir removes a directory by renaming it aside first, so that a
// crash half-way leaves no half-removed directory under its name.
func RemoveDir(dir string) error {
	trash := filepath.Join(filepath.Dir(dir), fmt.Sprintf(".trash-%d", time.Now().UnixNano()))
	if err := os.Rename(dir, trash); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}
