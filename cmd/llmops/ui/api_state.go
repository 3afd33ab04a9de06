package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/state"
)

const formatVersion = render.JSONFormatVersion

// versionJSON is one state version as `llmops history -json` lists it.
func versionJSON(v state.VersionInfo) map[string]any {
	return map[string]any{"serial": v.Serial, "time": v.CreatedAt, "who": v.Who, "command": v.Command,
		"config_digest": v.ConfigDigest, "status": v.Status, "counts": v.Counts, "objects": v.ObjectCount}
}

// serialParam reads an optional serial parameter (0 when absent).
func serialParam(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New(name + " must be a state version number (see /api/versions)")
	}
	return n, nil
}

// viewOrError returns the view of ?version= (default the newest), or
// writes the error.
func (s *Server) viewOrError(w http.ResponseWriter, r *http.Request) *view {
	n, err := serialParam(r, "version")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil
	}
	v, err := s.at(r.Context(), n)
	var nv errNoVersion
	switch {
	case errors.As(err, &nv):
		writeError(w, http.StatusNotFound, err.Error())
		return nil
	case err != nil:
		writeError(w, http.StatusInternalServerError, "cannot read the state: "+err.Error())
		return nil
	}
	return v
}

// apiOverview: counts by kind and status, the last applies, open alerts.
func (s *Server) apiOverview(w http.ResponseWriter, r *http.Request) {
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	kinds := map[string]map[string]int{}
	statuses := map[string]int{}
	for _, sm := range v.summaries {
		if kinds[sm.Type] == nil {
			kinds[sm.Type] = map[string]int{}
		}
		kinds[sm.Type][sm.Status]++
		statuses[sm.Status]++
	}
	applies := []map[string]any{}
	for i := len(v.versions) - 1; i >= 0 && len(applies) < 10; i-- {
		applies = append(applies, versionJSON(v.versions[i]))
	}
	evs, err := s.opts.Store.Events(r.Context(), 200)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the event log: "+err.Error())
		return
	}
	writeJSON(w, map[string]any{
		"format_version": formatVersion, "lineage": v.lineage, "serial": v.serial, "complete": v.complete,
		"total": len(v.summaries), "kinds": kinds, "statuses": statuses, "applies": applies,
		"alerts": openAlerts(v, evs),
		"commands": []Command{
			{"llmops plan", "what an apply would change"},
			{"llmops apply", "make reality match the configuration"},
			{"llmops watch", "read the monitors, alert and act on breaches"},
		},
	})
}

// alert is an open alert: a monitor in breach at its last reading.
type alert struct {
	Monitor     string          `json:"monitor"`
	Deployment  string          `json:"deployment,omitempty"`
	LastChecked string          `json:"last_checked,omitempty"`
	Breaches    any             `json:"breaches"`
	Since       *time.Time      `json:"since,omitempty"`
	Event       json.RawMessage `json:"event,omitempty"`
}

// openAlerts lists the monitors whose last reading breached, with the
// time of the breach event that opened it (the newest monitor.breach not
// followed by a monitor.recovered).
func openAlerts(v *view, evs []state.Event) []alert {
	since := map[string]time.Time{}
	for _, e := range evs {
		switch e.Kind {
		case "monitor.breach":
			if _, open := since[e.Addr]; !open {
				since[e.Addr] = e.Time
			}
		case "monitor.recovered":
			delete(since, e.Addr)
		}
	}
	out := []alert{}
	for _, sm := range v.summaries {
		if sm.Status != StatusBreach {
			continue
		}
		o := v.object(sm.Address)
		br, _, _ := render.JSONValue(history.Attr(o.Value, "breaches"))
		a := alert{Monitor: sm.Address, LastChecked: history.AttrString(o.Value, "last_checked"), Breaches: br,
			Deployment: deploymentOf(v, history.AttrString(o.Value, "deployment"))}
		if t, ok := since[sm.Address]; ok {
			a.Since = &t
		}
		out = append(out, a)
	}
	return out
}

// deploymentOf returns the address of the deployment whose id is id.
func deploymentOf(v *view, id string) string {
	if id == "" {
		return ""
	}
	for _, sm := range v.summaries {
		if sm.Type == "deployment" && history.AttrString(v.object(sm.Address).Value, "id") == id {
			return sm.Address
		}
	}
	return ""
}

