package plans

import (
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// Mode is the kind of plan.
type Mode string

const (
	NormalMode      Mode = "normal"
	DestroyMode     Mode = "destroy"
	RefreshOnlyMode Mode = "refresh-only"
)

// Action is what apply will do to one instance.
type Action string

const (
	NoOp             Action = "no-op"
	Create           Action = "create"
	Update           Action = "update"
	DeleteThenCreate Action = "delete-then-create"
	CreateThenDelete Action = "create-then-delete"
	Delete           Action = "delete"
	// Wait: a long operation recorded as pending is still running; apply
	// waits for it (or returns at once with -wait=false).
	Wait Action = "wait"
	// Read: a data source is read (Plan.DataReads), during plan, or during
	// apply when its configuration depends on values known only then
	// (ReasonReadDuringApply).
	Read Action = "read"
)

// IsReplace reports whether the action replaces the object.
func (a Action) IsReplace() bool { return a == DeleteThenCreate || a == CreateThenDelete }

// Reason says why an action was chosen, beyond the plain diff.
type Reason string

const (
	ReasonNone              Reason = ""
	ReasonTainted           Reason = "tainted"
	ReasonRequiresReplace   Reason = "requires-replace"
	ReasonReplaceRequested  Reason = "replace-requested"
	ReasonRemovedFromConfig Reason = "removed-from-config"
	ReasonCountIndex        Reason = "count-index-removed"
	ReasonEachKey           Reason = "each-key-removed"
	// ReasonModuleInstanceRemoved: the instance's module instance is no
	// longer made by its call's count or for_each.
	ReasonModuleInstanceRemoved Reason = "module-instance-removed"
	ReasonDestroy               Reason = "destroy"
	ReasonCreateInterrupted     Reason = "create-interrupted"
	ReasonRollback              Reason = "rollback"
	// ReasonDeposed: the old object of a create_before_destroy replacement
	// whose destroy did not happen (it failed, or llmops stopped).
	ReasonDeposed Reason = "deposed"
	// ReasonReadDuringApply: a data source whose configuration depends on
	// values known only after apply is read during apply.
	ReasonReadDuringApply Reason = "read-during-apply"
	// ReasonMoved: the object was recorded at PrevAddr; a moved block
	// says it is now at Addr.
	ReasonMoved Reason = "moved"
)

// ResourceInstanceChange is the planned change of one instance.
type ResourceInstanceChange struct {
	Addr     addrs.ResourceInstance
	Provider addrs.ProviderConfig
	Action   Action
	Reason   Reason
	// Before is the prior (refreshed) value, null for a create. After is the
	// planned value, null for a delete; it may contain unknowns. Both may
	// carry sensitive marks.
	Before cty.Value
	After  cty.Value
	// RequiresReplace lists the attribute paths that force the replacement.
	RequiresReplace []cty.Path
	// WriteOnlySet lists the write-only attributes the configuration sets
	// (deployment access.api_keys): never in Before or After, which hold
	// null there, they show as (sensitive) rather than null.
	WriteOnlySet []cty.Path
	// Private is the provider's planned private data (never shown).
	Private []byte
	// Pending describes the running job of a Wait action.
	PendingStatus  string
	PendingMessage string
	// Dependencies are the resources this instance depends on.
	Dependencies        []addrs.Resource
	CreateBeforeDestroy bool
	// Placement says where an object with a placement block goes and why.
	Placement *Placement
	// PriorProvider is the provider of the object being replaced when a
	// replacement moves it to another candidate.
	PriorProvider *addrs.ProviderConfig
	// DeposedKey names a deposed object (Plan.Deposed); empty otherwise.
	DeposedKey string
	// PrevAddr is where the object was recorded before a moved block
	// moved it to Addr (apply records the move); nil otherwise.
	PrevAddr *addrs.ResourceInstance
	// Config, when set, is the configuration the change was planned with
	// instead of the configuration files (with its sensitive marks): the
	// recorded settings of the version a rollback returns to, or of an
	// object a rollback pinned. Apply plans the change again with it.
	Config cty.Value
}

// Placement is the outcome of placing one object on a candidate.
type Placement struct {
	Strategy string `json:"strategy"`
	// Chosen is the candidate picked; Kept is true when the object stays
	// where it was placed before.
	Chosen string `json:"chosen"`
	Kept   bool   `json:"kept,omitempty"`
	// CanRunNow: the chosen offer can start now (not queued).
	CanRunNow bool            `json:"can_run_now,omitempty"`
	Offer     *PlacementOffer `json:"offer,omitempty"`
	// Rejected lists the other candidates with the reason each was not used.
	Rejected []PlacementRejection `json:"rejected,omitempty"`
	// MaxHourlyCost is the budget (0: none); ProjectedCost is the price per
	// hour times the object's max_duration, when both are known.
	MaxHourlyCost float64 `json:"max_hourly_cost,omitempty"`
	ProjectedCost float64 `json:"projected_cost,omitempty"`
	Hours         float64 `json:"hours,omitempty"`
}

// PlacementOffer is the offer that won.
type PlacementOffer struct {
	GPUType       string        `json:"gpu_type,omitempty"`
	GPUCount      int64         `json:"gpu_count,omitempty"`
	PricePerHour  float64       `json:"price_per_hour"`
	QueueEstimate time.Duration `json:"queue_estimate_ns,omitempty"`
	Location      string        `json:"location,omitempty"`
}

// PlacementRejection is a candidate not used and why, with what it
// offered: whether it could run the object now, its price and the
// projected cost (price x max_duration) when known.
type PlacementRejection struct {
	Candidate     string   `json:"candidate"`
	Reason        string   `json:"reason"`
	CanRunNow     bool     `json:"can_run_now,omitempty"`
	PricePerHour  *float64 `json:"price_per_hour,omitempty"`
	ProjectedCost *float64 `json:"projected_cost,omitempty"`
}

// OutputChange is the planned change of a root output.
type OutputChange struct {
	Name      string
	Action    Action // create, update, delete or no-op
	Before    cty.Value
	After     cty.Value
	Sensitive bool
}

// Plan is the result of `llmops plan`.
type Plan struct {
	Mode      Mode
	CreatedAt time.Time
	// Changes are the instance changes, ordered by address; no-ops included.
	Changes []*ResourceInstanceChange
	// Drift lists objects whose refreshed value differs from what was
	// recorded: changes made outside llmops. Action is Update or Delete.
	Drift []*ResourceInstanceChange
	// Deposed are the destroys of deposed objects (ReasonDeposed): old
	// objects of create_before_destroy replacements still to destroy.
	// Apply destroys them after the changes.
	Deposed []*ResourceInstanceChange
	// DataReads are the data sources of the configuration (Action Read):
	// read during plan (After is the value, used as it is by apply), or
	// left to apply (ReasonReadDuringApply, After has unknowns).
	DataReads []*ResourceInstanceChange
	Outputs   []*OutputChange

	// What the plan was made against.
	Lineage        string
	PrevSerial     int64
	ConfigDigest   string
	ProviderHashes map[string]string // provider type -> "sha256:..."
	// Variables are the input values used (sensitive ones are not kept:
	// SensitiveVariables has their sha256, and apply needs them again).
	Variables          map[string]cty.Value
	SensitiveVariables map[string]string

	Targets  []string
	Excludes []string
	Replace  []string

	// Notes are one-line remarks shown with the plan, e.g. that an object
	// rolled back is kept although the configuration declares another value.
	Notes []string
	// ReleasePins lists objects whose rollback pin ends when this plan is
	// applied (their configuration changed since the rollback).
	ReleasePins []string
	// RollbackTo is the version a rollback plan puts its objects back to.
	RollbackTo int64

	// Errored is true when planning failed part-way; such a plan cannot be applied.
	Errored bool
	// Sealed is true for a saved plan read without the state key: its
	// sensitive values are hidden, and it cannot be applied.
	Sealed bool
}

// Sort orders changes, drift and outputs deterministically.
func (p *Plan) Sort() {
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Addr.Less(p.Changes[j].Addr) })
	sort.Slice(p.Drift, func(i, j int) bool { return p.Drift[i].Addr.Less(p.Drift[j].Addr) })
	sort.Slice(p.DataReads, func(i, j int) bool { return p.DataReads[i].Addr.Less(p.DataReads[j].Addr) })
	sort.Slice(p.Deposed, func(i, j int) bool {
		a, b := p.Deposed[i], p.Deposed[j]
		if a.Addr != b.Addr {
			return a.Addr.Less(b.Addr)
		}
		return a.DeposedKey < b.DeposedKey
	})
	sort.Slice(p.Outputs, func(i, j int) bool { return p.Outputs[i].Name < p.Outputs[j].Name })
}

