package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/state"
)

// BuiltinProviderType is the provider the engine serves itself: the
// llmops_state data source, which reads another configuration's outputs
// (as terraform_remote_state does). It needs no binary and no lock entry.
const BuiltinProviderType = "llmops"

// StateFile is where the SQLite state of a configuration directory and
// workspace lives: .llmops/state.db for the default workspace,
// .llmops/workspaces/NAME/state.db for the others.
func StateFile(dir, workspace string) string {
	if workspace == "" || workspace == DefaultWorkspace {
		return filepath.Join(dir, ".llmops", "state.db")
	}
	return filepath.Join(dir, ".llmops", "workspaces", workspace, "state.db")
}

// DefaultWorkspace is the workspace every configuration starts in.
const DefaultWorkspace = "default"

var llmopsStateSchema = &protocol.Schema{Block: &protocol.Block{
	Attributes: map[string]*protocol.Attribute{
		"path":      {Type: cty.String, Optional: true, Description: "The directory of the other configuration (its SQLite state), relative to this one."},
		"workspace": {Type: cty.String, Optional: true, Description: "Its workspace; default when unset."},
		"outputs":   {Type: cty.DynamicPseudoType, Computed: true, Description: "Its root outputs, by name, as its last apply recorded them."},
	},
	BlockTypes: map[string]*protocol.NestedBlock{
		// backend "postgres" { schema = "...", conn_str = "..." }: the
		// other configuration's team state, instead of path.
		"backend": {Nesting: protocol.NestingMap, MaxItems: 1, Block: protocol.Block{Attributes: map[string]*protocol.Attribute{
			"schema":   {Type: cty.String, Required: true},
			"conn_str": {Type: cty.String, Optional: true},
		}}},
	},
}}

// builtinProvider serves the llmops_state data source in process.
type builtinProvider struct {
	dir     string // this configuration's directory
	secrets values.Sealer
}

func (p *builtinProvider) GetSchema(context.Context, protocol.GetSchemaRequest) protocol.GetSchemaResponse {
	return protocol.GetSchemaResponse{ProviderVersion: "builtin", Provider: &protocol.Schema{Block: &protocol.Block{}},
		ResourceTypes: map[string]*protocol.Schema{}, DataSources: map[string]*protocol.Schema{"llmops_state": llmopsStateSchema}}
}

func (p *builtinProvider) ValidateProviderConfig(context.Context, protocol.ValidateProviderConfigRequest) protocol.ValidateProviderConfigResponse {
	return protocol.ValidateProviderConfigResponse{}
}

func (p *builtinProvider) ConfigureProvider(context.Context, protocol.ConfigureProviderRequest) protocol.ConfigureProviderResponse {
	return protocol.ConfigureProviderResponse{}
}

func (p *builtinProvider) noResources() protocol.Diagnostics {
	var d protocol.Diagnostics
	d.Errorf("No resources", "The built-in provider llmops has only the llmops_state data source.")
	return d
}

func (p *builtinProvider) ValidateResourceConfig(context.Context, protocol.ValidateResourceConfigRequest) protocol.ValidateResourceConfigResponse {
	return protocol.ValidateResourceConfigResponse{Diagnostics: p.noResources()}
}

func (p *builtinProvider) PlanResourceChange(context.Context, protocol.PlanResourceChangeRequest) protocol.PlanResourceChangeResponse {
	return protocol.PlanResourceChangeResponse{Diagnostics: p.noResources()}
}

func (p *builtinProvider) ApplyResourceChange(context.Context, protocol.ApplyResourceChangeRequest) protocol.ApplyResourceChangeResponse {
	return protocol.ApplyResourceChangeResponse{Diagnostics: p.noResources()}
}

func (p *builtinProvider) ReadResource(context.Context, protocol.ReadResourceRequest) protocol.ReadResourceResponse {
	return protocol.ReadResourceResponse{Diagnostics: p.noResources()}
}

func (p *builtinProvider) ImportResourceState(context.Context, protocol.ImportResourceStateRequest) protocol.ImportResourceStateResponse {
	return protocol.ImportResourceStateResponse{Diagnostics: p.noResources()}
}

func (p *builtinProvider) UpgradeResourceState(context.Context, protocol.UpgradeResourceStateRequest) protocol.UpgradeResourceStateResponse {
	return protocol.UpgradeResourceStateResponse{Diagnostics: p.noResources()}
}

