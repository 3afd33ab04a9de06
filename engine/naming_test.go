package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// A provider whose schema breaks the naming rule (test_value served by a
// provider started as "echo") is refused when the engine asks for its
// schema, with an error naming the provider, the type and the rule.
func TestProviderNamingCheckedAtGetSchema(t *testing.T) {
	p := newTestProvider()
	ps := newProviderSet(FactoryFunc(func(context.Context, addrs.ProviderConfig) (protocol.Provider, error) { return p, nil }))
	if _, err := ps.get(t.Context(), addrs.ProviderConfig{Type: "test"}); err != nil {
		t.Fatalf("provider test serving test_value, training_run and test_lookup: %v", err)
	}
	_, err := ps.get(t.Context(), addrs.ProviderConfig{Type: "echo"})
	if err == nil {
		t.Fatal("provider echo serving test_value was accepted")
	}
	for _, want := range []string{"provider echo", `resource type "test_value"`, `data source "test_lookup"`, `"echo_"`, "lifecycle kind"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"training_run"`) {
		t.Errorf("training_run is a lifecycle kind, yet: %v", err)
	}
}
