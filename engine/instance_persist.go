package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// recorder writes one state version: it begins the version on first use
// and writes every object in its own transaction the moment it is known,
// so a crash loses nothing that finished. Its context is never cancelled:
// an interrupted operation still records what it did.
type recorder struct {
	e    *Engine
	ctx  context.Context
	info state.VersionInfo

	once sync.Once
	w    state.Writer
	err  error
}

func (e *Engine) newRecorder(ctx context.Context, opts ApplyOptions) *recorder {
	return &recorder{e: e, ctx: context.WithoutCancel(ctx), info: state.VersionInfo{
		Who: opts.Who, Command: opts.Command, ConfigDigest: e.cfg.Digest, Status: state.VersionInProgress,
	}}
}

// writer begins the version if needed.
func (r *recorder) writer() (state.Writer, error) {
	r.once.Do(func() {
		info := r.info
		info.CreatedAt = time.Now().UTC()
		r.w, r.err = r.e.opts.Store.Begin(r.ctx, info)
		if r.err == nil {
			r.e.recordProviders(r.ctx, r.w.Serial())
		}
	})
	return r.w, r.err
}

// objMeta is what persist records beside the value.
type objMeta struct {
	provider      addrs.ProviderConfig
	schemaVersion int64
	deps          []addrs.Resource
	cbd           bool
	version       int64
}

// put records v as the current object at ri.
func (r *recorder) put(ri addrs.ResourceInstance, v cty.Value, private []byte, status state.ObjectStatus, pending *protocol.Pending, meta objMeta) error {
	wr, err := r.writer()
	if err != nil {
		return err
	}
	enc, err := values.EncodeSealed(withVersion(ri, v, meta.version), r.e.opts.Secrets, false)
	if errors.Is(err, values.ErrNeedsKey) {
		return fmt.Errorf("%s has sensitive values and no state key is configured to seal them. %s", ri, secretsHelp)
	}
	if err != nil {
		return fmt.Errorf("cannot encode %s: %w", ri, err)
	}
	obj := &state.Object{
		Addr: ri, Provider: meta.provider, Status: status, SchemaVersion: meta.schemaVersion,
		ValueJSON: enc.Value, TypeJSON: enc.Type, SensitivePaths: enc.Sensitive, Private: private,
		Dependencies: meta.deps, CreateBeforeDestroy: meta.cbd, Version: meta.version,
	}
	if pending != nil {
		obj.PendingHandle, obj.PendingStatus = pending.Handle, pending.Status
	}
	return wr.PutObject(r.ctx, obj)
}

// remove ends the current object at ri.
func (r *recorder) remove(ri addrs.ResourceInstance) error {
	wr, err := r.writer()
	if err != nil {
		return err
	}
	return wr.RemoveObject(r.ctx, ri)
}

// event appends to the state's event log.
func (r *recorder) event(ev state.Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	return r.e.opts.Store.AppendEvent(r.ctx, ev)
}

// finish marks the version complete (or partial) with its counts, when
// one was begun; it returns the serial written, 0 for none.
func (r *recorder) finish(partial bool, counts state.Counts) (int64, hcl.Diagnostics) {
	if r.w == nil {
		if r.err != nil {
			return 0, stateWriteDiag(r.err)
		}
		return 0, nil
	}
	status := state.VersionComplete
	if partial {
		status = state.VersionPartial
	}
	if err := r.w.Finish(r.ctx, status, counts); err != nil {
		return r.w.Serial(), stateWriteDiag(err)
	}
	return r.w.Serial(), nil
}

// move records that the object recorded at from is the instance's now (a
// moved block): the same object, written at its new address in the
// version that ends it at the old one, and an event history and lineage
// follow back.
func (x *instance) move(rec *recorder, from addrs.ResourceInstance) error {
	wr, err := rec.writer()
	if err != nil {
		return err
	}
	obj := *x.prior.obj
	obj.Addr = x.addr
	if err := wr.PutObject(rec.ctx, &obj); err != nil {
		return err
	}
	if err := wr.RemoveObject(rec.ctx, from); err != nil {
		return err
	}
	return rec.event(state.Event{Kind: history.EventMoved, Addr: x.addr.String(), Message: "moved from " + from.String(), Data: []byte(from.String())})
}

// persist records the instance's object with the given status.
func (x *instance) persist(rec *recorder, v cty.Value, private []byte, status state.ObjectStatus, pending *protocol.Pending, meta objMeta) error {
	return rec.put(x.addr, v, private, status, pending, meta)
}

func stateWriteDiag(err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot write the state", Detail: err.Error()}}
}

// recordProviders notes which provider versions wrote a state version,
// for the reproducibility record of `show -json`.
func (e *Engine) recordProviders(ctx context.Context, serial int64) {
	infos := map[string]history.ProviderInfo{}
	hasher, _ := e.opts.Providers.(ProviderHasher)
	for typ, s := range e.Schemas() {
		pi := history.ProviderInfo{Version: s.ProviderVersion}
		if hasher != nil {
			pi.SHA256, _ = hasher.ProviderHash(typ)
		}
		infos[typ] = pi
	}
	e.opts.Store.AppendEvent(ctx, state.Event{Time: time.Now().UTC(), Kind: history.EventProviders, Message: fmt.Sprintf("providers of serial %d", serial), Data: history.ProvidersData(serial, infos)})
}