func (p *builtinProvider) StopProvider(context.Context, protocol.StopProviderRequest) protocol.StopProviderResponse {
	return protocol.StopProviderResponse{}
}

func (p *builtinProvider) Close() error { return nil }

// ReadDataSource reads the root outputs of the newest version of another
// configuration's state. Sensitive outputs stay sensitive; sealed ones
// need this configuration's state key to be the one that sealed them.
func (p *builtinProvider) ReadDataSource(ctx context.Context, req protocol.ReadDataSourceRequest) (resp protocol.ReadDataSourceResponse) {
	if req.TypeName != "llmops_state" {
		resp.Diagnostics.Errorf("Unsupported data source", "The built-in provider llmops has only the llmops_state data source, not %q.", req.TypeName)
		return resp
	}
	ws := DefaultWorkspace
	if w := req.Config.GetAttr("workspace"); !w.IsNull() {
		ws = w.AsString()
	}
	st, dir, diags := p.openOther(ctx, req.Config, ws)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		resp.Diagnostics.Errorf("Cannot read the other state", "Reading %s: %s.", dir, err)
		return resp
	}
	outs := make(map[string]cty.Value, len(snap.Outputs))
	for _, o := range snap.Outputs {
		v, err := values.DecodeOutput(o.ValueJSON, o.TypeJSON, o.Sensitive, p.secrets)
		switch {
		case errors.Is(err, values.ErrSealed):
			resp.Diagnostics.Errorf("The state key is needed", "Output %q of %s is sensitive and sealed. %s", o.Name, dir, secretsHelp)
			return resp
		case err != nil:
			resp.Diagnostics.Errorf("Cannot read the other state", "Output %q of %s: %s (was it sealed with another state key?).", o.Name, dir, err)
			return resp
		}
		if o.Sensitive {
			v = v.Mark(values.Sensitive)
		}
		outs[o.Name] = v
	}
	m := req.Config.AsValueMap()
	m["outputs"] = cty.ObjectVal(outs)
	resp.State = cty.ObjectVal(m)
	return resp
}

// openOther opens the state llmops_state names: a directory's SQLite
// state (path), or a PostgreSQL schema (a backend "postgres" block), in
// workspace ws. It returns the store and where it is, for messages.
func (p *builtinProvider) openOther(ctx context.Context, cfg cty.Value, ws string) (state.Store, string, protocol.Diagnostics) {
	var diags protocol.Diagnostics
	path, backends := cfg.GetAttr("path"), cfg.GetAttr("backend")
	hasBackend := !backends.IsNull() && backends.LengthInt() > 0
	switch {
	case path.IsNull() == !hasBackend:
		diags.Errorf("Invalid llmops_state", "Set path (another configuration's directory) or a backend \"postgres\" block (its team state), not both and not neither.")
		return nil, "", diags
	case hasBackend:
		for it := backends.ElementIterator(); it.Next(); {
			k, b := it.Element()
			if k.AsString() != "postgres" {
				diags.AttrErrorf(cty.GetAttrPath("backend"), "Unsupported backend", "llmops_state reads a backend \"postgres\" block; %q is not one.", k.AsString())
				return nil, "", diags
			}
			o := state.PostgresOptions{Schema: b.GetAttr("schema").AsString(), Workspace: ws}
			if c := b.GetAttr("conn_str"); !c.IsNull() {
				o.ConnString = c.AsString()
			}
			st, err := state.OpenPostgres(ctx, o)
			if err != nil {
				diags.Errorf("Cannot read the other state", "Opening PostgreSQL schema %q (workspace %s): %s.", o.Schema, ws, err)
				return nil, "", diags
			}
			return st, st.Where(), nil
		}
	}
	dir := path.AsString()
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.dir, dir)
	}
	file := StateFile(dir, ws)
	if _, err := os.Stat(file); err != nil {
		diags.AttrErrorf(cty.GetAttrPath("path"), "No state to read",
			"There is no state at %s (workspace %s). Apply the configuration in %s first, or correct path or workspace.", file, ws, dir)
		return nil, "", diags
	}
	st, err := state.OpenSQLite(ctx, file)
	if err != nil {
		diags.Errorf("Cannot read the other state", "Opening %s: %s.", file, err)
		return nil, "", diags
	}
	return st, dir, nil
}