// apiObjects pages through the objects' summaries, filtered.
func (s *Server) apiObjects(w http.ResponseWriter, r *http.Request) {
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	offset = max(offset, 0)
	kind, status, text := q.Get("kind"), q.Get("status"), strings.ToLower(q.Get("q"))
	matched := v.summaries
	if kind != "" || status != "" || text != "" {
		matched = nil
		for _, sm := range v.summaries {
			if (kind == "" || sm.Type == kind) && (status == "" || sm.Status == status) &&
				(text == "" || strings.Contains(strings.ToLower(sm.Address), text)) {
				matched = append(matched, sm)
			}
		}
	}
	page := []Summary{}
	if offset < len(matched) {
		page = matched[offset:min(offset+limit, len(matched))]
	}
	writeJSON(w, map[string]any{"format_version": formatVersion, "serial": v.serial, "total": len(matched),
		"offset": offset, "limit": limit, "objects": page})
}

// apiObject: one object with its values (sensitive parts null), its
// recorded versions and the commands that act on it.
func (s *Server) apiObject(w http.ResponseWriter, r *http.Request) {
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	addr, err := addrs.ParseResourceInstance(r.PathValue("address"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid address: "+err.Error())
		return
	}
	o := v.objs[addr]
	if o == nil {
		writeError(w, http.StatusNotFound, addr.String()+" is not in state version "+strconv.FormatInt(v.serial, 10))
		return
	}
	rows, err := s.opts.Store.ObjectHistory(r.Context(), addr)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the state: "+err.Error())
		return
	}
	writeJSON(w, map[string]any{"format_version": formatVersion, "serial": v.serial, "object": objectJSON(v, o),
		"history": historyJSON(rows, v.times), "commands": commandsFor(o)})
}

// objectJSON is a resource as `llmops show -json` encodes it, with the
// dashboard's status and when it last changed.
func objectJSON(v *view, o *history.Object) map[string]any {
	val, _, sens := render.JSONValue(o.Value)
	deps := []string{}
	for _, d := range o.Dependencies {
		deps = append(deps, d.String())
	}
	st, detail := classify(o)
	r := map[string]any{
		"address": o.Addr.String(), "type": o.Addr.Resource.Type, "name": o.Addr.Resource.Name,
		"provider": o.Provider.String(), "status": st, "state_status": string(o.Status), "detail": detail,
		"version": o.Version, "schema_version": o.SchemaVersion, "serial": o.Serial, "changed_at": v.times[o.Serial],
		"values": val, "sensitive_values": sens, "depends_on": deps, "sealed": o.Sealed,
	}
	if k := render.KeyJSON(o.Addr.Key); k != nil {
		r["index"] = k
	}
	if o.PendingStatus != "" {
		r["pending_status"] = o.PendingStatus
	}
	return r
}

// historyEntry is a recorded version of an object as `llmops history
// ADDR -json` lists it, with when it was written.
type historyEntry struct {
	render.HistoryEntry
	Time time.Time `json:"time"`
}

func historyJSON(rows []*state.Object, times map[int64]time.Time) []historyEntry {
	out := []historyEntry{}
	for _, e := range render.HistoryEntries(rows) {
		out = append(out, historyEntry{e, times[e.Serial]})
	}
	return out
}

// apiVersions: every state version, as `llmops history -json`.
func (s *Server) apiVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.opts.Store.Versions(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the state: "+err.Error())
		return
	}
	out := []map[string]any{}
	for _, v := range vs {
		out = append(out, versionJSON(v))
	}
	writeJSON(w, map[string]any{"format_version": formatVersion, "versions": out})
}

