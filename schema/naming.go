package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// NamingRule is the rule on the names of a provider's resource types and
// data sources, as diagnostics state it.
const NamingRule = "a resource type or data source is either a lifecycle kind (" +
	"model, dataset, prompt, training_run, evaluation, embedding_index, deployment, monitor) " +
	"or starts with its provider's name and an underscore (null_value of provider null), " +
	"so that llmops finds the provider of `resource \"TYPE\" ...` from the name"

// CheckTypeName says what is wrong with the name of a resource type or
// data source (what: "resource type" or "data source") that the provider
// named provider serves, or "" when it follows NamingRule.
func CheckTypeName(provider, what, name string) string {
	if IsKind(name) || provider == "" || name == provider || strings.HasPrefix(name, provider+"_") {
		return ""
	}
	return fmt.Sprintf("The provider %s serves the %s %q, whose name neither starts with %q nor is a lifecycle kind. Rename it %q: %s.",
		provider, what, name, provider+"_", provider+"_"+name, NamingRule)
}

// CheckTypeNames checks every resource type and data source of a schema
// with CheckTypeName, in name order.
func CheckTypeNames(provider string, r *protocol.GetSchemaResponse) []string {
	var out []string
	for _, group := range []struct {
		what  string
		names map[string]*protocol.Schema
	}{{"resource type", r.ResourceTypes}, {"data source", r.DataSources}} {
		names := make([]string, 0, len(group.names))
		for n := range group.names {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if p := CheckTypeName(provider, group.what, n); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
