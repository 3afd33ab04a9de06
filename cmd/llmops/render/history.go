package render

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/state"
)

// HistoryEntry is one recorded version of an object, as `llmops history
// ADDR` shows it (and the dashboard's /api/objects/ADDR).
type HistoryEntry struct {
	// Address is where the object was recorded at that version (it
	// differs from today's address after a moved block).
	Address    string            `json:"address"`
	Version    int64             `json:"version"`
	Serial     int64             `json:"serial"`
	RemovedBy  int64             `json:"removed_by_serial,omitempty"`
	Status     string            `json:"status"`
	Digest     string            `json:"digest,omitempty"`
	ID         string            `json:"id,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// HistoryEntries describes an object's recorded rows (oldest first), with
// its kind's key attributes. Sealed values stay sealed; a row that does
// not decode is left out.
func HistoryEntries(rows []*state.Object) []HistoryEntry {
	out := []HistoryEntry{}
	for _, o := range rows {
		objs, err := history.Decode(&state.Snapshot{Objects: []*state.Object{o}})
		if err != nil {
			continue
		}
		v := objs[o.Addr].Value
		e := HistoryEntry{Address: o.Addr.String(), Version: o.Version, Serial: o.Serial, RemovedBy: o.RemovedSerial, Status: string(o.Status),
			Digest: history.AttrString(v, "digest"), ID: history.AttrString(v, "id"), Attributes: map[string]string{}}
		for _, a := range keyAttributes(o.Addr.Resource.Type) {
			if av := history.Attr(v, a); av != cty.NilVal && !av.IsNull() {
				e.Attributes[a] = ScalarString(av)
			}
		}
		out = append(out, e)
	}
	return out
}

// keyAttributes are the attributes worth showing per kind in a history.
func keyAttributes(kind string) []string {
	switch kind {
	case "model":
		return []string{"source", "revision"}
	case "dataset":
		return []string{"source", "rows"}
	case "training_run":
		return []string{"output_model", "status"}
	case "evaluation":
		return []string{"passed"}
	case "deployment":
		return []string{"model", "revision", "endpoint"}
	}
	return []string{"id"}
}
