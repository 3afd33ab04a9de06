package history

import (
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