// Change returns the change for addr, or nil.
func (p *Plan) Change(addr addrs.ResourceInstance) *ResourceInstanceChange {
	for _, c := range p.Changes {
		if c.Addr == addr {
			return c
		}
	}
	return nil
}

// Counts summarises the actions of a plan.
type Counts struct {
	Add, Change, Replace, Destroy, Wait int
	// Move counts the objects a moved block moves (whatever else changes).
	Move int
}

// Counts returns the number of instances per action.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, ch := range p.Changes {
		if ch.PrevAddr != nil {
			c.Move++
		}
		switch ch.Action {
		case Create:
			c.Add++
		case Update:
			c.Change++
		case DeleteThenCreate, CreateThenDelete:
			c.Replace++
		case Delete:
			c.Destroy++
		case Wait:
			c.Wait++
		}
	}
	c.Destroy += len(p.Deposed)
	return c
}

// HasChanges reports whether applying the plan would change anything:
// an instance action other than no-op, a changed output, or, for a
// refresh-only plan, drift to accept.
func (p *Plan) HasChanges() bool {
	for _, ch := range p.Changes {
		if ch.Action != NoOp || ch.PrevAddr != nil {
			return true
		}
	}
	for _, o := range p.Outputs {
		if o.Action != NoOp {
			return true
		}
	}
	if len(p.Deposed) > 0 {
		return true
	}
	return p.Mode == RefreshOnlyMode && len(p.Drift) > 0
}
