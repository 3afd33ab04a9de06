package ui

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/state"
)

// view is one state version, decoded once: what every page of the newest
// version reads. A complete version never changes, so its view is kept
// until a newer version exists; one still being written (an apply in
// progress) is read again after inProgressTTL.
type view struct {
	serial   int64
	lineage  string
	complete bool
	loaded   time.Time

	snap      *state.Snapshot
	objs      map[addrs.ResourceInstance]*history.Object
	summaries []Summary // ordered by address
	byAddr    map[string]int
	versions  []state.VersionInfo
	times     map[int64]time.Time // serial -> when written
}

const inProgressTTL = time.Second

// Summary is an object as the overview lists it.
type Summary struct {
	Address  string `json:"address"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Index    any    `json:"index,omitempty"`
	Provider string `json:"provider"`
	// Status is the dashboard's: ready, running, failed, tainted, drifted
	// or breach (see classify).
	Status string `json:"status"`
	// StateStatus is the state's: ready, tainted, pending or creating.
	StateStatus string `json:"state_status"`
	// Detail is the kind's own status word (a job's, a deployment's, a
	// monitor's), when it has one.
	Detail    string    `json:"detail,omitempty"`
	Version   int64     `json:"version"`
	Serial    int64     `json:"serial"`
	ChangedAt time.Time `json:"changed_at"`
}

// current returns the view of the newest version.
func (s *Server) current(ctx context.Context) (*view, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	latest, err := s.opts.Store.LatestSerial(ctx)
	if err != nil {
		return nil, err
	}
	if v := s.view; v != nil && v.serial == latest && (v.complete || time.Since(v.loaded) < inProgressTTL) {
		return v, nil
	}
	v, err := s.load(ctx, 0)
	if err != nil {
		return nil, err
	}
	s.view = v
	return v, nil
}

// at returns the view of version serial (0: the newest).
func (s *Server) at(ctx context.Context, serial int64) (*view, error) {
	v, err := s.current(ctx)
	if err != nil || serial == 0 || serial == v.serial {
		return v, err
	}
	return s.load(ctx, serial)
}

// load reads and decodes version serial (0: the newest).
func (s *Server) load(ctx context.Context, serial int64) (*view, error) {
	vs, err := s.opts.Store.Versions(ctx)
	if err != nil {
		return nil, err
	}
	if serial != 0 && !hasVersion(vs, serial) {
		return nil, errNoVersion(serial)
	}
	snap, err := s.opts.Store.Snapshot(ctx, serial)
	if err != nil {
		return nil, err
	}
	if serial != 0 && snap.Serial != serial {
		return nil, errNoVersion(serial)
	}
	// No key: sealed sensitive parts stay null and marked.
	objs, err := history.Decode(snap)
	if err != nil {
		return nil, err
	}
	v := &view{serial: snap.Serial, lineage: snap.Lineage, snap: snap, objs: objs, versions: vs,
		times: make(map[int64]time.Time, len(vs)), loaded: time.Now(), byAddr: make(map[string]int, len(snap.Objects))}
	for _, vi := range vs {
		v.times[vi.Serial] = vi.CreatedAt
		if vi.Serial == snap.Serial {
			v.complete = vi.Status != state.VersionInProgress
		}
	}
	v.summaries = make([]Summary, 0, len(snap.Objects))
	for _, o := range snap.Objects { // ordered by address
		ho := objs[o.Addr]
		st, detail := classify(ho)
		v.byAddr[o.Addr.String()] = len(v.summaries)
		v.summaries = append(v.summaries, Summary{
			Address: o.Addr.String(), Type: o.Addr.Resource.Type, Name: o.Addr.Resource.Name, Index: render.KeyJSON(o.Addr.Key),
			Provider: o.Provider.String(), Status: st, StateStatus: string(o.Status), Detail: detail,
			Version: o.Version, Serial: o.Serial, ChangedAt: v.times[o.Serial],
		})
	}
	return v, nil
}

// object returns the decoded object at addr, or nil.
func (v *view) object(addr string) *history.Object {
	a, err := addrs.ParseResourceInstance(addr)
	if err != nil {
		return nil
	}
	return v.objs[a]
}

// instancesOf returns the objects of a resource (or matching a pattern),
// in address order.
func (v *view) instancesOf(p addrs.Pattern) []*history.Object {
	var out []*history.Object
	for _, o := range v.snap.Objects {
		if p.MatchInstance(o.Addr) {
			out = append(out, v.objs[o.Addr])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

type errNoVersion int64

func (e errNoVersion) Error() string {
	return fmt.Sprintf("there is no state version %d; /api/versions lists them", int64(e))
}

func hasVersion(vs []state.VersionInfo, serial int64) bool {
	for _, v := range vs {
		if v.Serial == serial {
			return true
		}
	}
	return false
}
