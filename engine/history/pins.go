package history

import (
	"context"
	"encoding/json"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/state"
)

// Event kinds of the rollback pins in the state's event log.
const (
	EventRollbackPin     = "rollback.pin"
	EventRollbackRelease = "rollback.release"
)

// Pin records that an object was rolled back: until the configuration of
// its block changes or the pin is released, plans keep it as it is and
// say what the configuration would roll it forward to.
type Pin struct {
	Addr addrs.ResourceInstance `json:"-"`
	// ToSerial is the version the object was rolled back to; FromSerial the
	// version it was rolled back from.
	ToSerial   int64 `json:"to_serial"`
	FromSerial int64 `json:"from_serial"`
	// ConfigHash is the hash of the object's configuration block when it
	// was rolled back.
	ConfigHash string `json:"config_hash"`
}

// PinData encodes a pin for the event log.
func PinData(p Pin) []byte {
	b, _ := json.Marshal(p)
	return b
}

// ReadPins reads the pins in force from st's event log (its pin and
// release events only).
func ReadPins(ctx context.Context, st state.Store) (map[addrs.ResourceInstance]Pin, error) {
	evs, err := st.EventsOfKind(ctx, EventRollbackPin, EventRollbackRelease)
	if err != nil {
		return nil, err
	}
	return ActivePins(evs), nil
}

// ActivePins returns the pins in force: for each address, the newest pin
// not followed by a release.
func ActivePins(events []state.Event) map[addrs.ResourceInstance]Pin {
	out := map[addrs.ResourceInstance]Pin{}
	for _, ev := range events {
		if ev.Kind != EventRollbackPin && ev.Kind != EventRollbackRelease {
			continue
		}
		addr, err := addrs.ParseResourceInstance(ev.Addr)
		if err != nil {
			continue
		}
		if ev.Kind == EventRollbackRelease {
			delete(out, addr)
			continue
		}
		var p Pin
		if json.Unmarshal(ev.Data, &p) != nil {
			continue
		}
		p.Addr = addr
		out[addr] = p
	}
	return out
}

// EventMoved records that a moved block moved an object: Addr is where it
// is now, Data the address it was recorded at before.
const EventMoved = "moved"

// MovedFrom lists the addresses the object at addr was recorded at before
// moved blocks moved it, the most recent first.
func MovedFrom(events []state.Event, addr string) []string {
	prev := map[string]string{}
	for _, ev := range events {
		if ev.Kind == EventMoved {
			prev[ev.Addr] = string(ev.Data)
		}
	}
	var out []string
	seen := map[string]bool{addr: true}
	for cur := addr; ; {
		p, ok := prev[cur]
		if !ok || seen[p] {
			return out
		}
		seen[p] = true
		out = append(out, p)
		cur = p
	}
}

// FollowMoves rewrites the recorded dependencies of objs that name a
// resource a moved block moved since (an object not changed since still
// records the old address), so that lineage finds its parents where
// they are now.
func FollowMoves(objs map[addrs.ResourceInstance]*Object, events []state.Event) {
	moved := map[addrs.Resource]addrs.Resource{}
	for _, ev := range events {
		if ev.Kind != EventMoved {
			continue
		}
		from, err1 := addrs.ParseResourceInstance(string(ev.Data))
		to, err2 := addrs.ParseResourceInstance(ev.Addr)
		if err1 == nil && err2 == nil {
			moved[from.Resource.Config()] = to.Resource.Config()
		}
	}
	if len(moved) == 0 {
		return
	}
	for _, o := range objs {
		var deps []addrs.Resource
		for _, d := range o.Dependencies {
			for seen := 0; seen < 16; seen++ { // follow chains, not loops
				nd, ok := moved[d]
				if !ok {
					break
				}
				d = nd
			}
			deps = append(deps, d)
		}
		o.Dependencies = deps
	}
}
