package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// DefaultParallelism bounds concurrent provider operations.
const DefaultParallelism = 10

// Options configure an engine for one command.
type Options struct {
	Config    *configs.Config
	Store     state.Store
	Providers ProviderFactory
	// Variables are the collected input values (see CollectVariables).
	Variables map[string]cty.Value
	// Parallelism bounds concurrent provider operations (default 10).
	Parallelism int
	Hooks       Hooks
	Logger      hclog.Logger
	// ArtifactDir is the absolute path of the artifact store.
	ArtifactDir string
	// ArtifactStore is the remote store ArtifactDir caches (see
	// ArtifactStore), passed on to providers; zero without one.
	ArtifactStore protocol.ArtifactStore
	// Version is the llmops version, told to providers.
	Version string
	// HeartbeatInterval is how often Hooks.Heartbeat fires for operations
	// still running (default 10s).
	HeartbeatInterval time.Duration
	// PollInterval is how often pending operations are polled (default 1s).
	PollInterval time.Duration
	// Snapshot, when set, is the newest state snapshot the caller already
	// read (under the lock), so the engine does not read it again.
	Snapshot *state.Snapshot
	// Workspace is the selected workspace (llmops.workspace); empty is
	// DefaultWorkspace.
	Workspace string
	// Secrets seals the sensitive values written to the state and opens
	// them when reading it (secrets.Key). Without it, writing a sensitive
	// value fails: llmops never stores one in clear.
	Secrets values.Sealer
}

// Engine runs validate, plan and apply for one configuration.
type Engine struct {
	opts      Options
	cfg       *configs.Config
	providers *providerSet
	log       hclog.Logger
	hooks     Hooks
	sem       chan struct{}

	// The decoded newest snapshot, read once per engine: the caller holds
	// the lock, so only this engine's apply changes it (and drops it).
	snap     *state.Snapshot
	recorded map[addrs.Resource]*recordedResource

	mu sync.Mutex
	// implied are the provider configurations that recorded objects need
	// and the configuration does not declare (see buildGraph).
	implied map[addrs.ProviderConfig]*configs.Provider
	// moves are the objects moved blocks moved in the recorded objects:
	// new address to the address the state records (see applyMoves).
	moves map[addrs.ResourceInstance]addrs.ResourceInstance
}

// New prepares an engine. Call Close when done: it stops provider processes.
func New(opts Options) *Engine {
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.Hooks == nil {
		opts.Hooks = NoopHooks{}
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 10 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	ps := newProviderSet(opts.Providers)
	dir := ""
	if opts.Config != nil {
		dir = opts.Config.Dir
	}
	ps.builtin = &builtinProvider{dir: dir, secrets: opts.Secrets}
	return &Engine{
		opts:      opts,
		cfg:       opts.Config,
		providers: ps,
		log:       opts.Logger,
		hooks:     opts.Hooks,
		sem:       make(chan struct{}, opts.Parallelism),
	}
}

// Close stops every provider the engine started.
func (e *Engine) Close() { e.providers.closeAll() }

// Stop asks every running provider to stop in-flight operations.
func (e *Engine) Stop(ctx context.Context) { e.providers.stopAll(ctx) }

// Schemas returns the schema of every provider started so far, by type.
func (e *Engine) Schemas() map[string]*protocol.GetSchemaResponse {
	e.providers.mu.Lock()
	defer e.providers.mu.Unlock()
	out := make(map[string]*protocol.GetSchemaResponse, len(e.providers.schemas))
	for k, v := range e.providers.schemas {
		out[k] = v
	}
	return out
}

// acquire takes a slot of the parallelism bound.
func (e *Engine) acquire(ctx context.Context) bool {
	select {
	case e.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *Engine) release() { <-e.sem }

// startProviders starts every provider configuration the configuration
// declares or the recorded objects need, and fetches their schemas.
func (e *Engine) startProviders(ctx context.Context, recorded map[addrs.Resource]*recordedResource) hcl.Diagnostics {
	var diags hcl.Diagnostics
	need := map[addrs.ProviderConfig]*hcl.Range{}
	for _, r := range e.cfg.AllResources() {
		if r.Placement != nil {
			for i, c := range r.Placement.Candidates {
				if _, ok := need[c]; !ok {
					need[c] = r.Placement.CandidateRanges[i].Ptr()
				}
			}
		}
		if _, ok := need[r.Provider]; !ok {
			rng := r.DeclRange
			if r.ProviderRange != nil {
				rng = *r.ProviderRange
			}
			need[r.Provider] = &rng
		}
	}
	for addr, rr := range recorded {
		if e.cfg.Resource(addr) != nil {
			continue
		}
		if _, ok := need[rr.provider]; !ok {
			need[rr.provider] = nil
		}
	}
	for addr, p := range e.cfg.ProviderConfigs {
		if _, ok := need[addr]; !ok && !p.Implied {
			need[addr] = p.DeclRange.Ptr()
		}
	}
	keys := make([]addrs.ProviderConfig, 0, len(need))
	for k := range need {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, addr := range keys {
		if _, err := e.providers.get(ctx, addr); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Cannot start provider %s", addr),
				Detail:   err.Error(),
				Subject:  need[addr],
			})
		}
	}
	return diags
}

