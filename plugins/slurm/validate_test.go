package slurm

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func TestValidate(t *testing.T) {
	p := sdk.NewProtocolProvider(Provider())
	s := p.GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if s.Diagnostics.HasErrors() {
		t.Fatal(s.Diagnostics.Err())
	}
	ty := s.ResourceTypes["training_run"].Block.ImpliedType()
	base := map[string]any{"base_model": "sha256:" + strings.Repeat("a", 64), "command": []string{"python3", "train.py"}}
	with := func(k string, v any) cty.Value {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return toCty(ty, m)
	}
	for name, c := range map[string]struct {
		cfg  cty.Value
		want string
	}{
		"ok":              {with("retry", map[string]any{"attempts": 3, "on": []string{"preempted", "failed"}}), ""},
		"bad retry.on":    {with("retry", map[string]any{"on": []string{"cancelled"}}), "not one of"},
		"attempts 0":      {with("retry", map[string]any{"attempts": 0}), "retry.attempts"},
		"gpu type colon":  {with("resources", map[string]any{"gpus": 1, "gpu_type": "a100:2"}), "GRES type"},
		"nodes 0":         {with("resources", map[string]any{"nodes": 0}), "resources.nodes"},
		"contract env":    {with("env", map[string]string{"LLMOPS_RUN_ID": "x"}), "LLMOPS_RUN_ID"},
		"bad env name":    {with("env", map[string]string{"A-B": "x"}), "not a valid name"},
		"nul in command":  {with("command", []string{"echo", "a\x00b"}), "NUL"},
		"bad duration":    {with("resources", map[string]any{"max_duration": "soon"}), "duration"},
		"nested ok gpu 0": {with("resources", map[string]any{"gpus": 0, "gpu_type": "any"}), ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := p.ValidateResourceConfig(context.Background(), protocol.ValidateResourceConfigRequest{TypeName: "training_run", Config: c.cfg})
			switch {
			case c.want == "" && r.Diagnostics.HasErrors():
				t.Fatalf("unexpected: %v", r.Diagnostics.Err())
			case c.want != "" && (!r.Diagnostics.HasErrors() || !strings.Contains(diagText(r.Diagnostics), c.want)):
				t.Fatalf("want an error with %q, got %v", c.want, diagText(r.Diagnostics))
			}
		})
	}
	pty := s.Provider.Block.ImpliedType()
	for name, c := range map[string]struct {
		cfg  map[string]any
		want string
	}{
		"rest without url": {map[string]any{"shared_dir": "/s"}, "needs url"},
		"relative shared":  {map[string]any{"url": "http://x:1", "shared_dir": "s"}, "absolute"},
		"bad mode":         {map[string]any{"url": "http://x:1", "shared_dir": "/s", "mode": "ssh"}, "mode"},
		"bad api":          {map[string]any{"url": "http://x:1", "shared_dir": "/s", "api_version": "v0.0.12"}, "api_version"},
		"cli ok":           {map[string]any{"mode": "cli", "shared_dir": "/s"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := p.ValidateProviderConfig(context.Background(), protocol.ValidateProviderConfigRequest{Config: toCty(pty, c.cfg)})
			if (c.want == "") == r.Diagnostics.HasErrors() || !strings.Contains(diagText(r.Diagnostics), c.want) {
				t.Fatalf("want %q, got %v", c.want, diagText(r.Diagnostics))
			}
		})
	}
}

func diagText(d protocol.Diagnostics) string {
	var b strings.Builder
	for _, x := range d {
		b.WriteString(protocol.PathString(x.Attribute) + ": " + x.Summary + ": " + x.Detail + "\n")
	}
	return b.String()
}
