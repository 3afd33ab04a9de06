package engine

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// pathRecorder records the sensitive paths each call carries.
type pathRecorder struct {
	*testProvider
	mu    sync.Mutex
	calls map[string][]string
}

func (r *pathRecorder) record(call string, paths []cty.Path) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, p := range paths {
		s = append(s, protocol.PathString(p))
	}
	sort.Strings(s)
	r.calls[call] = s
}

func (r *pathRecorder) ValidateResourceConfig(ctx context.Context, req protocol.ValidateResourceConfigRequest) protocol.ValidateResourceConfigResponse {
	r.record("validate", req.SensitivePaths)
	return r.testProvider.ValidateResourceConfig(ctx, req)
}

func (r *pathRecorder) PlanResourceChange(ctx context.Context, req protocol.PlanResourceChangeRequest) protocol.PlanResourceChangeResponse {
	r.record("plan", req.SensitivePaths)
	return r.testProvider.PlanResourceChange(ctx, req)
}

func (r *pathRecorder) ApplyResourceChange(ctx context.Context, req protocol.ApplyResourceChangeRequest) protocol.ApplyResourceChangeResponse {
	r.record("apply", req.SensitivePaths)
	return r.testProvider.ApplyResourceChange(ctx, req)
}

func (r *pathRecorder) ReadResource(ctx context.Context, req protocol.ReadResourceRequest) protocol.ReadResourceResponse {
	r.record("read", req.SensitivePaths)
	return r.testProvider.ReadResource(ctx, req)
}

// The engine tells the provider which values are sensitive (marked in the
// configuration, or by the schema) on every call that carries them, so the
// SDK can mask them in logs and errors.
func TestProvidersAreToldWhichValuesAreSensitive(t *testing.T) {
	h := newHarness(t)
	rec := &pathRecorder{testProvider: h.prov, calls: map[string][]string{}}
	h.factory = func(context.Context, addrs.ProviderConfig) (protocol.Provider, error) { return rec, nil }
	h.write(map[string]string{"main.llmops.hcl": `
variable "tok" {
  type      = string
  sensitive = true
}
resource "test_value" "s" {
  input = { TOKEN = var.tok, MODE = "fast" }
}
`})
	tok := VarSource{Name: "tok", Value: "tok-secret-123"}
	if _, _, diags := h.apply(PlanOptions{}, tok); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h.plan(PlanOptions{}, tok) // refreshes the recorded object
	// The input is an object (a dynamic attribute), so the path is
	// input.TOKEN; refresh reads what the state recorded, including the
	// provider's copy of the secret into output.
	for call, want := range map[string][]string{
		"validate": {"input.TOKEN", "secret"},
		"plan":     {"input.TOKEN", "secret"},
		"apply":    {"input.TOKEN", "secret"},
		"read":     {"input.TOKEN", "output.TOKEN"},
	} {
		if got := rec.calls[call]; !slices.Equal(got, want) {
			t.Errorf("%s: sensitive paths %q, want %q", call, got, want)
		}
	}
}
