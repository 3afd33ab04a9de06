package schema

import (
	"strings"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func TestCheckTypeName(t *testing.T) {
	for _, c := range []struct {
		provider, name string
		ok             bool
	}{
		{"null", "null_value", true},
		{"local", "model", true},   // a lifecycle kind
		{"local", "dataset", true}, // a kind, as a data source too
		{"echo", "echo", true},     // the provider's name alone
		{"echo", "message", false}, // no prefix
		{"echo", "echomsg", false}, // a prefix without the underscore
		{"echo", "null_value", false},
		{"", "anything", true}, // no name to check against
	} {
		got := CheckTypeName(c.provider, "resource type", c.name)
		if (got == "") != c.ok {
			t.Errorf("CheckTypeName(%q, %q) = %q, want ok=%v", c.provider, c.name, got, c.ok)
		}
		if !c.ok {
			for _, want := range []string{"provider " + c.provider, `"` + c.name + `"`, `"` + c.provider + `_"`, "lifecycle kind"} {
				if !strings.Contains(got, want) {
					t.Errorf("CheckTypeName(%q, %q) = %q: does not say %q", c.provider, c.name, got, want)
				}
			}
		}
	}
	r := &protocol.GetSchemaResponse{
		ResourceTypes: map[string]*protocol.Schema{"echo_message": {}, "message": {}},
		DataSources:   map[string]*protocol.Schema{"greeting": {}},
	}
	got := CheckTypeNames("echo", r)
	if len(got) != 2 || !strings.Contains(got[0], `resource type "message"`) || !strings.Contains(got[1], `data source "greeting"`) {
		t.Errorf("CheckTypeNames = %q, want the resource type message then the data source greeting", got)
	}
}
