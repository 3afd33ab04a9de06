package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llmops/llmops/addrs"
)

// ObjectStatus says what llmops knows about a recorded object.
type ObjectStatus string

const (
	// StatusReady: the object exists as recorded.
	StatusReady ObjectStatus = "ready"
	// StatusTainted: a create or replace failed part-way; the next plan replaces it.
	StatusTainted ObjectStatus = "tainted"
	// StatusPending: a long operation (a training job) is still running;
	// PendingHandle lets the provider find it.
	StatusPending ObjectStatus = "pending"
	// StatusCreating: the engine is about to ask the provider to create the
	// object (intent recorded before effect); after a crash the next run
	// asks the provider whether it exists.
	StatusCreating ObjectStatus = "creating"
)

// Object is one recorded resource instance.
type Object struct {
	Addr     addrs.ResourceInstance
	Provider addrs.ProviderConfig
	Status   ObjectStatus

	// SchemaVersion is the provider's schema version the value was written with.
	SchemaVersion int64
	// ValueJSON is the object's attributes, cty JSON encoded against TypeJSON.
	ValueJSON []byte
	// TypeJSON is the cty type of the value, JSON encoded.
	TypeJSON []byte
	// Private is provider-private data: stored, never shown.
	Private []byte
	// SensitivePaths is the JSON-encoded list of attribute paths whose
	// values are sensitive (the engine owns the encoding).
	SensitivePaths []byte

	// PendingHandle and PendingStatus describe a running long operation.
	PendingHandle string
	PendingStatus string

	// Dependencies are the resources this object depended on when it was
	// written; destroy order follows them when the configuration is gone.
	Dependencies []addrs.Resource
	// CreateBeforeDestroy records the lifecycle setting in force when the
	// object was written.
	CreateBeforeDestroy bool

	// Deposed is empty for the current object of the address. A deposed
	// object is the old object of a create_before_destroy replacement,
	// kept recorded under a key (e.g. "3f2a1b9c") until it is destroyed, so
	// that neither a failed destroy nor a crash loses it.
	Deposed string

	// Version counts replacements of this address: 1 for the first object,
	// +1 each time it is replaced. Updates in place keep the version.
	Version int64

	// Serial is the state version that wrote this row. Set by the store on
	// read; ignored on write.
	Serial int64
	// RemovedSerial is the state version that superseded or removed this
	// row (0 while current). Set by the store on read.
	RemovedSerial int64
}

// Output is a root output value recorded with a version.
type Output struct {
	Name      string
	ValueJSON []byte
	TypeJSON  []byte
	Sensitive bool
}

// VersionStatus says how an apply that wrote a version ended.
type VersionStatus string

const (
	VersionInProgress VersionStatus = "in_progress" // being written, or the writer crashed
	VersionComplete   VersionStatus = "complete"
	VersionPartial    VersionStatus = "partial" // some changes failed
)

// Counts summarise what a version changed.
type Counts struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Replaced  int `json:"replaced"`
	Destroyed int `json:"destroyed"`
	Failed    int `json:"failed"`
}

// VersionInfo describes one state version.
type VersionInfo struct {
	Serial       int64
	CreatedAt    time.Time
	Who          string // user@host
	Command      string // e.g. "apply", "destroy", "rollback --to 3"
	ConfigDigest string // sha256 of the configuration files
	Status       VersionStatus
	Counts       Counts
	// ObjectCount is the number of objects current in this version,
	// deposed objects included. Filled on read.
	ObjectCount int
}

// Snapshot is the state as of one version.
type Snapshot struct {
	Lineage string
	Serial  int64
	Objects []*Object
	// Deposed are the deposed objects, ordered by address and key.
	Deposed []*Object
	Outputs []*Output
}

// Object returns the object at addr, or nil.
func (s *Snapshot) Object(addr addrs.ResourceInstance) *Object {
	for _, o := range s.Objects {
		if o.Addr == addr {
			return o
		}
	}
	return nil
}

// LockInfo describes who holds (or wants) the state lock.
type LockInfo struct {
	ID        string // set by the store when the lock is taken
	Who       string // user@host
	Host      string
	PID       int
	Operation string // "plan", "apply", ...
	Created   time.Time
}

