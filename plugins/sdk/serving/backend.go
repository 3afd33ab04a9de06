package serving

import (
	"context"

	"github.com/llmops/llmops/plugins/sdk"
)

// Backend is what a provider writes to serve deployments: how a replica is
// started, waited for, checked and stopped, and its own part of the
// spec and the state. S is its part of a revision's spec, R its part of a
// replica's record; both are written in deployment.json beside the common
// fields, so their JSON names must not clash with them.
type Backend[S, R any] interface {
	// Site says where the deployments and the gateway binary are.
	Site() Site
	// Spec resolves what a revision runs from a planned (or configured)
	// state: the model's path, the serve block, the backend's part.
	Spec(ctx context.Context, st sdk.Object) (*Spec[S], sdk.Diagnostics)
	// SameRevision reports whether two backend parts run the same revision
	// (what does not make a revision, such as a timeout, is left out).
	SameRevision(a, b S) bool
	// Settle copies into dst, a recorded part, the settings of src, a
	// configured one, that take effect without a new revision.
	Settle(dst *S, src S)

	// Start starts replica index of revision rev (not yet healthy, not
	// routed). The record is saved by the caller.
	Start(ctx context.Context, r *Record[S, R], spec *Spec[S], rev int64, index int) (Replica[R], error)
	// Wait waits until a started replica serves: its URL known and its
	// health path answering 2xx. The error says why not.
	Wait(ctx context.Context, r *Record[S, R], spec *Spec[S], x *Replica[R]) error
	// Up reports whether a replica still runs and answers its health check.
	Up(ctx context.Context, r *Record[S, R], x *Replica[R]) bool
	// Stop stops replicas (in parallel where it can) and waits until they
	// are gone; with remove, their files (logs, directories) go too.
	Stop(ctx context.Context, r *Record[S, R], reps []Replica[R], remove bool)
	// LogTail renders the end of a replica's log for an error ("" when
	// there is none).
	LogTail(x *Replica[R]) string

	// State sets the backend's own computed attributes from the record.
	State(st *sdk.Object, r *Record[S, R])
	// Import sets, on an imported object, the configured attributes of the
	// backend's own that the record keeps.
	Import(st *sdk.Object, r *Record[S, R])
	// Cleanup removes what the backend keeps of a deleted deployment
	// beyond its replicas (directories elsewhere), or of one whose create
	// failed.
	Cleanup(r *Record[S, R]) error
}

// Site is where a backend's deployments live.
type Site struct {
	// Provider names the provider ("local"): its records are under
	// <StoreRoot>/runs/<Provider>/deployment.
	Provider string
	// StoreRoot is the artifact store's root.
	StoreRoot string
	// Exe is the provider binary, run again as the gateway (gateway.Arg).
	Exe string
	// GatewayEnv is the gateway process's environment.
	GatewayEnv []string
	// Resolve finds an artifact's path by its id (an index, a prompt) for
	// retrieval; nil when the provider does not serve retrieval.
	Resolve func(id string) (string, error)
	// WorkDir is where the retrieval step runs the index's embedding
	// command (the configuration's directory, as the index's job did).
	WorkDir string
}

// Digester is implemented by backends that watch the model's files: a
// replica started on files that changed since is degraded, and a repair
// restarts every replica.
type Digester interface {
	ModelDigest(path string) string
}

// Switcher is implemented by backends that keep something of their own
// pointing at the revision being served (a Kubernetes Service's
// selector): Switched is called each time the gateway's routes changed.
type Switcher[S, R any] interface {
	Switched(ctx context.Context, r *Record[S, R]) error
}
