package kubernetes

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the provider binary where
// the provider starts itself again: the in-process conformance run's
// deployments start their gateway as os.Executable() __llmops_gateway.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == GatewayArg {
		os.Exit(Gateway(os.Args[2:]))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir) // built by the end-to-end tests
	}
	os.Exit(code)
}
