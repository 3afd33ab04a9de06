package state

import (
	"context"
	"errors"
	"fmt"
)

// Records are every record of one state, row for row as its store keeps
// it: what `llmops init -migrate-state` copies from one backend to the
// other. Sensitive values stay as they are stored, sealed with the state
// key, which neither store ever sees.
type Records struct {
	Lineage string
	// Versions are every version, oldest first.
	Versions []VersionRecord
	// Objects are every object row ever written (superseded, removed and
	// deposed ones too), in the order they were written, with Serial and
	// RemovedSerial set.
	Objects []*Object
	// Events are the event log, oldest first, with their IDs.
	Events []Event
}

// VersionRecord is one version as stored.
type VersionRecord struct {
	VersionInfo
	// Outputs is the stored JSON of the version's outputs (sealed values
	// inside it as they are), nil when the version recorded none.
	Outputs []byte
}

// Transferer is implemented by stores that can be copied whole.
type Transferer interface {
	// Export reads every record of the store in one consistent snapshot.
	Export(ctx context.Context) (*Records, error)
	// Import writes recs into the store in one transaction, taking their
	// lineage. A store that already has a version or an event is refused
	// with ErrNotEmpty and left as it was.
	Import(ctx context.Context, recs *Records) error
}

// ErrNotEmpty is returned by Import into a store that has a version or an
// event already.
var ErrNotEmpty = errors.New("the destination state is not empty")

// CopyStats say what Copy copied.
type CopyStats struct {
	Lineage  string
	Versions int
	Objects  int // object rows, superseded and removed ones included
	Events   int
}

// Copy copies every record of src into dst, which must be empty.
func Copy(ctx context.Context, dst, src Store) (CopyStats, error) {
	from, ok := src.(Transferer)
	if !ok {
		return CopyStats{}, fmt.Errorf("the source state (%T) cannot be exported", src)
	}
	to, ok := dst.(Transferer)
	if !ok {
		return CopyStats{}, fmt.Errorf("the destination state (%T) cannot be imported into", dst)
	}
	recs, err := from.Export(ctx)
	if err != nil {
		return CopyStats{}, fmt.Errorf("reading the source state: %w", err)
	}
	if err := to.Import(ctx, recs); err != nil {
		if errors.Is(err, ErrNotEmpty) {
			return CopyStats{}, err
		}
		return CopyStats{}, fmt.Errorf("writing the destination state: %w", err)
	}
	return CopyStats{Lineage: recs.Lineage, Versions: len(recs.Versions), Objects: len(recs.Objects), Events: len(recs.Events)}, nil
}

// checkRecords refuses records that no store could have written: an
// object row whose serials name no version, or events out of order.
func checkRecords(recs *Records) error {
	if recs.Lineage == "" {
		return errors.New("the records have no lineage")
	}
	serials := make(map[int64]bool, len(recs.Versions))
	for _, v := range recs.Versions {
		if v.Serial <= 0 || serials[v.Serial] {
			return fmt.Errorf("version serial %d is invalid or repeated", v.Serial)
		}
		serials[v.Serial] = true
	}
	for _, o := range recs.Objects {
		if !serials[o.Serial] || (o.RemovedSerial != 0 && !serials[o.RemovedSerial]) {
			return fmt.Errorf("object %s refers to a version that does not exist (%d-%d)", o.Addr, o.Serial, o.RemovedSerial)
		}
	}
	for i := 1; i < len(recs.Events); i++ {
		if recs.Events[i].ID <= recs.Events[i-1].ID {
			return fmt.Errorf("event IDs are not increasing (%d after %d)", recs.Events[i].ID, recs.Events[i-1].ID)
		}
	}
	return nil
}
