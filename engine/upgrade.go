package engine

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// upgradeRecorded asks providers to upgrade objects recorded under an
// older schema version of their resource type, in place in recorded.
func (e *Engine) upgradeRecorded(ctx context.Context, recorded map[addrs.Resource]*recordedResource) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for r, rr := range recorded {
		pi, err := e.providers.get(ctx, rr.provider)
		if err != nil {
			continue // reported when the provider is needed
		}
		s, ok := pi.schema.ResourceTypes[r.Type]
		if !ok || s.Block == nil {
			continue
		}
		for _, ro := range rr.instances {
			if ro.obj.SchemaVersion >= s.Version {
				continue
			}
			resp := pi.client.UpgradeResourceState(ctx, protocol.UpgradeResourceStateRequest{
				TypeName: r.Type, Version: ro.obj.SchemaVersion, RawJSON: ro.obj.ValueJSON,
			})
			if resp.Diagnostics.HasErrors() {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  fmt.Sprintf("Cannot upgrade the recorded %s", ro.obj.Addr),
					Detail:   fmt.Sprintf("It was recorded with schema version %d of %s; provider %s (schema version %d) could not upgrade it: %s", ro.obj.SchemaVersion, r.Type, pi.addr, s.Version, resp.Diagnostics.Err()),
				})
				continue
			}
			ro.value = values.MarkPaths(resp.UpgradedState, values.SensitivePaths(ro.value))
			obj := *ro.obj
			obj.SchemaVersion = s.Version
			ro.obj = &obj
		}
	}
	return diags
}