// LockedError is returned when another process holds the lock.
type LockedError struct {
	Holder LockInfo
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("the state is locked by %s (pid %d) for %q since %s; lock ID %s",
		h.Who, h.PID, h.Operation, h.Created.Format(time.RFC3339), h.ID)
}

// ErrNotLocked is returned by Unlock/ForceUnlock for an unknown lock ID.
var ErrNotLocked = errors.New("no lock with that ID is held")

// Event is an entry of the state's event log (breaches, alerts, takeovers).
type Event struct {
	ID      int64
	Time    time.Time
	Kind    string // e.g. "lock.takeover", "monitor.breach", "alert.sent"
	Addr    string // the object concerned, if any
	Message string
	Data    []byte // JSON, optional
}

// Store is a state backend.
type Store interface {
	// Lineage is the random id given to this state when it was created.
	Lineage() string

	// LatestSerial returns the serial of the newest version, 0 for none.
	LatestSerial(ctx context.Context) (int64, error)
	// Snapshot returns the objects and outputs as of serial; 0 means the
	// newest version. Objects are ordered by address.
	Snapshot(ctx context.Context, serial int64) (*Snapshot, error)
	// Versions lists all versions, oldest first.
	Versions(ctx context.Context) ([]VersionInfo, error)
	// ObjectHistory returns every row ever written for addr, oldest first.
	ObjectHistory(ctx context.Context, addr addrs.ResourceInstance) ([]*Object, error)

	// Begin starts a new version (serial = newest + 1) in progress.
	Begin(ctx context.Context, info VersionInfo) (Writer, error)

	// Lock takes the state lock for the operation, waiting up to timeout
	// (0: fail at once) while another process holds it. A lock whose
	// holder process is dead on this same host is taken over; the returned
	// warning says so (and an event is logged). A live holder or one on
	// another host yields a *LockedError.
	Lock(ctx context.Context, info LockInfo, timeout time.Duration) (lockID string, warning string, err error)
	// Unlock releases a lock taken by this process.
	Unlock(ctx context.Context, lockID string) error
	// ForceUnlock removes the lock with that ID whoever holds it.
	ForceUnlock(ctx context.Context, lockID string) error
	// CurrentLock returns the held lock, or nil.
	CurrentLock(ctx context.Context) (*LockInfo, error)

	// AppendEvent adds to the event log; Events lists entries, oldest first,
	// newest `limit` when limit > 0.
	AppendEvent(ctx context.Context, ev Event) error
	Events(ctx context.Context, limit int) ([]Event, error)
	// EventsOfKind lists the entries of these kinds, oldest first: what a
	// command that needs only some of the log (a plan: its rollback pins)
	// reads, however long the log has grown.
	EventsOfKind(ctx context.Context, kinds ...string) ([]Event, error)

	// Backup writes a consistent copy of the whole store to path.
	Backup(ctx context.Context, path string) error

	Close() error
}

// Writer writes one version. Methods are safe for concurrent use; each
// call is its own transaction and is durable when it returns.
type Writer interface {
	Serial() int64
	// PutObject records obj as the current object at obj.Addr from this
	// serial on, superseding any current row for that address.
	PutObject(ctx context.Context, obj *Object) error
	// RemoveObject ends the current row at addr (destroyed or forgotten).
	RemoveObject(ctx context.Context, addr addrs.ResourceInstance) error
	// Depose turns the current object at addr into a deposed object under
	// key, in one transaction (create_before_destroy: before the
	// replacement is created). Without a current object it does nothing.
	Depose(ctx context.Context, addr addrs.ResourceInstance, key string) error
	// RemoveDeposed ends the deposed object at addr and key (destroyed).
	RemoveDeposed(ctx context.Context, addr addrs.ResourceInstance, key string) error
	// RestoreDeposed makes the deposed object at addr and key current
	// again, ending whatever current row addr has, in one transaction (a
	// replacement whose create made nothing).
	RestoreDeposed(ctx context.Context, addr addrs.ResourceInstance, key string) error
	// SetOutputs records the root outputs of this version.
	SetOutputs(ctx context.Context, outputs []*Output) error
	// Finish marks the version complete or partial with its counts.
	Finish(ctx context.Context, status VersionStatus, counts Counts) error
}