// recordedResource groups the recorded instances of one resource.
type recordedResource struct {
	provider  addrs.ProviderConfig
	instances map[addrs.InstanceKey]*recordedObject
}

// recordedObject is a state object with its decoded value.
type recordedObject struct {
	obj   *state.Object
	value cty.Value
}

// loadRecorded reads the newest state snapshot and decodes every object
// (in parallel: it is a large part of planning thousands of objects).
func (e *Engine) loadRecorded(ctx context.Context) (*state.Snapshot, map[addrs.Resource]*recordedResource, hcl.Diagnostics) {
	if e.recorded != nil {
		return e.snap, e.recorded, nil
	}
	snap := e.opts.Snapshot
	if snap == nil {
		var err error
		if snap, err = e.opts.Store.Snapshot(ctx, 0); err != nil {
			return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the state", Detail: err.Error()}}
		}
	}
	decoded := make([]cty.Value, len(snap.Objects))
	errs := make([]error, len(snap.Objects))
	workers := runtime.GOMAXPROCS(0)
	var grp panics.Group
	for w := 0; w < workers; w++ {
		grp.Go(func() {
			for i := w; i < len(snap.Objects); i += workers {
				o := snap.Objects[i]
				decoded[i], errs[i] = values.DecodeSealed(values.Encoded{Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.SensitivePaths}, e.opts.Secrets, false)
			}
		})
	}
	grp.Wait()
	out := map[addrs.Resource]*recordedResource{}
	var diags hcl.Diagnostics
	for i, o := range snap.Objects {
		if errors.Is(errs[i], values.ErrSealed) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "The state key is needed",
				Detail: fmt.Sprintf("%s has sensitive values sealed in the state. %s", o.Addr, secretsHelp)})
			continue
		}
		if errs[i] != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid object in state", Detail: fmt.Sprintf("%s: %s", o.Addr, errs[i])})
			continue
		}
		rr := out[o.Addr.Resource]
		if rr == nil {
			rr = &recordedResource{provider: o.Provider, instances: map[addrs.InstanceKey]*recordedObject{}}
			out[o.Addr.Resource] = rr
		}
		rr.instances[o.Addr.Key] = &recordedObject{obj: o, value: decoded[i]}
	}
	if !diags.HasErrors() {
		e.snap, e.recorded = snap, out
		e.mu.Lock()
		e.moves = nil // moves are made (again) on these objects by applyMoves
		e.mu.Unlock()
	}
	return snap, out, diags
}

// secretsHelp says how to configure the state key.
const secretsHelp = "Set LLMOPS_STATE_KEY to the state key (32 random bytes in base64; create one with `llmops state keygen`), or LLMOPS_STATE_KEY_FILE to a file holding it. llmops never stores sensitive values in clear."
