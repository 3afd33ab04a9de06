package main

import (
	"context"
	"os"
	"slices"
	"sync"

	"github.com/llmops/llmops/engine/discovery"
	"github.com/llmops/llmops/internal/panics"
	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// early is the work a command that runs the engine starts before it
// parses the configuration, so that it runs on another core meanwhile:
// for each provider the lock file names, finding and hashing its binary
// and starting its process (a process start and a mutually authenticated
// handshake: tens of milliseconds each); and opening, locking and reading
// the state this directory was initialised with (with PostgreSQL, a TLS
// connection and several round trips).
//
// Nothing here decides anything. A result is used only where the usual
// path, run after the configuration is loaded, would have produced the
// same: the same binary, and a process started with the same
// environment, the same state (backend, file or schema, workspace).
// Anything else is discarded (an unclaimed process is stopped, an unused
// state unlocked and closed by discard) and the usual path runs,
// reporting its own errors, so what a command does and says does not
// depend on early work.
type early struct {
	mu sync.Mutex
	// lockFile is the lock file read here, which providerFactory then
	// uses too (nil when there is none or it could not be read).
	lockFile  *discovery.LockFile
	providers map[string]*earlyProvider
	state     *earlyState
}

// earlyState is the state opened early: key names it (see
// sqliteStateKey); release is its lock's release (nil: not locked);
// snap the snapshot read under the lock.
type earlyState struct {
	done    chan struct{}
	cancel  context.CancelFunc
	key     string
	store   state.Store
	release func()
	warning string
	snap    *state.Snapshot
	// adopted* mark what the usual path took over.
	adoptedStore, adoptedLock bool
}

type earlyProvider struct {
	done chan struct{}
	// bin is the resolved binary (nil when resolution failed: the usual
	// path repeats it and reports why).
	bin *discovery.Binary
	// client is the started process, until claimed or discarded; unset
	// is what was removed from its environment.
	client protocol.Provider
	unset  []string
}

// startEarly starts, in the background, what prepare will need for
// lockOp: the state recorded by init and the providers of the lock file.
// It returns nil when there is nothing to do.
func (m *meta) startEarly(ctx context.Context, lockOp string) *early {
	// The backend recorded by init is what the configuration has, unless
	// it changed (then nothing opened here is used).
	rec, err := m.readRecordedBackend()
	if err != nil {
		return nil
	}
	e := &early{providers: map[string]*earlyProvider{}}
	m.startEarlyState(ctx, e, rec, lockOp)
	if os.Getenv("LLMOPS_REATTACH_PROVIDERS") != "" {
		return e // debug processes: attach in the usual order
	}
	lf, diags := discovery.ReadLockFile(m.workDir())
	if diags.HasErrors() || lf == nil {
		return e
	}
	e.lockFile = lf
	// The environment a provider gets depends on the backend: with a
	// PostgreSQL state its credentials stay with llmops.
	var unset []string
	if rec != nil {
		unset = postgresCredentials
	}
	logger, logFile := m.logger(), m.logFile()
	for typ := range lf.Providers {
		ep := &earlyProvider{done: make(chan struct{}), unset: unset}
		e.providers[typ] = ep
		panics.Go(func() {
			defer close(ep.done)
			bin, d := m.resolveProvider(lf, typ)
			if d != nil {
				return
			}
			ep.bin = bin
			p, err := plugin.Start(ctx, plugin.StartOptions{Path: bin.Executable(), Type: typ, Logger: logger, LogFile: logFile, Unset: unset})
			if err == nil {
				e.mu.Lock()
				ep.client = p
				e.mu.Unlock()
			}
		})
	}
	return e
}

// startEarlyState opens, locks and reads the state openState would open
// if the configuration keeps the backend rec recorded by init: the
// PostgreSQL schema, or the SQLite file if it exists (a state is never
// created here).
func (m *meta) startEarlyState(ctx context.Context, e *early, rec *recordedBackend, lockOp string) {
	ws := m.workspace()
	if validWorkspaceName(ws) != "" {
		return
	}
	var key string
	var open func(context.Context) (state.Store, error)
	switch {
	case rec == nil:
		path := m.stateFile()
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			return
		}
		key = sqliteStateKey(path)
		open = func(ctx context.Context) (state.Store, error) { return state.OpenSQLite(ctx, path) }
	case rec.Type == "postgres" && m.statePath == "":
		key = postgresStateKey(rec.ConnStr, rec.Schema, ws)
		open = func(ctx context.Context) (state.Store, error) {
			return state.OpenPostgres(ctx, state.PostgresOptions{ConnString: rec.ConnStr, Schema: rec.Schema, Workspace: ws})
		}
	default:
		return
	}
	ectx, cancel := context.WithCancel(ctx)
	es := &earlyState{done: make(chan struct{}), cancel: cancel, key: key}
	e.state = es
	panics.Go(func() {
		defer close(es.done)
		st, err := open(ectx)
		if err != nil {
			return
		}
		es.store = st
		if m.useLock {
			id, warning, err := st.Lock(ectx, lockInfo(lockOp), m.lockTimeout)
			if err != nil {
				return // the usual path tries again and says why
			}
			es.release, es.warning = m.lockHeld(ctx, st, id), warning
		}
		if snap, err := st.Snapshot(ectx, 0); err == nil {
			es.snap = snap
		}
	})
}

