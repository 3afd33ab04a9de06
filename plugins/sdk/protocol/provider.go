package protocol

import (
	"context"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// Provider is one configured (or configurable) provider instance. Every call
// takes a context and a request struct and returns a response struct whose
// Diagnostics report failures; methods never panic on bad input.
//
// The engine calls GetSchema first, then ValidateProviderConfig and
// ConfigureProvider once, then any number of the resource calls, possibly
// concurrently. StopProvider asks in-flight calls to return early; Close
// ends the provider (for a plugin, kills its process).
type Provider interface {
	GetSchema(ctx context.Context, req GetSchemaRequest) GetSchemaResponse
	ValidateProviderConfig(ctx context.Context, req ValidateProviderConfigRequest) ValidateProviderConfigResponse
	ConfigureProvider(ctx context.Context, req ConfigureProviderRequest) ConfigureProviderResponse
	ValidateResourceConfig(ctx context.Context, req ValidateResourceConfigRequest) ValidateResourceConfigResponse
	PlanResourceChange(ctx context.Context, req PlanResourceChangeRequest) PlanResourceChangeResponse
	ApplyResourceChange(ctx context.Context, req ApplyResourceChangeRequest) ApplyResourceChangeResponse
	ReadResource(ctx context.Context, req ReadResourceRequest) ReadResourceResponse
	ImportResourceState(ctx context.Context, req ImportResourceStateRequest) ImportResourceStateResponse
	UpgradeResourceState(ctx context.Context, req UpgradeResourceStateRequest) UpgradeResourceStateResponse
	StopProvider(ctx context.Context, req StopProviderRequest) StopProviderResponse
	Close() error
}

// GetSchemaRequest asks for the provider's schemas. It has no fields yet.
type GetSchemaRequest struct{}

// GetSchemaResponse describes the provider configuration block and every
// resource type the provider serves. Lifecycle kinds (`model`, `dataset`,
// ...) appear under their kind name, with the core attributes of package
// schema plus any the provider adds.
type GetSchemaResponse struct {
	// ProviderVersion is the provider's own release version, e.g. "0.1.0".
	ProviderVersion string
	Provider        *Schema
	ResourceTypes   map[string]*Schema
	// ServerCapabilities lists optional features, e.g. "plan_destroy".
	ServerCapabilities []string
	Diagnostics        Diagnostics
	// DataSources describes every data source type the provider serves
	// (DataSourceProvider).
	DataSources map[string]*Schema
}

// Server capabilities a provider may announce in GetSchemaResponse.
const (
	// CapabilityPlanValidates: PlanResourceChange reports every diagnostic
	// ValidateResourceConfig would, so the engine does not call
	// ValidateResourceConfig while planning (only in `llmops validate`).
	CapabilityPlanValidates = "plan_validates"
	// CapabilityNoRefreshPrefix + a resource type name: ReadResource of
	// that type always returns the recorded state unchanged (the SDK
	// announces it for a resource without Read), so the engine skips
	// refreshing it. (The wire value keeps its first name.)
	CapabilityNoRefreshPrefix = "state_only:"
	// CapabilityStateOnlyPrefix is CapabilityNoRefreshPrefix.
	//
	// Deprecated: use CapabilityNoRefreshPrefix.
	CapabilityStateOnlyPrefix = CapabilityNoRefreshPrefix
	// CapabilityPurePlanPrefix + a resource type name: PlanResourceChange
	// of that type depends only on the prior state and the configuration,
	// and plans no change when the proposed new state equals the prior
	// state; the engine then skips the call for unchanged objects.
	CapabilityPurePlanPrefix = "pure_plan:"
)

// HasCapability reports whether the response announces capability c.
func (r *GetSchemaResponse) HasCapability(c string) bool {
	for _, x := range r.ServerCapabilities {
		if x == c {
			return true
		}
	}
	return false
}

// ValidateProviderConfigRequest carries the provider block's value. Parts
// may be unknown when they depend on resources not yet created.
type ValidateProviderConfigRequest struct {
	Config cty.Value
}

type ValidateProviderConfigResponse struct {
	Diagnostics Diagnostics
}

// ConfigureProviderRequest configures the provider once per process.
type ConfigureProviderRequest struct {
	// Config is the provider block's value, conforming to the provider schema.
	Config cty.Value
	// WorkingDir is the absolute path of the configuration directory, where
	// commands run and relative paths resolve.
	WorkingDir string
	// ArtifactDir is the absolute path of the configuration's
	// content-addressed artifact store, shared by every provider.
	ArtifactDir string
	// EngineVersion is the llmops version that drives the provider.
	EngineVersion string
	// ArtifactStore is the remote store that the artifact store at
	// ArtifactDir caches (the artifacts block's url and its S3 settings),
	// or the zero value without one. Providers reach it through package
	// plugins/sdk/artifacts/remote (remote.Config(req.ArtifactStore)).
	ArtifactStore ArtifactStore
	// SensitivePaths are the paths (into Config) of the values that must never appear in clear in what
	// the provider logs, returns in errors, or writes to files: attributes
	// the schema marks sensitive and values the configuration marked (a
	// sensitive variable used in env, say). An index step with an unknown
	// key stands for every element.
	SensitivePaths []cty.Path
}

// ArtifactStore names a remote artifact store. It never holds credentials:
// those come from the standard places (the AWS credential chain, the
// docker config) of the process that uses it.
type ArtifactStore struct {
	// URL is s3://BUCKET[/PREFIX], oci://REGISTRY/REPOSITORY or the
	// absolute path of a shared directory; empty: no remote store.
	URL string
	// Endpoint is an S3-compatible server's URL (s3:// only).
	Endpoint string
	// PathStyle addresses the bucket in the URL's path (s3:// only).
	PathStyle bool
	// Region and Profile override the AWS configuration's (s3:// only).
	Region  string
	Profile string
}

type ConfigureProviderResponse struct {
	Diagnostics Diagnostics
}

// ValidateResourceConfigRequest asks the provider to check one resource
// block's value. Unknown values must be accepted.
type ValidateResourceConfigRequest struct {
	TypeName string
	Config   cty.Value
	// SensitivePaths are the paths (into Config) of the values that must never appear in clear in what
	// the provider logs, returns in errors, or writes to files: attributes
	// the schema marks sensitive and values the configuration marked (a
	// sensitive variable used in env, say). An index step with an unknown
	// key stands for every element.
	SensitivePaths []cty.Path
}

type ValidateResourceConfigResponse struct {
	Diagnostics Diagnostics
}

// PlanResourceChangeRequest asks what a change to one object will do.
// PriorState is null for a create; ProposedNewState is null for a delete.
// ProposedNewState is the configuration merged with the prior state's
// computed values (computed attributes the configuration leaves unset keep
// their prior value); the provider returns it, adjusted, as PlannedState.
type PlanResourceChangeRequest struct {
	TypeName         string
	PriorState       cty.Value
	ProposedNewState cty.Value
	Config           cty.Value
	PriorPrivate     []byte
	// SensitivePaths are the paths (into Config and the states, which
	// share a type) of the values that must never appear in clear in what
	// the provider logs, returns in errors, or writes to files: attributes
	// the schema marks sensitive and values the configuration marked (a
	// sensitive variable used in env, say). An index step with an unknown
	// key stands for every element.
	SensitivePaths []cty.Path
}

// PlanResourceChangeResponse is the provider's plan for one object. Values
// it cannot know until apply are unknown. RequiresReplace lists the
// attributes whose change forces a replacement.
type PlanResourceChangeResponse struct {
	PlannedState    cty.Value
	RequiresReplace []cty.Path
	PlannedPrivate  []byte
	Diagnostics     Diagnostics
}

// ApplyResourceChangeRequest carries out a planned change. PlannedState is
// null for a delete; PriorState is null for a create.
type ApplyResourceChangeRequest struct {
	TypeName       string
	PriorState     cty.Value
	PlannedState   cty.Value
	Config         cty.Value
	PlannedPrivate []byte
	// SensitivePaths are the paths (into Config and the states, which
	// share a type) of the values that must never appear in clear in what
	// the provider logs, returns in errors, or writes to files: attributes
	// the schema marks sensitive and values the configuration marked (a
	// sensitive variable used in env, say). An index step with an unknown
	// key stands for every element.
	SensitivePaths []cty.Path
	// Address is the object's address in the configuration
	// (`training_run.ft`), for providers that tag what they create with it;
	// empty from an engine that does not send it.
	Address string
}

// ApplyResourceChangeResponse returns the new state, which on error is the
// partial state the provider managed to reach (null if nothing exists).
// When the change continues in the background (a training job), the
// provider returns Pending with an opaque handle: the engine stores it and
// passes it back to ReadResource until the object is no longer pending.
type ApplyResourceChangeResponse struct {
	NewState    cty.Value
	Private     []byte
	Pending     *Pending
	Diagnostics Diagnostics
}

// Pending describes a long operation still running.
type Pending struct {
	// Handle is opaque to the engine; the provider uses it to find the job.
	Handle string
	// Status is a short word for humans: "queued", "running", ...
	Status string
	// Message is the latest progress line (e.g. the latest metrics line).
	Message string
}

// ReadResourceRequest refreshes one recorded object. Pending is set when the
// object was recorded as pending; the provider polls its job.
type ReadResourceRequest struct {
	TypeName     string
	CurrentState cty.Value
	Private      []byte
	Pending      *Pending
	// SensitivePaths are the paths (into CurrentState) of the values that must never appear in clear in what
	// the provider logs, returns in errors, or writes to files: attributes
	// the schema marks sensitive and values the configuration marked (a
	// sensitive variable used in env, say). An index step with an unknown
	// key stands for every element.
	SensitivePaths []cty.Path
}

// ReadResourceResponse returns the object as it is now: a null NewState
// means it no longer exists. Pending is set while the job still runs.
type ReadResourceResponse struct {
	NewState    cty.Value
	Private     []byte
	Pending     *Pending
	Diagnostics Diagnostics
}

// ImportResourceStateRequest adopts an existing object named by ID.
type ImportResourceStateRequest struct {
	TypeName string
	ID       string
	// Config is the resource's configuration (cty.NilVal or null when the
	// caller has none; it may hold unknown values): what the ID does not
	// tell, such as a credential the read after the import needs.
	Config cty.Value
	// Address is the address the object is imported to (see
	// ApplyResourceChangeRequest.Address).
	Address string
}

type ImportResourceStateResponse struct {
	Imported    []ImportedResource
	Diagnostics Diagnostics
}

// ImportedResource is one object found by an import.
type ImportedResource struct {
	TypeName string
	State    cty.Value
	Private  []byte
}

// UpgradeResourceStateRequest carries an object recorded under an older
// schema version as JSON; the provider returns it in the current schema.
type UpgradeResourceStateRequest struct {
	TypeName string
	Version  int64
	RawJSON  []byte
}

type UpgradeResourceStateResponse struct {
	UpgradedState cty.Value
	Diagnostics   Diagnostics
}

// StopProviderRequest asks the provider to make in-flight calls return as
// soon as they safely can.
type StopProviderRequest struct{}

type StopProviderResponse struct {
	// Error is set when the provider could not stop.
	Error string
}

// OfferProvider is implemented by providers that can tell what they can
// offer for an object's requested resources, for `placement` blocks. It is
// optional: a provider without it is treated as available at no cost.
type OfferProvider interface {
	GetOffers(ctx context.Context, req GetOffersRequest) GetOffersResponse
}

// GetOffersRequest asks what the provider can offer for one object.
type GetOffersRequest struct {
	TypeName string
	Config   cty.Value
}

// GetOffersResponse lists the provider's offers. Unsupported is set when
// the provider does not implement offers at all.
type GetOffersResponse struct {
	Offers      []Offer
	Unsupported bool
	Diagnostics Diagnostics
}

// Offer is one way the provider could run the object.
type Offer struct {
	Available bool
	// Reason says why not, when Available is false.
	Reason   string
	GPUType  string
	GPUCount int64
	// PricePerHour is 0 for owned hardware unless configured.
	PricePerHour  float64
	QueueEstimate time.Duration
	Location      string
}

// DataSourceProvider is implemented by providers that serve data sources
// (`data "TYPE" "NAME" { ... }`): objects that exist, described by their
// configuration, read on every plan and never created, changed or
// recorded in the state.
type DataSourceProvider interface {
	ReadDataSource(ctx context.Context, req ReadDataSourceRequest) ReadDataSourceResponse
}

// ReadDataSourceRequest asks for the value of one data source.
type ReadDataSourceRequest struct {
	TypeName string
	// Config conforms to the data source's schema and is wholly known.
	Config cty.Value
}

// ReadDataSourceResponse is the data source's value: the configuration
// with its computed attributes set. Unsupported is set by a provider that
// serves no data sources at all.
type ReadDataSourceResponse struct {
	State       cty.Value
	Unsupported bool
	Diagnostics Diagnostics
}
