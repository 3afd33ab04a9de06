package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Config says which provider to test and with what.
type Config struct {
	// ProviderPath is the provider executable, started as llmops starts it.
	// Exactly one of ProviderPath and Factory must be set.
	ProviderPath string
	// ProviderType names the provider ("echo"); by default it is taken from
	// the executable's name, llmops-provider-<type>.
	ProviderType string
	// Factory returns the provider in process, e.g.
	// func() protocol.Provider { return sdk.NewProtocolProvider(echo.Provider()) }.
	Factory func() protocol.Provider
	// Env is added to the provider process's environment.
	Env []string
	// ProviderConfig is the provider block's value; attributes left out are
	// null, and cty.NilVal means an empty block.
	ProviderConfig cty.Value
	// ArtifactStore is the remote store the provider is configured with
	// (what an artifacts block gives), for providers whose jobs need one
	// (Kubernetes pods fetch their inputs from it); the zero value: none,
	// only the suite's private local store.
	ArtifactStore protocol.ArtifactStore
	// Cases are the resource types to exercise, each with its configurations.
	Cases []Case
	// DataCases are the data sources to read.
	DataCases []DataCase
	// PendingTimeout bounds the wait for a pending object (default 1m);
	// PollInterval is the pause between polls (default 100ms).
	PendingTimeout time.Duration
	PollInterval   time.Duration
}

// Case exercises one resource type. Create is required; the other
// configurations are optional and enable their steps.
type Case struct {
	// Name labels the subtest (default TypeName).
	Name     string
	TypeName string
	// Create is a valid configuration; the object created from it is used
	// by the later steps.
	Create cty.Value
	// Update is an in-place change of Create: planning it must not require
	// replacement.
	Update cty.Value
	// Replace changes a force-new attribute of the current configuration:
	// planning it must require replacement.
	Replace cty.Value
	// Invalid is a configuration the provider must reject, with an error
	// whose text contains InvalidError and that points at an attribute.
	Invalid      cty.Value
	InvalidError string
	// ImportID, when set, gives the import ID of a state; the suite imports
	// the created object by it, reads it, and checks the ID round trips.
	ImportID func(state cty.Value) string
	// FailsWith, when set, says creating from Create fails (at once or once
	// its pending operation ends) with an error containing this text; the
	// steps after the create are skipped.
	FailsWith string
	// InStateOnly says the object exists only in llmops state (null_value,
	// echo_message): there is nothing outside llmops to look at, so Read
	// returns the state it is given and cannot notice a deletion. The
	// read-after-delete step checks instead that reading the deleted
	// object's state gives it back unchanged.
	InStateOnly bool
	// KeptAfterDelete says Delete leaves in place what Read looks at (the
	// local provider's artifacts, which outlive their objects until the
	// engine's gc removes them): reading a deleted object may still find
	// it, and must not fail.
	KeptAfterDelete bool
	// StateOnly is the field both meanings shared before they were split:
	// the read-after-delete step checks nothing more, as before.
	//
	// Deprecated: set InStateOnly or KeptAfterDelete.
	StateOnly bool
}

// Run runs the suite. Each step is a subtest; a step that depends on a
// failed one is skipped.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	p := start(t, cfg)
	// The directories live as long as the whole suite (a subtest's TempDir
	// would be removed when ConfigureProvider's subtest ends).
	s := &suite{cfg: cfg, p: p, name: providerName(cfg), workDir: t.TempDir(), artifactDir: t.TempDir()}
	if cfg.PendingTimeout <= 0 {
		s.cfg.PendingTimeout = time.Minute
	}
	if cfg.PollInterval <= 0 {
		s.cfg.PollInterval = 100 * time.Millisecond
	}
	// Every later step needs the schema and a configured provider: when
	// -run filters these two steps out (go test -run
	// TestConformance/echo_message), they run anyway, in the parent test.
	if !setupStep(t, "GetSchema", s.getSchema) {
		t.Fatalf("the provider's schema is unusable; no further steps run")
	}
	if !setupStep(t, "ConfigureProvider", s.configure) {
		t.Fatalf("the provider cannot be configured; no further steps run")
	}
	for _, c := range cfg.Cases {
		name := c.Name
		if name == "" {
			name = c.TypeName
		}
		t.Run(name, func(t *testing.T) { s.runCase(t, c) })
	}
	for _, c := range cfg.DataCases {
		name := c.Name
		if name == "" {
			name = "data." + c.TypeName
		}
		t.Run(name, func(t *testing.T) { s.runDataCase(t, c) })
	}
	t.Run("UnknownResourceType", s.unknownType)
	t.Run("ProcessAlive", func(t *testing.T) {
		if plugin.Exited(p) {
			t.Fatalf("the provider process exited during the suite; its log above may say why")
		}
	})
}

// setupStep runs a step the others depend on as a subtest, or in t itself
// when -run filters the subtest out; it reports whether the step passed.
func setupStep(t *testing.T, name string, step func(*testing.T)) bool {
	ran := false
	ok := t.Run(name, func(t *testing.T) { ran = true; step(t) })
	if ran {
		return ok
	}
	step(t)
	return !t.Failed()
}

func providerName(cfg Config) string {
	if cfg.ProviderType != "" {
		return cfg.ProviderType
	}
	if cfg.ProviderPath != "" {
		base := filepath.Base(cfg.ProviderPath)
		if len(base) > len("llmops-provider-") && base[:len("llmops-provider-")] == "llmops-provider-" {
			return base[len("llmops-provider-"):]
		}
		return base
	}
	return "" // in process: unknown
}

func start(t *testing.T, cfg Config) protocol.Provider {
	t.Helper()
	switch {
	case cfg.Factory != nil && cfg.ProviderPath != "":
		t.Fatalf("conformance.Config: set ProviderPath or Factory, not both")
	case cfg.Factory != nil:
		p := cfg.Factory()
		t.Cleanup(func() { _ = p.Close() })
		return p
	case cfg.ProviderPath == "":
		t.Fatalf("conformance.Config: set ProviderPath (a built provider) or Factory (in process)")
	}
	p, err := plugin.Start(context.Background(), plugin.StartOptions{
		Path: cfg.ProviderPath, Type: providerName(cfg), Env: cfg.Env,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "provider", Level: hclog.Info, Output: tWriter{t}}),
	})
	if err != nil {
		t.Fatalf("starting the provider %s: %v", cfg.ProviderPath, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// tWriter sends the provider's log lines to the test log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	defer func() { _ = recover() }() // a line after the test ended
	w.t.Log(string(b))
	return len(b), nil
}

// Build builds the provider's main package (a Go package path or directory,
// e.g. "./cmd/llmops-provider-echo", relative to the test's directory or
// module) into a temporary directory as llmops-provider-<typ> and returns
// the executable's path.
func Build(t testing.TB, pkg, typ string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "llmops-provider-"+typ)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = os.Environ()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func diagString(ds protocol.Diagnostics) string {
	s := ""
	for _, d := range ds {
		sev := "error"
		if d.Severity == protocol.Warning {
			sev = "warning"
		}
		s += fmt.Sprintf("\n  %s: %s", sev, d.Summary)
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if len(d.Attribute) > 0 {
			s += fmt.Sprintf(" (at %s)", protocol.PathString(d.Attribute))
		}
	}
	return s
}