// adoptStore hands over the state opened early if it is the one named by
// key (see sqliteStateKey), else nil.
func (e *early) adoptStore(key string) state.Store {
	if e == nil || e.state == nil {
		return nil
	}
	es := e.state
	<-es.done
	if es.store == nil || es.key != key || es.adoptedStore {
		return nil
	}
	es.adoptedStore = true
	return es.store
}

// adoptLock hands over the lock taken early on st, with the warning it
// gave, or nil when st is not the adopted store or was not locked early.
func (e *early) adoptLock(st state.Store) (func(), string) {
	if e == nil || e.state == nil || !e.state.adoptedStore || e.state.store != st || e.state.release == nil || e.state.adoptedLock {
		return nil, ""
	}
	e.state.adoptedLock = true
	return e.state.release, e.state.warning
}

// adoptSnapshot is the snapshot read early under the adopted lock, or nil.
func (e *early) adoptSnapshot(st state.Store) *state.Snapshot {
	if e == nil || e.state == nil || !e.state.adoptedLock || e.state.store != st {
		return nil
	}
	return e.state.snap
}

// lockFileRead is the lock file read early, or nil.
func (e *early) lockFileRead() *discovery.LockFile {
	if e == nil {
		return nil
	}
	return e.lockFile
}

// binary is the binary resolved early for provider typ against
// lockFileRead (resolveProvider's answer), or nil.
func (e *early) binary(typ string) *discovery.Binary {
	if e == nil {
		return nil
	}
	ep := e.providers[typ]
	if ep == nil {
		return nil
	}
	<-ep.done
	return ep.bin
}

// claim hands over the process started early for provider typ if it runs
// exe with the environment without unset, as StartProvider would start
// it; otherwise nil. A process is claimed once.
func (e *early) claim(typ, exe string, unset []string) protocol.Provider {
	if e == nil {
		return nil
	}
	ep := e.providers[typ]
	if ep == nil {
		return nil
	}
	<-ep.done
	e.mu.Lock()
	defer e.mu.Unlock()
	if ep.client == nil || ep.bin == nil || ep.bin.Executable() != exe || !slices.Equal(ep.unset, unset) {
		return nil
	}
	p := ep.client
	ep.client = nil
	return p
}

// discard stops every process not claimed, once its start finished, and
// unlocks and closes the state if the usual path did not take it.
func (e *early) discard() {
	if e == nil {
		return
	}
	if es := e.state; es != nil {
		es.cancel()
		<-es.done
		if es.release != nil && !es.adoptedLock {
			es.release()
		}
		if es.store != nil && !es.adoptedStore {
			es.store.Close()
		}
		e.state = nil
	}
	for _, ep := range e.providers {
		<-ep.done
		e.mu.Lock()
		p := ep.client
		ep.client = nil
		e.mu.Unlock()
		if p != nil {
			p.Close()
		}
	}
}
