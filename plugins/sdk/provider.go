package sdk

import (
	"context"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Diagnostics is a list of errors and warnings, optionally pointing at an
// attribute path (diags.AttrErrorf(cty.GetAttrPath("text"), ...)).
type Diagnostics = protocol.Diagnostics

// Pending describes a long operation still running (see PendingState).
type Pending = protocol.Pending

// Provider describes a provider: its configuration and its resource types.
// Pass it to Serve in main, or to NewProtocolProvider to run it in process.
type Provider struct {
	// Name is the provider type, e.g. "echo": the executable is
	// llmops-provider-<Name> and resource types are named <Name>_<thing>.
	Name string
	// Version is the provider's release version, e.g. "0.1.0"; llmops
	// records it in .llmops.lock.hcl.
	Version string
	// Schema is the schema of the `provider "<name>" { ... }` block.
	Schema Block
	// ValidateConfig, optional, checks the provider block beyond what the
	// schema says. Values may be unknown.
	ValidateConfig func(ctx context.Context, req *ValidateRequest) Diagnostics
	// Configure, optional, is called once before any resource call. What it
	// returns as meta (an API client, say) reaches every CRUD call as
	// req.Meta.
	Configure func(ctx context.Context, req *ConfigureRequest) (meta any, diags Diagnostics)
	// Resources maps resource type names ("echo_message") to resources.
	Resources map[string]*Resource
	// Offers, optional, answers placement: what the provider could offer
	// now for the resources an object asks for (available capacity, GPU
	// type, price per hour, queue estimate). Used when a configuration
	// places objects with a `placement` block.
	Offers func(ctx context.Context, req *OffersRequest) ([]Offer, Diagnostics)
	// DataSources maps data source type names to data sources: what a
	// configuration reads with `data "TYPE" "NAME" { ... }` without
	// managing it.
	DataSources map[string]*DataSource
}

// DataSource implements one data source type: something that exists,
// found by its configuration, read on every plan and never created,
// changed or recorded.
type DataSource struct {
	// Schema describes the configuration (required and optional
	// attributes) and the value read (computed attributes).
	Schema Block
	// Read finds what the configuration names and returns req.Config with
	// the computed attributes set. Errors go in the diagnostics.
	Read func(ctx context.Context, req *ReadDataRequest) (Object, Diagnostics)
}

// ReadDataRequest asks a data source for its value.
type ReadDataRequest struct {
	TypeName string
	// Config is the data source's configuration, wholly known; its
	// computed attributes are null.
	Config Object
	// Meta is what the provider's Configure returned.
	Meta any
}

// Resource implements one resource type. Only Schema and Create are
// required; see each field for what the framework does when it is nil.
type Resource struct {
	// Schema describes the resource's configuration and state.
	Schema Block
	// SchemaVersion increases when the shape of recorded state changes;
	// llmops then calls UpgradeState with the old state.
	SchemaVersion int64

	// Create makes the object. req.Planned holds the configuration with
	// unknown computed values; return it with those set as the new state,
	// or a partial state with Pending for a long operation.
	Create func(ctx context.Context, req *CreateRequest) *Response
	// Read refreshes the object (or polls a pending one, req.Pending).
	// Return the object as it is now, Gone() when it no longer exists, or
	// nil for "unchanged". Nil Read: the state is returned unchanged.
	Read func(ctx context.Context, req *ReadRequest) *Response
	// Update changes the object in place. Nil Update: the planned state
	// becomes the new state (right for resources that live only in state).
	Update func(ctx context.Context, req *UpdateRequest) *Response
	// Delete destroys the object. Nil Delete: nothing to do. A delete that
	// takes long (cancelling a remote job, tearing down an endpoint) may
	// return at once with Pending set (PendingState): llmops then calls Read
	// with that handle, as for a create, until Read returns Gone(). Make
	// the handle say it is a delete's, so Read knows what it polls.
	Delete func(ctx context.Context, req *DeleteRequest) *Response

	// ModifyPlan, optional, adjusts the framework's plan: mark more values
	// unknown, require replacement, add diagnostics.
	ModifyPlan func(ctx context.Context, req *ModifyPlanRequest) *ModifyPlanResponse
	// PurePlan declares that ModifyPlan looks only at the prior state and
	// the configuration and changes nothing when they match (no files
	// read, no clock, no remote calls). llmops then does not ask for the
	// plan of an object whose configuration matches its state. Without
	// ModifyPlan, the plan is pure anyway.
	PurePlan bool
	// Import, optional, returns the state of an existing object named by
	// req.ID (llmops reads it afterwards). ImportByID covers the usual case.
	Import func(ctx context.Context, req *ImportRequest) *Response
	// UpgradeState, optional, converts state recorded under an older
	// SchemaVersion. Nil: the recorded JSON is decoded with the current
	// schema.
	UpgradeState func(ctx context.Context, req *UpgradeRequest) *Response
	// Validate, optional, checks a configuration beyond what the schema
	// says (the framework already checks required and computed-only
	// attributes and block counts). Values may be unknown.
	Validate func(ctx context.Context, req *ValidateRequest) Diagnostics
}

// ConfigureRequest carries the provider block and the engine's context.
type ConfigureRequest struct {
	Config Object
	// WorkingDir is the configuration directory, where relative paths resolve.
	WorkingDir string
	// ArtifactDir is the configuration's shared artifact store.
	ArtifactDir   string
	EngineVersion string
	// ArtifactStore is the remote store ArtifactDir caches, if any: open
	// both with remote.OpenStore(ctx, ArtifactDir,
	// remote.Config(ArtifactStore), ...) from
	// plugins/sdk/artifacts/remote.
	ArtifactStore protocol.ArtifactStore
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
}

// ValidateRequest carries a configuration to check. TypeName is empty for
// the provider block.
type ValidateRequest struct {
	TypeName string
	Config   Object
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
}

// CreateRequest asks Create to make an object.
type CreateRequest struct {
	TypeName string
	Config   Object
	// Planned is the planned state: the configuration with computed values
	// unknown (or as ModifyPlan set them).
	Planned Object
	// Private is the private data the plan produced.
	Private []byte
	// Meta is what the provider's Configure returned.
	Meta any
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
	// Address is the object's address in the configuration
	// (`training_run.ft`), for tagging what the provider creates; empty
	// from an engine that does not send it.
	Address string
}

// ReadRequest asks Read for the object as it is now.
type ReadRequest struct {
	TypeName string
	// State is the recorded state (never null: the framework answers a read
	// of a null state itself).
	State   Object
	Private []byte
	// Pending is set when the object was recorded as pending: poll the job
	// named by Pending.Handle.
	Pending *Pending
	Meta    any
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
}

// UpdateRequest asks Update to change an object in place.
type UpdateRequest struct {
	TypeName string
	Config   Object
	Prior    Object
	Planned  Object
	Private  []byte
	Meta     any
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
	// Address is the object's address in the configuration (see
	// CreateRequest).
	Address string
}

// DeleteRequest asks Delete to destroy an object.
type DeleteRequest struct {
	TypeName string
	Prior    Object
	Private  []byte
	Meta     any
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
}

// ModifyPlanRequest shows ModifyPlan the framework's plan. Prior is null for
// a create.
type ModifyPlanRequest struct {
	TypeName string
	Config   Object
	Prior    Object
	// Planned is the framework's planned state.
	Planned Object
	// RequiresReplace is what the framework found (changed ForceNew
	// attributes).
	RequiresReplace []cty.Path
	Private         []byte
	Meta            any
	// Sensitive lists the attributes whose values must never appear in
	// clear in what the provider logs, returns or writes (see Secrets).
	Sensitive SensitivePaths
}

// IsCreate reports whether the plan creates the object.
func (r *ModifyPlanRequest) IsCreate() bool { return r.Prior.Value == cty.NilVal || r.Prior.IsNull() }

// ModifyPlanResponse adjusts the plan. Zero fields change nothing.
type ModifyPlanResponse struct {
	// Planned replaces the planned state when set (start from req.Planned).
	Planned Object
	// RequiresReplace adds to the framework's list.
	RequiresReplace []cty.Path
	// Private replaces the planned private data when non-nil.
	Private     []byte
	Diagnostics Diagnostics
}

// ImportRequest asks Import for the object named by ID.
type ImportRequest struct {
	TypeName string
	ID       string
	// State is an object of the resource type with every attribute null;
	// set what the ID tells and return it.
	State Object
	// Config is the resource's configuration in the llmops files (null
	// when llmops has none to send): what the ID does not tell, such as a
	// credential. Its values may be unknown. Sensitive attributes the
	// returned state leaves null are filled from it, so a credential set
	// on the resource serves the read that follows the import.
	Config Object
	Meta   any
	// Address is the address the object is imported to (see
	// CreateRequest.Address).
	Address string
}

// UpgradeRequest carries state recorded under an older schema version.
type UpgradeRequest struct {
	TypeName string
	// Version is the schema version the state was recorded under.
	Version int64
	// RawJSON is the recorded state as JSON.
	RawJSON []byte
	// Current is the implied type of the current schema.
	Current cty.Type
	Meta    any
}

// Decode decodes RawJSON as a value of ty (the old schema's implied type,
// e.g. sdk.Block{...}.Build().ImpliedType()).
func (r *UpgradeRequest) Decode(ty cty.Type) (cty.Value, error) {
	return ctyjson.Unmarshal(r.RawJSON, ty)
}

// Response is what Create, Read, Update, Delete, Import and UpgradeState
// return. A nil *Response means "nothing to report" (and, for Read,
// "unchanged").
type Response struct {
	// State is the object now. After an error it is the partial state
	// reached; left unset, the framework keeps what is known to exist
	// (nothing for Create, the prior state for Update and Delete).
	State Object
	// Private is provider data stored with the object; nil keeps the
	// current private data.
	Private []byte
	// Pending, from Create, Update or Read, says a long operation goes on;
	// State is then the partial state (unknown values become null).
	Pending *Pending
	// Diagnostics report errors and warnings.
	Diagnostics Diagnostics
}

// PendingState returns a Pending for a long operation: handle is how your
// Read finds the job again (a job id, or anything encoded in a string),
// status a short word ("queued", "running") and message the latest progress
// line.
//
//	return &sdk.Response{State: partial, Pending: sdk.PendingState(jobID, "queued", "")}
func PendingState(handle, status, message string) *Pending {
	return &Pending{Handle: handle, Status: status, Message: message}
}

// Gone is what Read returns when the object no longer exists.
func Gone() *Response { return &Response{State: Object{Value: cty.NullVal(cty.DynamicPseudoType)}} }

// ErrorResponse is a Response with one error diagnostic whose detail is
// err's message.
func ErrorResponse(summary string, err error) *Response {
	var diags Diagnostics
	diags.FromError(summary, err)
	return &Response{Diagnostics: diags}
}

// ImportByID is an Import function for resources whose ID is all there is
// to know: it sets attribute attr to the ID and leaves the rest null (Read
// fills in what it can).
func ImportByID(attr string) func(context.Context, *ImportRequest) *Response {
	return func(_ context.Context, req *ImportRequest) *Response {
		st := req.State
		st.SetString(attr, req.ID)
		return &Response{State: st}
	}
}