// apiDiff: what changed between two versions, as `llmops diff -json`
// encodes it, with the text `llmops diff` prints.
func (s *Server) apiDiff(w http.ResponseWriter, r *http.Request) {
	from, err1 := serialParam(r, "from")
	to, err2 := serialParam(r, "to")
	if err := errors.Join(err1, err2); err != nil || from == 0 || to == 0 {
		writeError(w, http.StatusBadRequest, "diff needs two versions: /api/diff?from=N&to=M (see /api/versions)")
		return
	}
	var filter func(addrs.ResourceInstance) bool
	if a := r.URL.Query().Get("address"); a != "" {
		p, err := addrs.ParsePattern(a)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid address: "+err.Error())
			return
		}
		filter = p.MatchInstance
	}
	ctx := r.Context()
	snaps := make([]*state.Snapshot, 2)
	for i, n := range []int64{from, to} {
		snap, err := s.opts.Store.Snapshot(ctx, n)
		if err != nil || snap.Serial != n {
			writeError(w, http.StatusNotFound, errNoVersion(n).Error())
			return
		}
		snaps[i] = snap
	}
	// No key: a change to a sealed value alone is not seen (llmops diff,
	// given the state key, compares them too).
	diffs, err := history.Diff(snaps[0], snaps[1], filter)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "invalid state: "+err.Error())
		return
	}
	p := render.DiffPlan(diffs)
	var text bytes.Buffer
	render.Diff(&text, p, render.NewColors(false))
	doc := render.PlanJSON(p)
	writeJSON(w, struct {
		*render.JSONPlan
		From int64  `json:"from"`
		To   int64  `json:"to"`
		Text string `json:"text"`
	}{doc, from, to, text.String()})
}

// apiLineage: the ancestry tree of one object, as `llmops lineage -json`.
func (s *Server) apiLineage(w http.ResponseWriter, r *http.Request) {
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	addr, err := addrs.ParseResourceInstance(r.PathValue("address"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid address: "+err.Error())
		return
	}
	tree := history.Lineage(v.objs, addr)
	if tree == nil {
		writeError(w, http.StatusNotFound, addr.String()+" is not in state version "+strconv.FormatInt(v.serial, 10))
		return
	}
	writeJSON(w, map[string]any{"format_version": formatVersion, "serial": v.serial, "lineage": tree})
}

// apiLineageGraph: the whole version's lineage graph (graph -lineage) as
// nodes and edges.
func (s *Server) apiLineageGraph(w http.ResponseWriter, r *http.Request) {
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	writeJSON(w, lineageGraph(v))
}

func lineageGraph(v *view) map[string]any {
	nodes := []map[string]any{}
	for _, sm := range v.summaries {
		o := v.object(sm.Address)
		n := map[string]any{"address": sm.Address, "type": sm.Type, "version": sm.Version, "serial": sm.Serial, "status": sm.Status}
		if d := history.AttrString(o.Value, "digest"); d != "" {
			n["digest"] = d
		}
		nodes = append(nodes, n)
	}
	edges := []map[string]string{}
	for _, e := range history.LineageEdges(v.objs) {
		edges = append(edges, map[string]string{"input": e.Input.String(), "object": e.Object.String()})
	}
	return map[string]any{"format_version": formatVersion, "serial": v.serial, "nodes": nodes, "edges": edges}
}

// apiEvents: the event log, as `llmops events -json` (newest n, default
// 50, 0 for all; ?address= keeps one object's).
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	n := 50
	if q := r.URL.Query().Get("n"); q != "" {
		var err error
		if n, err = strconv.Atoi(q); err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "n must be a number of events (0: all)")
			return
		}
	}
	addr := r.URL.Query().Get("address")
	evs, err := eventsJSON(r.Context(), s.opts.Store, n, addr)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the event log: "+err.Error())
		return
	}
	writeJSON(w, map[string]any{"format_version": formatVersion, "events": evs})
}

// eventsJSON lists events as `llmops events -json` does; with addr, only
// those of the objects it names (comma-separated), from the newest n.
func eventsJSON(ctx context.Context, st state.Store, n int, addr string) ([]map[string]any, error) {
	limit := n
	if addr != "" {
		limit = 0
	}
	evs, err := st.Events(ctx, limit)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, a := range strings.Split(addr, ",") {
		if a != "" {
			keep[a] = true
		}
	}
	out := []map[string]any{}
	for _, e := range evs {
		if addr != "" && !keep[e.Addr] {
			continue
		}
		entry := map[string]any{"id": e.ID, "time": e.Time, "kind": e.Kind, "address": e.Addr, "message": e.Message}
		if len(e.Data) > 0 && json.Valid(e.Data) {
			entry["data"] = json.RawMessage(e.Data)
		}
		out = append(out, entry)
	}
	if addr != "" && n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i]["id"].(int64) < out[j]["id"].(int64) })
	return out, nil
}
