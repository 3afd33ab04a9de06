package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/internal/schemadoc"
	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

const providersSchemaUsage = `
Usage: llmops providers schema [options] [RESOURCE_TYPE ...]

Prints the schema of every provider the configuration uses: the provider's
own configuration block and each resource type it serves (lifecycle kinds
and its own types), every attribute with its type, whether it is required,
optional or computed, sensitive or write-only, whether a change replaces
the object, its default and its description; nested blocks are indented
under their parent; then each data source it serves (data "TYPE"). Name
resource types or data sources to print only those.

With -json, the same in Terraform's shape ("format_version",
"provider_schemas": {TYPE: {"provider", "resource_schemas": {NAME:
{"version", "block": {"attributes", "block_types"}}}, "data_source_schemas":
{...}}}), for editors and scripts. docs/reference/ holds the same,
generated, for this repository's providers.
`

// providersSubcommands are the words `llmops providers` takes.
var providersSubcommands = []string{"lock", "schema"}

// unknownProvidersSubcommand reports a word after `providers` that is no
// subcommand (it used to be ignored).
func unknownProvidersSubcommand(m *meta, word string) int {
	return m.errorDetail(fmt.Sprintf("Unknown providers subcommand %q", word),
		fmt.Sprintf("`llmops providers` takes no argument, or one of the subcommands %s: llmops providers schema -json. See llmops providers -help.", strings.Join(providersSubcommands, ", ")))
}

func providersSchema(m *meta, args []string) int {
	fs := m.newFlags("providers schema", providersSchemaUsage)
	jsonOut := fs.Bool("json", false, "Print the schemas as JSON in Terraform's shape.")
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	cfg, ok := m.loadConfig()
	if !ok {
		return exitError
	}
	f, ok := m.providerFactory(cfg, nil)
	if !ok {
		return exitError
	}
	resps, code := m.providerSchemas(context.Background(), f)
	if code != exitOK {
		return code
	}
	for _, r := range cfg.Resources {
		if r.Provider.Type == engine.BuiltinProviderType {
			b := engine.BuiltinSchema() // llmops_state, served by llmops itself
			resps[engine.BuiltinProviderType] = &b
		}
	}
	only := fs.Args()
	for _, want := range only {
		found := false
		for _, r := range resps {
			if _, ok := r.ResourceTypes[want]; ok {
				found = true
			}
			if _, ok := r.DataSources[want]; ok {
				found = true
			}
		}
		if !found {
			return m.errorDetail(fmt.Sprintf("No resource type or data source %q", want), "None of the configuration's providers serves it. `llmops providers schema` without arguments lists every resource type and data source.")
		}
	}
	if *jsonOut {
		if len(only) > 0 {
			for _, r := range resps {
				for name := range r.ResourceTypes {
					if !contains(only, name) {
						delete(r.ResourceTypes, name)
					}
				}
				for name := range r.DataSources {
					if !contains(only, name) {
						delete(r.DataSources, name)
					}
				}
			}
		}
		doc, err := schemadoc.FromResponses(resps)
		if err != nil {
			return m.errorDetail("Invalid provider schema", err.Error())
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	types := make([]string, 0, len(resps))
	for t := range resps {
		types = append(types, t)
	}
	sort.Strings(types)
	for i, t := range types {
		if i > 0 {
			fmt.Fprintln(m.stdout)
		}
		schemadoc.WriteText(m.stdout, t, resps[t], only)
	}
	return exitOK
}

// providerSchemas starts each provider of f in turn for its schema.
func (m *meta) providerSchemas(ctx context.Context, f *pluginFactory) (map[string]*protocol.GetSchemaResponse, int) {
	out := map[string]*protocol.GetSchemaResponse{}
	for t, bin := range f.bins {
		p, err := plugin.Start(ctx, plugin.StartOptions{Path: bin.Executable(), Type: t, Logger: m.logger(), LogFile: m.logFile(), Unset: m.providerUnset()})
		if err != nil {
			return nil, m.errorDetail("Cannot start provider "+t, err.Error())
		}
		resp := p.GetSchema(ctx, protocol.GetSchemaRequest{})
		p.Close()
		if resp.Diagnostics.HasErrors() {
			return nil, m.errorDetail(fmt.Sprintf("Provider %s returned an error for its schema", t), resp.Diagnostics.Err().Error())
		}
		out[t] = &resp
	}
	return out, exitOK
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
