package null

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/llmops/llmops/plugins/sdk"
)

// Version is the null provider's release version.
const Version = "0.1.0"

// Environment variables of the test-only failure injection.
const (
	EnvTestSleep      = "LLMOPS_NULL_TEST_SLEEP"
	EnvTestCrashAfter = "LLMOPS_NULL_TEST_CRASH_AFTER"
	// EnvTestFailDestroy makes every destroy fail when set to 1.
	EnvTestFailDestroy = "LLMOPS_NULL_TEST_FAIL_DESTROY"
	// EnvTestPanic makes ApplyResourceChange panic: "handler" in the
	// call itself (the SDK turns it into one diagnostic), "goroutine" in a
	// goroutine of its own (the process dies with Go's trace on stderr).
	EnvTestPanic = "LLMOPS_NULL_TEST_PANIC"
	// EnvTestProtocol makes the provider binary offer another protocol version.
	EnvTestProtocol = "LLMOPS_NULL_TEST_PROTOCOL"
)

// Provider returns the null provider. The test-only environment variables
// are read here.
func Provider() *sdk.Provider {
	h := hooksFromEnv()
	return &sdk.Provider{
		Name:    "null",
		Version: Version,
		Resources: map[string]*sdk.Resource{
			"null_value": valueResource(h),
			"null_job":   jobResource(h),
		},
	}
}

// hooks is the test-only failure injection.
type hooks struct {
	sleep       time.Duration
	crashAfter  int64
	failDestroy bool
	panicMode   string
	applies     atomic.Int64
	exit        func(code int)
}

func hooksFromEnv() *hooks {
	h := &hooks{exit: os.Exit, failDestroy: os.Getenv(EnvTestFailDestroy) == "1", panicMode: os.Getenv(EnvTestPanic)}
	if s := os.Getenv(EnvTestSleep); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			h.sleep = d
		}
	}
	if s := os.Getenv(EnvTestCrashAfter); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			h.crashAfter = n
		}
	}
	return h
}

// apply runs at the start of every ApplyResourceChange (Create, Update,
// Delete). It returns an error response when the test sleep is
// interrupted.
func (h *hooks) apply(ctx context.Context) *sdk.Response {
	n := h.applies.Add(1)
	if h.crashAfter > 0 && n == h.crashAfter {
		sdk.Logger(ctx).Error("test crash requested: exiting with status 3", "apply_call", n)
		h.exit(3)
	}
	switch h.panicMode {
	case "handler":
		testPanic()
	case "goroutine":
		done := make(chan struct{})
		go func() { defer close(done); testPanic() }()
		<-done
	}
	if h.sleep <= 0 {
		return nil
	}
	sdk.Logger(ctx).Debug("test sleep", "duration", h.sleep)
	t := time.NewTimer(h.sleep)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return sdk.ErrorResponse("Interrupted", fmt.Errorf("the apply was interrupted during the test sleep: %w", context.Cause(ctx)))
	}
}

// testPanic is the injected bug: a nil map write, as a real one would be.
func testPanic() {
	var m map[string]int
	m["test panic requested"]++
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// destroy runs at the start of every Delete: apply's hooks, then the
// injected destroy failure.
func (h *hooks) destroy(ctx context.Context) *sdk.Response {
	if r := h.apply(ctx); r != nil {
		return r
	}
	if h.failDestroy {
		var d sdk.Diagnostics
		d.Errorf("Destroy failed", "The test asked every destroy to fail (%s=1).", EnvTestFailDestroy)
		return &sdk.Response{Diagnostics: d}
	}
	return nil
}
